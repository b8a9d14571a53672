using System.Diagnostics;
using ComputeBank.Api.Ledger;
using ComputeBank.Api.Projections;
using ComputeBank.Domain;
using ComputeBank.Domain.Accounts;
using ComputeBank.EventStore;
using Npgsql;
using NpgsqlTypes;

namespace ComputeBank.Api.Auditing;

/// <summary>The read models and how each is kept.</summary>
public static class ReadModels
{
    public const string AccountBuckets = "account_buckets";
    public const string Snapshots = "snapshots";
    public const string Pools = PoolsProjection.ProjectionName;

    /// <summary>Every read model by name, with how it is kept current.</summary>
    public static IReadOnlyDictionary<string, string> All { get; } = new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        [AccountBuckets] = "inline",
        [Snapshots] = "inline",
        [Pools] = "async",
    };
}

/// <summary>What a rebuild did.</summary>
public sealed record RebuildResult(IReadOnlyList<string> ReadModels, long EventsReplayed, long LastSequence, int StreamsWritten, int StreamsSkipped, TimeSpan Elapsed);

/// <summary>
/// Rebuilds read models from events alone while the service keeps serving, without ever exposing a wrong balance:
/// <list type="bullet">
/// <item><c>pools</c> is blue/green: the next generation is filled beside the live one, caught up to the daemon's
/// checkpoint under the checkpoint's row lock (which the daemon takes for every page) and swapped in one transaction;
/// readers see the old generation until then.</item>
/// <item><c>account_buckets</c> and <c>snapshots</c> are kept inline by every command, so they are rewritten in place,
/// stream by stream, under a shared lock on the stream rows (writers lock them exclusively), and only where the
/// stream is still at the replayed version; a stream that moved on meanwhile was rewritten whole by its own commit.
/// Each row is thus either the value it had or the replayed one, never a half-rebuilt one.</item>
/// </list>
/// All requested models come from one pass over the gap-safe feed (<see cref="MartenEventStore.StreamAllAsync"/>).
/// </summary>
public sealed class ReadModelRebuilder(MartenEventStore store, LedgerCatalogue catalogue)
{
    private const int StreamsPerTransaction = 1000;
    private static readonly EventTypeRegistry Types = LedgerTypes.Registry();

    public async Task<RebuildResult> RebuildAsync(IReadOnlyCollection<string> names, IProgress<RebuildProgress>? progress, CancellationToken ct)
    {
        var unknown = names.Where(n => !ReadModels.All.ContainsKey(n)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"Unknown read model(s): {string.Join(", ", unknown)}. Known: {string.Join(", ", ReadModels.All.Keys)}.", nameof(names));
        }

        var clock = Stopwatch.StartNew();
        var label = string.Join("+", names.Order(StringComparer.Ordinal));
        var streamsNeeded = names.Contains(ReadModels.AccountBuckets) || names.Contains(ReadModels.Snapshots);
        var pools = names.Contains(ReadModels.Pools);
        var table = new PoolTable(store.Schema);
        var next = pools ? await BeginPoolGenerationAsync(table, ct) : 0;

        long target;
        await using (var max = store.DataSource.CreateCommand($"SELECT coalesce(max(seq_id), 0) FROM {store.Schema}.mt_events"))
        {
            target = (long)(await max.ExecuteScalarAsync(ct))!;
        }

        var states = new Dictionary<string, (long Version, object? State)>(StringComparer.Ordinal);
        var fold = new PoolFold(catalogue.SystemAccounts);
        long events = 0, last = 0;
        progress?.Report(new RebuildProgress(label, 0, 0, target));
        // The feed reads its next page while this loop folds the current one (StreamAllAsync), so reading overlaps with
        // folding, and memory stays flat whatever the number of events.
        await foreach (var e in store.StreamAllAsync(0, ct))
        {
            events++;
            last = e.Sequence;
            if (streamsNeeded)
            {
                var (_, state) = states.GetValueOrDefault(e.StreamId);
                states[e.StreamId] = (e.Version, Domain.Ledger.Evolve(e.StreamId, state, e.Data));
            }

            if (pools)
            {
                fold.Apply(e.Data);
            }

            if (events % 10_000 == 0)
            {
                progress?.Report(new RebuildProgress(label, events, last, target));
            }
        }

