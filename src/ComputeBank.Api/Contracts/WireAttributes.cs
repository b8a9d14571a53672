namespace ComputeBank.Api.Contracts;

/// <summary>
/// Marks a request property as an amount of hours as clients may send it: a JSON string (<c>"12.5"</c>) or number
/// (<c>12.5</c>) with at most 3 decimals. The property is a string: a JSON number is read into it from its raw token
/// text (<see cref="Http.RequestReader"/>), never through a double, and <see cref="Http.RequestCheck.Hours"/> parses it.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class HoursInputAttribute(int maxDecimals = 3) : Attribute
{
    public int MaxDecimals { get; } = maxDecimals;
}

/// <summary>
/// Marks a request property that the command's own endpoint takes from its path (<c>/holds/{holdId}/capture</c>), while a
/// batch item or a queued command carries it in the body. The OpenAPI body schema leaves it out (the path parameter
/// documents it); reading and validation treat it like any other property.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PathValueAttribute : Attribute;

/// <summary>Marks a response property as an amount of hours as the API returns it: a string with exactly 3 decimals (<c>"12.500"</c>).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class HoursValueAttribute : Attribute;

/// <summary>Marks a string property as an ISO 8601 UTC timestamp (<c>format: date-time</c>).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class UtcTimestampAttribute : Attribute;

/// <summary>Marks a string property whose allowed values come from the configured ledger catalogue.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class CatalogueValueAttribute(CatalogueList list) : Attribute
{
    public CatalogueList List { get; } = list;
}

/// <summary>The lists of the ledger catalogue a property can be restricted to.</summary>
public enum CatalogueList
{
    ResourceClasses,
    Regions,
}

/// <summary>Marks a property whose schema is any one of the given contract types (documented as <c>anyOf</c>).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class AnyOfContractsAttribute(params Type[] types) : Attribute
{
    public IReadOnlyList<Type> Types { get; } = types;
}

/// <summary>Wire patterns shared by the contracts (they mirror the parsers in <c>ComputeBank.Domain</c>).</summary>
public static class WirePatterns
{
    /// <summary>An account id (<see cref="Domain.AccountId"/>).</summary>
    public const string AccountId = "^[a-z0-9][a-z0-9._:-]{0,63}$";

    /// <summary>An operation id (<see cref="Domain.OperationId"/>): 1 to 128 printable ASCII characters.</summary>
    public const string OperationId = "^[ -~]{1,128}$";

    /// <summary>A period: <c>yyyy-MM</c> (months 01 to 12) for monthly catalogues, <c>yyyy-Qn</c> for quarterly ones.</summary>
    public const string Period = "^[0-9]{4}-(0[1-9]|1[0-2]|Q[1-4])$";

    /// <summary>An amount as returned: exactly 3 decimals, negative only for a balance under a credit limit.</summary>
    public const string HoursValue = "^-?[0-9]+\\.[0-9]{3}$";

    /// <summary>A CNY price or amount as returned: exactly 2 decimals.</summary>
    public const string Money = "^[0-9]+\\.[0-9]{2}$";
}
