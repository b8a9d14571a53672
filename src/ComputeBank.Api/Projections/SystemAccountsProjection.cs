using ComputeBank.Domain;
using ComputeBank.EventStore;
using Npgsql;

using static ComputeBank.Api.Projections.ArrayParameters;

namespace ComputeBank.Api.Projections;

/// <summary>
/// The async projection <c>system-accounts</c>: the postings of every event to the bank's system accounts, as their
/// balances per bucket (<c>system_balances</c>) and their histories (<c>system_postings</c>, one ordinal per event and
/// account). A page is folded in memory from the balances it starts from and written in the daemon's transaction, which
/// also advances the checkpoint, so every event is counted once.
/// </summary>
public sealed class SystemAccountsProjection(string schema, SystemAccountNames systemAccounts) : IAsyncProjection
{
    public const string ProjectionName = "system-accounts";

    private readonly HashSet<string> _system = new(systemAccounts.All, StringComparer.Ordinal);

    private readonly string _start =
        $"SELECT a.id, (SELECT coalesce(max(p.ordinal), 0) FROM {schema}.system_postings p WHERE p.account_id = a.id) FROM unnest($1::text[]) a(id)";

    private readonly string _balances =
        $"SELECT b.account_id, b.resource_class, b.region, b.period, b.posted FROM {schema}.system_balances b " +
        "JOIN unnest($1::text[], $2::text[], $3::text[], $4::text[]) u(account_id, resource_class, region, period) " +
        "ON u.account_id = b.account_id AND u.resource_class = b.resource_class AND u.region = b.region AND u.period = b.period";

    private readonly string _insertPostings =
        $"INSERT INTO {schema}.system_postings (account_id, ordinal, sequence, resource_class, region, period, amount, balance) " +
        "SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[])";

