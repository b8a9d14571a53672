using ComputeBank.Domain.Accounts;
using ComputeBank.Domain.Holds;
using ComputeBank.Messaging;
using Npgsql;
using NpgsqlTypes;

using static ComputeBank.Api.Projections.ArrayParameters;

namespace ComputeBank.Api.Projections;

/// <summary>
/// Inline projection of who owns what: <c>accounts</c> (owner, kind, status of every account) and <c>holds</c> (the
/// account of every hold), one upsert each per group commit. The command authorizer reads it to check ownership.
/// </summary>
public sealed class AccountsProjection(string schema) : IStateProjection
{
    private readonly string _upsertAccounts =
        $"INSERT INTO {schema}.accounts AS a (account_id, owner_id, kind, status, version) " +
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) " +
        "ON CONFLICT (account_id) DO UPDATE SET status = excluded.status, version = excluded.version";

    private readonly string _insertHolds =
        $"INSERT INTO {schema}.holds (hold_id, account_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (hold_id) DO NOTHING";

    public IEnumerable<NpgsqlBatchCommand> Project(IReadOnlyList<(string StreamId, long Version, object State)> states)
    {
        var accounts = states.Where(s => s.State is AccountState).Select(s => (State: (AccountState)s.State, s.Version)).ToList();
        if (accounts.Count > 0)
        {
            var command = new NpgsqlBatchCommand(_upsertAccounts);
            command.Parameters.Add(Text(accounts.Select(a => a.State.AccountId.Value)));
            command.Parameters.Add(Text(accounts.Select(a => a.State.OwnerId)));
            command.Parameters.Add(Text(accounts.Select(a => a.State.Kind.ToString().ToLowerInvariant())));
            command.Parameters.Add(Text(accounts.Select(a => a.State.Status.ToString().ToLowerInvariant())));
            command.Parameters.Add(new NpgsqlParameter { Value = accounts.Select(a => a.Version).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
            yield return command;
        }

        var holds = states.Where(s => s.State is HoldState).Select(s => (HoldState)s.State).ToList();
        if (holds.Count > 0)
        {
            var command = new NpgsqlBatchCommand(_insertHolds);
            command.Parameters.Add(Text(holds.Select(h => h.HoldId.Value)));
            command.Parameters.Add(Text(holds.Select(h => h.AccountId.Value)));
            yield return command;
        }
    }
}
