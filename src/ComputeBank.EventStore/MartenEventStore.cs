using System.Runtime.CompilerServices;
using System.Text.Json;
using JasperFx;
using JasperFx.Events;
using Marten;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace ComputeBank.EventStore;

/// <summary>
/// The ledger's event store: Marten's (streams and events in <c>mt_streams</c> and <c>mt_events</c>, string stream ids,
/// stable type names, one global sequence, appends through a Marten session) with what Marten lacks layered on it in
/// the same transaction: locks taken before the fetch, a per-stream hash chain, the latest snapshot per stream, inline
/// projections in the commit batch, and a projection daemon that never shows half a commit.
/// Create one per process and share it; it owns its <see cref="NpgsqlDataSource"/> and its Marten document store.
/// </summary>
public sealed class MartenEventStore : IAsyncDisposable
{
    private static readonly JsonSerializerOptions MetadataJson = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly ILogger _logger;

    private MartenEventStore(EventStoreOptions options, EventTypeRegistry types, IInlineProjection[] inline, ILoggerFactory loggerFactory)
    {
        Schema = Migrator.ValidateSchema(options.Schema);
        Types = types;
        Json = options.Json;
        LockTimeout = options.LockTimeout;
        Inline = inline;
        Statements = new Sql(Migrator.Quote(Schema));
        LoggerFactory = loggerFactory;
        ConnectionString = options.ConnectionString;
        _logger = loggerFactory.CreateLogger<MartenEventStore>();
        Gaps = new GapTracker(_logger);

        var connection = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        if (connection.MaxAutoPrepare == 0)
        {
            connection.MaxAutoPrepare = 32;
        }

        var builder = new NpgsqlDataSourceBuilder(connection.ConnectionString);
        builder.UseLoggerFactory(loggerFactory);
        DataSource = builder.Build();
        Marten = CreateMarten(DataSource, Schema, types, options.Json);
    }

    private static DocumentStore CreateMarten(NpgsqlDataSource dataSource, string schema, EventTypeRegistry types, JsonSerializerOptions json) =>
        DocumentStore.For(o =>
        {
            o.Connection(dataSource);
            o.DatabaseSchemaName = schema;
            o.Events.DatabaseSchemaName = schema;
            o.Events.StreamIdentity = StreamIdentity.AsString;
            o.Events.EnableBigIntEvents = true;
            // Appends do not go through Marten's event API but through AppendStreamsOperation on a Marten session: one
            // set-based call for a whole group commit where Marten's quick append is a function call per stream. It
            // writes Marten's rows and columns (with our timestamp, taken after the locks), so Marten reads them as
            // its own. Should anything append through Marten's API, these keep its appends in step with ours.
            o.Events.AppendMode = EventAppendMode.QuickWithServerTimestamps;
            o.Events.UseExclusiveLockOnConcurrentAppends = true;
            o.Events.MetadataConfig.CorrelationIdEnabled = true;
            o.Events.MetadataConfig.CausationIdEnabled = true;
            o.Events.MetadataConfig.HeadersEnabled = true;
            o.Events.MetadataConfig.UserNameEnabled = true;
            foreach (var (type, name) in types.Registrations)
            {
                o.Events.MapEventType(type, name);
            }

            // Marten's own spans ("Marten" source): connection events on the append's span. Its counter of appended
            // events counts only appends through its event API; ours is computebank.eventstore.events.appended.
            o.OpenTelemetry.TrackConnections = JasperFx.OpenTelemetry.TrackLevel.Normal;
            o.Serializer(new StoreJsonSerializer(json));
            // The schema is applied by MigrateAsync under our lock, never lazily on first use.
            o.AutoCreateSchemaObjects = AutoCreate.None;
            // No retries: every session runs in a transaction we own, which a retry of part of it would corrupt.
            o.ConfigurePolly(_ => { });
        });

    /// <summary>
    /// Creates a store. Nothing touches the database until <see cref="MigrateAsync(CancellationToken)"/> or the first operation.
    /// <paramref name="inline"/> projections run inside every append's transaction, in the order given.
    /// </summary>
    public static MartenEventStore Create(EventStoreOptions options, EventTypeRegistry types, params IInlineProjection[] inline) =>
        Create(options, types, NullLoggerFactory.Instance, inline);