        progress?.Report(new RebuildProgress(label, events, last, target));
        var (written, skipped) = streamsNeeded ? await WriteStreamsAsync(states, names, ct) : (0, 0);
        if (pools)
        {
            await SwapPoolGenerationAsync(table, next, fold, last, ct);
        }

        return new RebuildResult([.. names.Order(StringComparer.Ordinal)], events, last, written, skipped, clock.Elapsed);
    }

    private async Task<int> BeginPoolGenerationAsync(PoolTable table, CancellationToken ct)
    {
        await using var connection = await store.DataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await using var claim = new NpgsqlCommand(
            $"UPDATE {store.Schema}.read_model_generations SET building = live + 1 WHERE name = $1 RETURNING building", connection, tx);
        claim.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ReadModels.Pools });
        var next = (int)(await claim.ExecuteScalarAsync(ct))!;
        await table.DeleteGenerationAsync(connection, tx, next, ct);
        await tx.CommitAsync(ct);
        return next;
    }

    /// <summary>
    /// Fills generation <paramref name="next"/> with the replay (up to <paramref name="replayedTo"/>), then, holding the
    /// daemon's checkpoint row: adds the events the daemon applied beyond the replay, or moves the checkpoint up to the
    /// replay, makes <paramref name="next"/> live and drops the old generation. One transaction: readers switch at once.
    /// </summary>
    private async Task SwapPoolGenerationAsync(PoolTable table, int next, PoolFold replayed, long replayedTo, CancellationToken ct)
    {
        await using var connection = await store.DataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        if (replayed.Totals.Count > 0)
        {
            await table.AddAsync(connection, tx, next, replayed.Totals, ct);
        }

        await Execute($"INSERT INTO {store.Schema}.projection_progress (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", ReadModels.Pools);
        long checkpoint;
        await using (var lockProgress = new NpgsqlCommand($"SELECT last_sequence FROM {store.Schema}.projection_progress WHERE name = $1 FOR UPDATE", connection, tx))
        {
            lockProgress.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ReadModels.Pools });
            checkpoint = (long)(await lockProgress.ExecuteScalarAsync(ct))!;
        }

        if (checkpoint > replayedTo)
        {
            // The daemon is ahead of the replay: the events between were committed before it passed them.
            var delta = new PoolFold(catalogue.SystemAccounts);
            await using (var scan = await EventScan.OpenAsync(store.DataSource, store.Schema, ct))
            {
                await foreach (var e in scan.EventsAsync(replayedTo, ct, toSequence: checkpoint))
                {
                    delta.Apply(e.Data ?? throw new InvalidOperationException($"event {e.Sequence} cannot be read: {e.Error}"));
                }
            }

            if (delta.Totals.Count > 0)
            {
                await table.AddAsync(connection, tx, next, delta.Totals, ct);
            }
        }
        else if (checkpoint < replayedTo)
        {
            await using var save = new NpgsqlCommand($"UPDATE {store.Schema}.projection_progress SET last_sequence = $2, updated_at = now() WHERE name = $1", connection, tx);
            save.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ReadModels.Pools });
            save.Parameters.Add(new NpgsqlParameter<long> { TypedValue = replayedTo });
            await save.ExecuteNonQueryAsync(ct);
        }

        int old;
        await using (var swap = new NpgsqlCommand(
            $"UPDATE {store.Schema}.read_model_generations g SET live = $2, building = NULL, swapped_at = now() " +
            $"FROM (SELECT live FROM {store.Schema}.read_model_generations WHERE name = $1 FOR UPDATE) o WHERE g.name = $1 RETURNING o.live", connection, tx))
        {
            swap.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ReadModels.Pools });
            swap.Parameters.Add(new NpgsqlParameter<int> { TypedValue = next });
            old = (int)(await swap.ExecuteScalarAsync(ct))!;
        }

        await table.DeleteGenerationAsync(connection, tx, old, ct);
        await tx.CommitAsync(ct);

        async Task Execute(string sql, string name)
        {
            await using var command = new NpgsqlCommand(sql, connection, tx);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
            await command.ExecuteNonQueryAsync(ct);
        }
    }

    private async Task<(int Written, int Skipped)> WriteStreamsAsync(
        Dictionary<string, (long Version, object? State)> states, IReadOnlyCollection<string> names, CancellationToken ct)
    {
        var schema = store.Schema;
        int written = 0, skipped = 0;
        foreach (var chunk in states.Where(s => s.Value.State is not null).OrderBy(s => s.Key, StringComparer.Ordinal).Chunk(StreamsPerTransaction))
        {
            await using var connection = await store.DataSource.OpenConnectionAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);

            // Writers lock stream rows FOR UPDATE while they decide and write; FOR SHARE waits for them and holds them off.
            var current = new Dictionary<string, long>(StringComparer.Ordinal);
            await using (var lockStreams = new NpgsqlCommand($"SELECT id, version FROM {schema}.mt_streams WHERE id = ANY($1) ORDER BY id FOR SHARE", connection, tx))
            {
                lockStreams.Parameters.Add(new NpgsqlParameter { Value = chunk.Select(s => s.Key).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                await using var reader = await lockStreams.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    current[reader.GetString(0)] = reader.GetInt64(1);
                }
            }

            var unchanged = chunk.Where(s => current.GetValueOrDefault(s.Key) == s.Value.Version).ToList();
            skipped += chunk.Length - unchanged.Count;
            written += unchanged.Count;
            await using var batch = new NpgsqlBatch(connection, tx);
            if (names.Contains(ReadModels.AccountBuckets))
            {
                var accounts = unchanged.Where(s => s.Value.State is AccountState).Select(s => (Account: (AccountState)s.Value.State!, s.Value.Version)).ToList();
                var projection = new AccountBucketsProjection(schema);
                foreach (var command in projection.Project([.. accounts.Select(a => ("account-" + a.Account.AccountId.Value, a.Version, (object)a.Account))]))
                {
                    batch.BatchCommands.Add(command);
                }
            }

            if (names.Contains(ReadModels.Snapshots))
            {
                var snapshot = new NpgsqlBatchCommand(
                    $"INSERT INTO {schema}.snapshots AS t (stream_id, version, type, data) " +
                    "SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::jsonb[]) " +
                    "ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, type = excluded.type, data = excluded.data, created_at = now() " +
                    "WHERE t.version <= excluded.version");
                snapshot.Parameters.Add(new NpgsqlParameter { Value = unchanged.Select(s => s.Key).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                snapshot.Parameters.Add(new NpgsqlParameter { Value = unchanged.Select(s => s.Value.Version).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
                snapshot.Parameters.Add(new NpgsqlParameter { Value = unchanged.Select(s => Types.NameOf(s.Value.State!.GetType())).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                snapshot.Parameters.Add(new NpgsqlParameter { Value = unchanged.Select(s => DomainJson.SerializeState(s.Value.State)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
                batch.BatchCommands.Add(snapshot);
            }

            if (batch.BatchCommands.Count > 0)
            {
                await batch.ExecuteNonQueryAsync(ct);
            }

            await tx.CommitAsync(ct);
        }

        if (names.Contains(ReadModels.AccountBuckets))
        {
            // Rows of accounts that have no stream at all cannot be the fold of anything.
            await using var orphans = store.DataSource.CreateCommand(
                $"DELETE FROM {schema}.account_buckets b WHERE NOT EXISTS (SELECT 1 FROM {schema}.mt_streams s WHERE s.id = 'account-' || b.account_id)");
            await orphans.ExecuteNonQueryAsync(ct);
        }

        return (written, skipped);
    }
}
