using ComputeBank.Domain.Accounts;
using ComputeBank.Messaging;
using Npgsql;
using NpgsqlTypes;

namespace ComputeBank.Api.Projections;

/// <summary>
/// Inline projection of account streams into <c>account_buckets</c>: one upsert statement per group commit with the
/// posted and pending milli-hours of every bucket of every account the commit wrote, after one delete of the rows of
/// those accounts whose bucket the state no longer has (a bucket back at zero leaves the state, so its row must go too,
/// or it would keep its last non-zero balance).
/// </summary>
public sealed class AccountBucketsProjection(string schema) : IStateProjection
{
    private readonly string _upsert =
        $"INSERT INTO {schema}.account_buckets AS b (account_id, resource_class, region, period, posted, pending, version) " +
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[]) " +
        "ON CONFLICT (account_id, resource_class, region, period) DO UPDATE " +
        "SET posted = excluded.posted, pending = excluded.pending, version = excluded.version";

    private readonly string _deleteVanished =
        $"DELETE FROM {schema}.account_buckets b WHERE b.account_id = ANY($1) AND NOT EXISTS (" +
        "SELECT 1 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) r(a, c, g, p) " +
        "WHERE r.a = b.account_id AND r.c = b.resource_class AND r.g = b.region AND r.p = b.period)";

    public IEnumerable<NpgsqlBatchCommand> Project(IReadOnlyList<(string StreamId, long Version, object State)> states)
    {
        var accounts = states.Where(s => s.State is AccountState).Select(s => ((AccountState)s.State).AccountId.Value).ToList();
        if (accounts.Count == 0)
        {
            yield break;
        }

        var rows = states
            .Where(s => s.State is AccountState)
            .SelectMany(s => ((AccountState)s.State).Balances.Select(b => (Account: (AccountState)s.State, Bucket: b.Key, Balance: b.Value, s.Version)))
            .ToList();
        var delete = new NpgsqlBatchCommand(_deleteVanished);
        delete.Parameters.Add(Text(accounts));
        delete.Parameters.Add(Text(rows.Select(r => r.Account.AccountId.Value)));
        delete.Parameters.Add(Text(rows.Select(r => r.Bucket.ResourceClass.Value)));
        delete.Parameters.Add(Text(rows.Select(r => r.Bucket.Region.Value)));
        delete.Parameters.Add(Text(rows.Select(r => r.Bucket.Period.ToString())));
        yield return delete;
        if (rows.Count == 0)
        {
            yield break;
        }

        var command = new NpgsqlBatchCommand(_upsert);
        command.Parameters.Add(Text(rows.Select(r => r.Account.AccountId.Value)));
        command.Parameters.Add(Text(rows.Select(r => r.Bucket.ResourceClass.Value)));
        command.Parameters.Add(Text(rows.Select(r => r.Bucket.Region.Value)));
        command.Parameters.Add(Text(rows.Select(r => r.Bucket.Period.ToString())));
        command.Parameters.Add(Bigint(rows.Select(r => r.Balance.Posted.MilliHours)));
        command.Parameters.Add(Bigint(rows.Select(r => r.Balance.Pending.MilliHours)));
        command.Parameters.Add(Bigint(rows.Select(r => r.Version)));
        yield return command;
    }

    private static NpgsqlParameter Text(IEnumerable<string> values) => new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };

    private static NpgsqlParameter Bigint(IEnumerable<long> values) => new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint };
}