    /// <summary>Creates a store that logs through <paramref name="loggerFactory"/>.</summary>
    public static MartenEventStore Create(EventStoreOptions options, EventTypeRegistry types, ILoggerFactory loggerFactory, params IInlineProjection[] inline)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(types);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        return new MartenEventStore(options, types, inline ?? [], loggerFactory);
    }

    /// <summary>The store's connection pool, for queries of your own against the same database.</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>Marten's document store over the same data source and schema: its event tables hold the events.</summary>
    internal DocumentStore Marten { get; }

    /// <summary>The PostgreSQL schema holding the store's tables.</summary>
    public string Schema { get; }

    internal EventTypeRegistry Types { get; }

    internal JsonSerializerOptions Json { get; }

    internal TimeSpan? LockTimeout { get; }

    internal IInlineProjection[] Inline { get; }

    internal Sql Statements { get; }

    internal GapTracker Gaps { get; }

    internal ILoggerFactory LoggerFactory { get; }

    internal string ConnectionString { get; }

    internal ILogger Logger => _logger;

    /// <summary>
    /// Creates or upgrades the schema from the embedded numbered scripts. Safe to call from several nodes at once
    /// (an advisory lock serialises them); a call on an up-to-date schema changes nothing.
    /// </summary>
    public Task MigrateAsync(CancellationToken ct) => Migrator.MigrateAsync(this, _logger, ct);

    /// <summary>Applies the store's scripts, then each module's embedded <c>Scripts/NNNN_*.sql</c> (numbered from 0001,
    /// versioned per module), all in one advisory-locked transaction.</summary>
    public Task MigrateAsync(CancellationToken ct, params IReadOnlyList<MigrationModule> modules) =>
        Migrator.MigrateAsync(this, _logger, ct, modules);

    /// <summary>
    /// Converts a database of the layout before Marten (events in a table <c>events</c>) into this build's, in place and
    /// in one transaction under the migration lock, keeping every event's sequence number, version, type, data,
    /// metadata, timestamp and hashes, and the streams, snapshots and projection checkpoints. The result is compared
    /// row by row with the original before the old tables are dropped; any failure leaves the database as it was.
    /// Throws <see cref="InvalidOperationException"/>, changing nothing, on a database of any other layout (one
    /// already converted included). Run it with every node stopped; <see cref="MigrateAsync(CancellationToken)"/> follows as usual.
    /// </summary>
    public Task<LayoutConversion> ConvertLayoutBeforeMartenAsync(CancellationToken ct) => LayoutBeforeMarten.ConvertAsync(this, _logger, ct);

    /// <summary>Opens a unit of work: one transaction, begun on first use. <paramref name="metadata"/> is stamped on every event it appends.</summary>
    public IEventSession OpenSession(EventMetadata? metadata = null) => new EventSession(this, metadata ?? EventMetadata.Empty);

    /// <summary>
    /// Reads a stream forward from <paramref name="fromVersion"/> (inclusive), optionally only up to
    /// <paramref name="toVersion"/> and/or events stored at or before <paramref name="toTimestamp"/>.
    /// </summary>
    public async Task<IReadOnlyList<StoredEvent>> ReadStreamAsync(
        string streamId, long fromVersion, CancellationToken ct, long? toVersion = null, DateTimeOffset? toTimestamp = null)
    {
        ArgumentNullException.ThrowIfNull(streamId);
        await using var command = DataSource.CreateCommand(Statements.ReadStream);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = fromVersion });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = toVersion ?? long.MaxValue });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = toTimestamp.HasValue ? toTimestamp.Value.UtcDateTime : DBNull.Value });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var events = new List<StoredEvent>();
        while (await reader.ReadAsync(ct))
        {
            events.Add(ReadEvent(reader, 0));
        }

        return events;
    }

    /// <summary>
    /// Reads the global feed after <paramref name="afterSequence"/>, at most <paramref name="limit"/> events, and only
    /// below the high-water mark: the page stops at a sequence gap until there is evidence that no running transaction
    /// can still fill it, so a reader never passes an event that commits later.
    /// </summary>
    public async Task<IReadOnlyList<StoredEvent>> ReadAllAsync(long afterSequence, int limit, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var page = await ReadFeedAsync(Statements.ReadAll, afterSequence, limit, reader => ReadEvent(reader, 2), ct);
        return page.Safe == page.Events.Count ? page.Events : page.Events.GetRange(0, page.Safe);
    }

    /// <summary>
    /// The global feed for projections (the daemon, rebuilds), whose checkpoint is what readers of an async read model
    /// see: a page ends between two transactions, so no reader ever sees half of a commit (a transfer's debit without
    /// its credit). Of the <paramref name="rows"/> rows read it keeps everything up to the last transaction boundary
    /// below the high-water mark; the transaction cut off at the end is read again with the next page. When one
    /// transaction fills all the rows, twice as many are read, up to <see cref="ProjectionDaemonOptions.MaxPageRows"/> rows; only a
    /// transaction larger than that is applied in parts.
    /// </summary>
    internal async Task<IReadOnlyList<ProjectedEvent>> ReadAllTransactionsAsync(long afterSequence, int rows, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        for (var window = rows; ; window = Math.Min(checked(window * 2), ProjectionDaemonOptions.MaxPageRows))
        {
            var page = await ReadFeedAsync(Statements.ReadAllForProjections, afterSequence, window, ReadProjectedEvent, ct);
            var truncated = page.Writers.Count == window;
            if (TransactionBoundary(page.Writers, page.Safe, truncated) is { } cut)
            {
                return page.Events.GetRange(0, cut);
            }

            if (window == ProjectionDaemonOptions.MaxPageRows)
            {
                return page.Events.GetRange(0, page.Safe);
            }
        }
    }

    /// <summary>
    /// Where a page of the rows read (each with its <paramref name="writers"/> transaction) may end: after the last
    /// transaction that lies wholly within the first <paramref name="safe"/> rows and that no row after it continues;
    /// 0 while nothing may be applied yet (a gap holds up the rest of the transaction in the way); null when that
    /// transaction runs to the end of rows that were cut off at the limit (<paramref name="truncated"/>), so more rows
    /// must be read to find its end. The end of truncated rows is never a boundary: the transaction may go on.
    /// </summary>
    internal static int? TransactionBoundary(IReadOnlyList<long> writers, int safe, bool truncated)
    {
        var last = new Dictionary<long, int>();
        for (var i = 0; i < writers.Count; i++)
        {
            last[writers[i]] = i;
        }

        var best = 0;
        var reach = -1;
        for (var cut = 1; cut <= safe; cut++)
        {
            reach = Math.Max(reach, last[writers[cut - 1]]);
            if (reach < cut && !(truncated && cut == writers.Count))
            {
                best = cut;
            }
        }

        return best > 0 || safe == 0 ? best
            : truncated && safe == writers.Count ? null
            : 0;
    }

    private async Task<FeedPage<T>> ReadFeedAsync<T>(string sql, long afterSequence, int limit, Func<NpgsqlDataReader, T> read, CancellationToken ct)
    {
        await using var command = DataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterSequence });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        var snapshot = new FeedSnapshot([], 0, null);
        var events = new List<T>();
        var sequences = new List<long>();
        var writers = new List<long>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                if (sequences.Count == 0)
                {
                    snapshot = new FeedSnapshot(reader.GetFieldValue<long[]>(0), reader.GetInt64(1), null);
                }

                if (!reader.IsDBNull(2))
                {
                    sequences.Add(reader.GetInt64(2));
                    events.Add(read(reader));
                    // Both feed statements end their rows with the writing transaction (Sql.FeedPage).
                    writers.Add(reader.GetInt64(reader.FieldCount - 1));
                }
            }
        }

        var safe = Gaps.SafePrefix(afterSequence, sequences, snapshot, out var unrecorded);
        if (unrecorded)
        {
            // A gap never seen before: its evidence needs a bound on the transaction ids taken before the snapshot.
            await using var bound = DataSource.CreateCommand(Sql.TransactionIdBound);
            snapshot = snapshot with { Bound = (long)(await bound.ExecuteScalarAsync(ct))! };
            safe = Gaps.SafePrefix(afterSequence, sequences, snapshot, out _);
        }

        return new FeedPage<T>(events, writers, safe);
    }

    private sealed record FeedPage<T>(List<T> Events, List<long> Writers, int Safe);

    /// <summary>
    /// Streams the global feed after <paramref name="afterSequence"/> up to the high-water mark in pages, for
    /// rebuilds, without holding everything in memory.
    /// </summary>
    /// <remarks>The next page is read while the caller consumes this one (one query in flight at most), so reading
    /// overlaps with the caller's work instead of alternating with it. Pages end between transactions, as the
    /// daemon's do: a rebuild whose replay stops here hands over a checkpoint no reader sees half a commit at.</remarks>
    public async IAsyncEnumerable<ProjectedEvent> StreamAllAsync(long afterSequence, [EnumeratorCancellation] CancellationToken ct)
    {
        const int PageRows = ProjectionDaemonOptions.DefaultPageRows;
        var next = ReadAllTransactionsAsync(afterSequence, PageRows, ct);
        try
        {
            while (true)
            {
                var page = await next;
                if (page.Count == 0)
                {
                    yield break;
                }

                next = ReadAllTransactionsAsync(page[^1].Sequence, PageRows, ct);
                foreach (var e in page)
                {
                    yield return e;
                }
            }
        }
        finally
        {
            // A caller that stops early leaves a page in flight: observe it, so its failure is not unobserved.
            _ = next.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// A stream's events through Marten's own read (<c>FetchStreamAsync</c>), in version order: all of them, or with
    /// <paramref name="version"/> and/or <paramref name="timestamp"/> only those up to that version and stored at or
    /// before that instant (time travel). Empty for a stream that does not exist.
    /// </summary>
    public async Task<IReadOnlyList<ReplayedEvent>> FetchStreamAsync(string streamId, CancellationToken ct, long? version = null, DateTimeOffset? timestamp = null)
    {
        ArgumentNullException.ThrowIfNull(streamId);
        await using var session = Marten.QuerySession();
        var events = await session.Events.FetchStreamAsync(streamId, version ?? 0, timestamp, token: ct);
        return [.. events.Select(e => new ReplayedEvent(e.Version, e.Timestamp, e.Data))];
    }

    /// <summary>
    /// Folds a stream's events (<see cref="FetchStreamAsync"/>) into a state with <paramref name="evolve"/>, starting
    /// from <c>default</c>. With <paramref name="version"/> and/or <paramref name="timestamp"/> it returns the state as
    /// it was then (time travel).
    /// </summary>
    public async Task<T?> AggregateStreamAsync<T>(
        string streamId, Func<T?, object, T?> evolve, CancellationToken ct, long? version = null, DateTimeOffset? timestamp = null)
    {
        ArgumentNullException.ThrowIfNull(evolve);
        var state = default(T);
        foreach (var e in await FetchStreamAsync(streamId, ct, version, timestamp))
        {
            state = evolve(state, e.Data);
        }

        return state;
    }

    /// <summary>
    /// Recomputes every event's hash in one streaming query and reports the first broken link of each damaged stream
    /// (edited content, a deleted event, a deleted tail). Empty when every chain is intact.
    /// </summary>
    public async Task<IReadOnlyList<ChainBreak>> VerifyHashChainsAsync(CancellationToken ct, string? streamId = null)
    {
        await using var command = DataSource.CreateCommand(Statements.VerifyChains);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)streamId ?? DBNull.Value });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var breaks = new List<ChainBreak>();
        while (await reader.ReadAsync(ct))
        {
            var kind = reader.GetInt32(2) switch
            {
                0 => ChainBreakKind.ContentAltered,
                1 => ChainBreakKind.EventMissing,
                2 => ChainBreakKind.PreviousHashMismatch,
                _ => ChainBreakKind.TailMismatch,
            };
            breaks.Add(new ChainBreak(reader.GetString(0), reader.GetInt64(1), kind, reader.GetString(3)));
        }

        return breaks;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Marten.Dispose();
        await DataSource.DisposeAsync();
    }

    private ProjectedEvent ReadProjectedEvent(NpgsqlDataReader reader)
    {
        var (name, data) = Types.Deserialize(reader.GetString(5), reader.GetFieldValue<byte[]>(6), Json);
        return new ProjectedEvent(reader.GetInt64(2), reader.GetString(3), reader.GetInt64(4), name, data, reader.GetFieldValue<DateTimeOffset>(7));
    }

    internal StoredEvent ReadEvent(NpgsqlDataReader reader, int offset)
    {
        var (name, data) = Types.Deserialize(reader.GetString(offset + 3), reader.GetFieldValue<byte[]>(offset + 4), Json);
        return new StoredEvent(
            reader.GetInt64(offset),
            reader.GetString(offset + 1),
            reader.GetInt64(offset + 2),
            name,
            data,
            JsonSerializer.Deserialize<EventMetadata>(reader.GetFieldValue<byte[]>(offset + 5), MetadataJson) ?? EventMetadata.Empty,
            reader.GetFieldValue<DateTimeOffset>(offset + 6),
            reader.IsDBNull(offset + 7) ? string.Empty : reader.GetString(offset + 7),
            reader.IsDBNull(offset + 8) ? null : reader.GetString(offset + 8));
    }
}
