using ComputeBank.Domain.Accounts;
using ComputeBank.Messaging;
using Npgsql;

using static ComputeBank.Api.Projections.ArrayParameters;

namespace ComputeBank.Api.Projections;

/// <summary>
/// Inline projection of account streams into <c>account_buckets</c>: per group commit, one statement removes the rows of
/// buckets that went back to zero and one upserts the posted and pending milli-hours of every other bucket of every
/// account the commit wrote.
/// </summary>
public sealed class AccountBucketsProjection(string schema) : IStateProjection
{
    private readonly string _upsert =
        $"INSERT INTO {schema}.account_buckets AS b (account_id, resource_class, region, period, posted, pending, version) " +
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[]) " +
        "ON CONFLICT (account_id, resource_class, region, period) DO UPDATE " +
        "SET posted = excluded.posted, pending = excluded.pending, version = excluded.version";

    // A bucket that went back to zero leaves the account's state; its row goes too (a missing row reads as zero).
    // The accounts are joined from unnest rather than matched with "= ANY($1)": in the prepared statement's generic
    // plan that filter tests every row of the table against the whole array (1.6 ms for 40 accounts among 1,000; the
    // join 0.5 ms, and an index probe per account once the table is large).
    private readonly string _deleteVanished =
        $"DELETE FROM {schema}.account_buckets b USING unnest($1::text[]) AS a(id) WHERE b.account_id = a.id AND NOT EXISTS (" +
        "SELECT 1 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS u(account_id, resource_class, region, period) " +
        "WHERE u.account_id = b.account_id AND u.resource_class = b.resource_class AND u.region = b.region AND u.period = b.period)";

    public IEnumerable<NpgsqlBatchCommand> Project(IReadOnlyList<(string StreamId, long Version, object State)> states)
    {
        var accounts = states.Where(s => s.State is AccountState).Select(s => (Account: (AccountState)s.State, s.Version)).ToList();
        if (accounts.Count == 0)
        {
            yield break;
        }

        var rows = accounts
            .SelectMany(a => a.Account.Balances.Select(b => (a.Account, Bucket: b.Key, Balance: b.Value, a.Version)))
            .ToList();
        var delete = new NpgsqlBatchCommand(_deleteVanished);
        delete.Parameters.Add(Text(accounts.Select(a => a.Account.AccountId.Value)));
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
}