    private readonly string _upsertBalances =
        $"INSERT INTO {schema}.system_balances AS b (account_id, resource_class, region, period, posted) " +
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) " +
        "ON CONFLICT (account_id, resource_class, region, period) DO UPDATE SET posted = excluded.posted";

    public string Name => ProjectionName;

    public async Task ApplyAsync(NpgsqlConnection c, NpgsqlTransaction tx, IReadOnlyList<ProjectedEvent> page, CancellationToken ct)
    {
        var moves = Moves(page);
        if (moves.Count == 0)
        {
            return;
        }

        var ordinals = await OrdinalsAsync(c, tx, [.. moves.Select(m => m.Account).Distinct(StringComparer.Ordinal)], ct);
        var balances = await BalancesAsync(c, tx, [.. moves.Select(m => (m.Account, m.Bucket)).Distinct()], ct);
        var rows = new List<(string Account, long Ordinal, long Sequence, Bucket Bucket, long Amount, long Balance)>(moves.Count);
        var lastSequence = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (sequence, account, bucket, amount) in moves)
        {
            if (lastSequence.GetValueOrDefault(account) != sequence)
            {
                ordinals[account] = ordinals.GetValueOrDefault(account) + 1;
                lastSequence[account] = sequence;
            }

            var balance = balances[(account, bucket)] = checked(balances[(account, bucket)] + amount);
            rows.Add((account, ordinals[account], sequence, bucket, amount, balance));
        }

        await WriteAsync(c, tx, rows, balances, ct);
    }

    /// <summary>Per event, the amount each system account moved in each bucket (an event may post to one several times).</summary>
    private List<(long Sequence, string Account, Bucket Bucket, long Amount)> Moves(IReadOnlyList<ProjectedEvent> page)
    {
        var moves = new List<(long Sequence, string Account, Bucket Bucket, long Amount)>();
        foreach (var e in page)
        {
            foreach (var group in DomainEvents.PostingsOf(e.Data).Where(p => _system.Contains(p.AccountId.Value))
                         .GroupBy(p => (Account: p.AccountId.Value, p.Bucket)))
            {
                moves.Add((e.Sequence, group.Key.Account, group.Key.Bucket, group.Sum(p => checked(p.Amount.MilliHours))));
            }
        }

        return moves;
    }

    /// <summary>The last posting ordinal of each account so far.</summary>
    private async Task<Dictionary<string, long>> OrdinalsAsync(NpgsqlConnection c, NpgsqlTransaction tx, string[] accounts, CancellationToken ct)
    {
        var ordinals = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var start = new NpgsqlCommand(_start, c, tx);
        start.Parameters.Add(Text(accounts));
        await using var reader = await start.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            ordinals[reader.GetString(0)] = reader.GetInt64(1);
        }

        return ordinals;
    }

    /// <summary>The posted balance so far of each (account, bucket), 0 for one not seen yet.</summary>
    private async Task<Dictionary<(string Account, Bucket Bucket), long>> BalancesAsync(
        NpgsqlConnection c, NpgsqlTransaction tx, List<(string Account, Bucket Bucket)> keys, CancellationToken ct)
    {
        var balances = keys.ToDictionary(k => k, _ => 0L);
        await using var read = new NpgsqlCommand(_balances, c, tx);
        read.Parameters.Add(Text(keys.Select(k => k.Account)));
        read.Parameters.Add(Text(keys.Select(k => k.Bucket.ResourceClass.Value)));
        read.Parameters.Add(Text(keys.Select(k => k.Bucket.Region.Value)));
        read.Parameters.Add(Text(keys.Select(k => k.Bucket.Period.ToString())));
        await using var reader = await read.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var bucket = new Bucket(ResourceClass.Parse(reader.GetString(1)), Region.Parse(reader.GetString(2)), Period.Parse(reader.GetString(3)));
            balances[(reader.GetString(0), bucket)] = reader.GetInt64(4);
        }

        return balances;
    }

    /// <summary>The new postings and the balances they lead to, in one batch.</summary>
    private async Task WriteAsync(
        NpgsqlConnection c, NpgsqlTransaction tx, List<(string Account, long Ordinal, long Sequence, Bucket Bucket, long Amount, long Balance)> rows,
        Dictionary<(string Account, Bucket Bucket), long> balances, CancellationToken ct)
    {
        await using var batch = new NpgsqlBatch(c, tx);
        var insert = new NpgsqlBatchCommand(_insertPostings);
        insert.Parameters.Add(Text(rows.Select(r => r.Account)));
        insert.Parameters.Add(Bigint(rows.Select(r => r.Ordinal)));
        insert.Parameters.Add(Bigint(rows.Select(r => r.Sequence)));
        insert.Parameters.Add(Text(rows.Select(r => r.Bucket.ResourceClass.Value)));
        insert.Parameters.Add(Text(rows.Select(r => r.Bucket.Region.Value)));
        insert.Parameters.Add(Text(rows.Select(r => r.Bucket.Period.ToString())));
        insert.Parameters.Add(Bigint(rows.Select(r => r.Amount)));
        insert.Parameters.Add(Bigint(rows.Select(r => r.Balance)));
        batch.BatchCommands.Add(insert);
        var upsert = new NpgsqlBatchCommand(_upsertBalances);
        upsert.Parameters.Add(Text(balances.Keys.Select(k => k.Account)));
        upsert.Parameters.Add(Text(balances.Keys.Select(k => k.Bucket.ResourceClass.Value)));
        upsert.Parameters.Add(Text(balances.Keys.Select(k => k.Bucket.Region.Value)));
        upsert.Parameters.Add(Text(balances.Keys.Select(k => k.Bucket.Period.ToString())));
        upsert.Parameters.Add(Bigint(balances.Values));
        batch.BatchCommands.Add(upsert);
        await batch.ExecuteNonQueryAsync(ct);
    }

    public async Task ResetAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct)
    {
        await using var delete = new NpgsqlCommand($"DELETE FROM {schema}.system_postings; DELETE FROM {schema}.system_balances", c, tx);
        await delete.ExecuteNonQueryAsync(ct);
    }
}
