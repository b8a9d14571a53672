using Npgsql;
using NpgsqlTypes;

namespace ComputeBank.Api.Security;

/// <summary>Owner and kind of an account (from the <c>accounts</c> read model).</summary>
public sealed record AccountOwner(string OwnerId, string Kind);

/// <summary>Owners of the accounts and holds a request names, read in one query.</summary>
public sealed record Owners(IReadOnlyDictionary<string, AccountOwner> Accounts, IReadOnlyDictionary<string, AccountOwner> Holds)
{
    public static readonly Owners None = new(new Dictionary<string, AccountOwner>(), new Dictionary<string, AccountOwner>());
}

/// <summary>Reads who owns the accounts and holds of a request from the inline read model (one query for all ids).</summary>
public sealed class OwnershipReader(NpgsqlDataSource dataSource, string schema)
{
    private readonly string _query =
        $"SELECT 'a', a.account_id, a.owner_id, a.kind FROM {schema}.accounts a WHERE a.account_id = ANY($1) " +
        $"UNION ALL SELECT 'h', h.hold_id, a.owner_id, a.kind FROM {schema}.holds h JOIN {schema}.accounts a ON a.account_id = h.account_id WHERE h.hold_id = ANY($2)";

    public async Task<Owners> ReadAsync(IReadOnlyCollection<string> accountIds, IReadOnlyCollection<string> holdIds, CancellationToken cancellationToken)
    {
        if (accountIds.Count == 0 && holdIds.Count == 0)
        {
            return Owners.None;
        }

        var accounts = new Dictionary<string, AccountOwner>(StringComparer.Ordinal);
        var holds = new Dictionary<string, AccountOwner>(StringComparer.Ordinal);
        await using var command = dataSource.CreateCommand(_query);
        command.Parameters.Add(new NpgsqlParameter { Value = accountIds.Distinct(StringComparer.Ordinal).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = holdIds.Distinct(StringComparer.Ordinal).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var target = reader.GetString(0) == "a" ? accounts : holds;
            target[reader.GetString(1)] = new AccountOwner(reader.GetString(2), reader.GetString(3));
        }

        return new Owners(accounts, holds);
    }
}
