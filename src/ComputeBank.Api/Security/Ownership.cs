using Npgsql;
using NpgsqlTypes;

namespace ComputeBank.Api.Security;

/// <summary>Owner and kind of an account (from the <c>accounts</c> read model).</summary>
public sealed record AccountOwner(string OwnerId, string Kind);

/// <summary>What else than an account a command acts on, owned through an account: a hold (its account), an offer (its
/// provider's account) or a trade (its buyer's account).</summary>
public enum ResourceKind
{
    Hold,
    Offer,
    Trade,
}

/// <summary>A hold, offer or trade by id.</summary>
public sealed record OwnedResource(ResourceKind Kind, string Id)
{
    /// <summary>The kind as a word (<c>hold</c>, <c>offer</c>, <c>trade</c>).</summary>
    public string What => Kind.ToString().ToLowerInvariant();
}

/// <summary>Owners of the accounts, holds, offers and trades a request names, read in one query.</summary>
public sealed record Owners(IReadOnlyDictionary<string, AccountOwner> Accounts, IReadOnlyDictionary<OwnedResource, AccountOwner> Resources)
{
    public static readonly Owners None = new(new Dictionary<string, AccountOwner>(), new Dictionary<OwnedResource, AccountOwner>());
}

/// <summary>Reads who owns the accounts, holds, offers and trades of a request from the inline read models (one query for all ids).</summary>
public sealed class OwnershipReader(NpgsqlDataSource dataSource, string schema)
{
    private readonly string _query =
        $"SELECT 'a', a.account_id, a.owner_id, a.kind FROM {schema}.accounts a WHERE a.account_id = ANY($1) " +
        $"UNION ALL SELECT 'h', h.hold_id, a.owner_id, a.kind FROM {schema}.holds h JOIN {schema}.accounts a ON a.account_id = h.account_id WHERE h.hold_id = ANY($2) " +
        $"UNION ALL SELECT 'o', o.offer_id, a.owner_id, a.kind FROM {schema}.market_offers o JOIN {schema}.accounts a ON a.account_id = o.account_id WHERE o.offer_id = ANY($3) " +
        $"UNION ALL SELECT 't', t.trade_id, a.owner_id, a.kind FROM {schema}.market_trades t JOIN {schema}.accounts a ON a.account_id = t.buyer_account_id WHERE t.trade_id = ANY($4)";

    public Task<Owners> ReadAsync(IReadOnlyCollection<string> accountIds, CancellationToken cancellationToken) => ReadAsync(accountIds, [], cancellationToken);

    public async Task<Owners> ReadAsync(IReadOnlyCollection<string> accountIds, IReadOnlyCollection<OwnedResource> resources, CancellationToken cancellationToken)
    {
        if (accountIds.Count == 0 && resources.Count == 0)
        {
            return Owners.None;
        }

        var accounts = new Dictionary<string, AccountOwner>(StringComparer.Ordinal);
        var owned = new Dictionary<OwnedResource, AccountOwner>();
        await using var command = dataSource.CreateCommand(_query);
        command.Parameters.Add(Ids(accountIds));
        command.Parameters.Add(Ids(resources.Where(r => r.Kind == ResourceKind.Hold).Select(r => r.Id)));
        command.Parameters.Add(Ids(resources.Where(r => r.Kind == ResourceKind.Offer).Select(r => r.Id)));
        command.Parameters.Add(Ids(resources.Where(r => r.Kind == ResourceKind.Trade).Select(r => r.Id)));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var owner = new AccountOwner(reader.GetString(2), reader.GetString(3));
            var id = reader.GetString(1);
            switch (reader.GetString(0))
            {
                case "a": accounts[id] = owner; break;
                case "h": owned[new OwnedResource(ResourceKind.Hold, id)] = owner; break;
                case "o": owned[new OwnedResource(ResourceKind.Offer, id)] = owner; break;
                default: owned[new OwnedResource(ResourceKind.Trade, id)] = owner; break;
            }
        }

        return new Owners(accounts, owned);
    }

    private static NpgsqlParameter Ids(IEnumerable<string> ids) =>
        new() { Value = ids.Distinct(StringComparer.Ordinal).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };
}
