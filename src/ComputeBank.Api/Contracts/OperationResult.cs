using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace ComputeBank.Api.Contracts;

/// <summary>
/// The answer of a successful command (API.md "operation result"): the operation id, every account it touched with its
/// new stream version and the resulting balance of every touched bucket, and the global sequence of the last event
/// written. A replay with the same operation id answers the same body with header <c>Idempotent-Replayed: true</c>.
/// </summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record OperationResult
{
    /// <summary>The command's operation id (its <c>depositId</c>, <c>withdrawalId</c>, <c>transferId</c>, <c>holdId</c>,
    /// or for commands on a path the <c>Idempotency-Key</c> header or <c>operationId</c> field).</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public required string OperationId { get; init; }

    /// <summary>Every non-system account the operation touched, with its new version and touched buckets.</summary>
    public required IReadOnlyList<TouchedAccount> Accounts { get; init; }

    /// <summary>The global sequence number of the last event the operation wrote.</summary>
    public required long LastSequence { get; init; }

    /// <summary>When the operation was committed (ISO 8601 UTC, microseconds).</summary>
    [UtcTimestamp]
    public required string CommittedAt { get; init; }

    /// <summary>Period transfers only: hours taken from the source bucket.</summary>
    [HoursValue]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? HoursDebited { get; init; }

    /// <summary>Period transfers only: hours credited to the target bucket (<c>hoursDebited × rate</c>, rounded down to 3 decimals).</summary>
    [HoursValue]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? HoursCredited { get; init; }

    /// <summary>Period transfers only: the conversion rate applied, as a decimal string such as <c>"1.0"</c> or <c>"0.9"</c>.</summary>
    [RegularExpression("^[0-9]+\\.[0-9]{1,6}$")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Rate { get; init; }

    /// <summary>Hold commands only (place, capture, release): the hold after the operation.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public HoldView? Hold { get; init; }
}

/// <summary>An account touched by an operation: its new stream version, status and the balance of each touched bucket.</summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record TouchedAccount
{
    /// <summary>The account id.</summary>
    [RegularExpression(WirePatterns.AccountId)]
    public required string AccountId { get; init; }

    /// <summary>The account stream's version after the operation (its number of events).</summary>
    public required long Version { get; init; }

    /// <summary>The account's status: <c>active</c>, <c>frozen</c> or <c>closed</c>.</summary>
    [AllowedValues("active", "frozen", "closed")]
    public required string Status { get; init; }

    /// <summary>The resulting balance of every bucket of this account the operation touched.</summary>
    public required IReadOnlyList<BalanceView> Balances { get; init; }
}

/// <summary>The balance of one bucket (resource class, region, period) of an account.</summary>
public sealed record BalanceView
{
    /// <summary>The resource class, such as <c>gpu.h100</c>.</summary>
    [CatalogueValue(CatalogueList.ResourceClasses)]
    public required string ResourceClass { get; init; }

    /// <summary>The region, such as <c>beijing</c>.</summary>
    [CatalogueValue(CatalogueList.Regions)]
    public required string Region { get; init; }

    /// <summary>The period, such as <c>2026-11</c>.</summary>
    [RegularExpression(WirePatterns.Period)]
    public required string Period { get; init; }

    /// <summary>Posted hours: deposits and incoming transfers minus withdrawals, outgoing transfers and captures.
    /// Negative only for a consumer under a credit limit.</summary>
    [HoursValue]
    public required string Posted { get; init; }

    /// <summary>Hours reserved by pending holds.</summary>
    [HoursValue]
    public required string Pending { get; init; }

    /// <summary>Hours that can still be spent: <c>posted − pending + credit limit</c>.</summary>
    [HoursValue]
    public required string Available { get; init; }
}

/// <summary>A hold as an operation left it.</summary>
public sealed record HoldView
{
    /// <summary>The hold id (the <c>holdId</c> it was placed with).</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public required string HoldId { get; init; }

    /// <summary>The hold's status.</summary>
    [AllowedValues("pending", "captured", "released", "expired")]
    public required string Status { get; init; }

    /// <summary>The hours held.</summary>
    [HoursValue]
    public required string Hours { get; init; }

    /// <summary>The hours captured (posted); the rest was released.</summary>
    [HoursValue]
    public required string CapturedHours { get; init; }

    /// <summary>When a pending hold expires and its hours are released.</summary>
    [UtcTimestamp]
    public required string ExpiresAt { get; init; }
}
