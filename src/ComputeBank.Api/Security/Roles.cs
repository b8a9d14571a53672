namespace ComputeBank.Api.Security;

/// <summary>The roles a token can carry (claim <c>role</c>) and the claims the API reads.</summary>
public static class Roles
{
    public const string Provider = "provider";

    public const string Consumer = "consumer";

    public const string Auditor = "auditor";

    public const string Operator = "operator";

    /// <summary>The payment system: confirms that trades were paid (and reads trades). Acts on no account of its own.</summary>
    public const string Settlement = "settlement";

    public static IReadOnlyList<string> All { get; } = [Provider, Consumer, Auditor, Operator, Settlement];
}

/// <summary>Claim names in ComputeBank tokens (kept as written: inbound claim mapping is off).</summary>
public static class ClaimNames
{
    public const string Subject = "sub";

    public const string Role = "role";

    /// <summary>The party id that must equal an account's <c>ownerId</c> for its owner's rights.</summary>
    public const string Owner = "owner";
}

/// <summary>The named authorization policies endpoints declare (<c>.RequireAuthorization(Policies.X)</c>).</summary>
public static class Policies
{
    /// <summary>Provider only (deposits).</summary>
    public const string Provider = "role:provider";

    /// <summary>Consumer only (withdrawals, holds).</summary>
    public const string Consumer = "role:consumer";

    /// <summary>Provider or consumer: opening accounts and transfers out of one's own accounts.</summary>
    public const string AccountHolder = "role:provider|consumer";

    /// <summary>Operator only: the bank's operations.</summary>
    public const string Operator = "role:operator";

    /// <summary>Any role that writes (batches hold commands of every kind; each item is checked on its own).</summary>
    public const string Writer = "role:provider|consumer|operator";

    /// <summary>Any role: reads of one account or hold (its owner, auditors and operators; checked per resource).</summary>
    public const string Reader = "role:provider|consumer|auditor|operator";

    /// <summary>The payment system or an operator: payments of trades.</summary>
    public const string Settlement = "role:settlement|operator";

    /// <summary>Any role that may read the market (the book, offers, statistics).</summary>
    public const string MarketReader = "role:provider|consumer|auditor|operator|settlement";

    /// <summary>Reads of everything: auditors and operators. Also the fallback of an endpoint that declares no rule.</summary>
    public const string ReadAll = "role:auditor|operator";

    public static IReadOnlyDictionary<string, string[]> RolesByPolicy { get; } = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        [Provider] = [Roles.Provider],
        [Consumer] = [Roles.Consumer],
        [AccountHolder] = [Roles.Provider, Roles.Consumer],
        [Operator] = [Roles.Operator],
        [Writer] = [Roles.Provider, Roles.Consumer, Roles.Operator],
        [Reader] = [Roles.Provider, Roles.Consumer, Roles.Auditor, Roles.Operator],
        [ReadAll] = [Roles.Auditor, Roles.Operator],
        [Settlement] = [Roles.Settlement, Roles.Operator],
        [MarketReader] = [Roles.Provider, Roles.Consumer, Roles.Auditor, Roles.Operator, Roles.Settlement],
    };
}
