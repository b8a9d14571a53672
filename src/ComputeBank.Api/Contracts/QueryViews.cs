using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace ComputeBank.Api.Contracts;

// The answers of the queries. The endpoints build these bodies as JSON nodes in their slices; the records describe
// them for /openapi/v1.json, and OpenApiDocumentTests checks real answers against the document, so the two cannot drift.

/// <summary>The answer of GET /accounts/{accountId}/balances: the balances replayed from the account's events as of an
/// instant (<c>asOf</c>) or a stream version (<c>version</c>), or now with neither.</summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record BalancesView
{
    /// <summary>The account id.</summary>
    [RegularExpression(WirePatterns.AccountId)]
    public required string AccountId { get; init; }

    /// <summary>The instant asked for (<c>asOf</c>), or null when the query named a version or nothing.</summary>
    [UtcTimestamp]
    public required string? AsOf { get; init; }

    /// <summary>The stream version the balances are replayed to; 0 before the account's first event.</summary>
    public required long Version { get; init; }

    /// <summary>When the last replayed event was written, or null at version 0.</summary>
    [UtcTimestamp]
    public required string? LastEventAt { get; init; }

    /// <summary>The account's status at that point (<c>active</c>, <c>frozen</c> or <c>closed</c>), or null at version 0.</summary>
    public required string? Status { get; init; }

    /// <summary>The balance of every bucket the account had at that point.</summary>
    public required IReadOnlyList<BalanceView> Balances { get; init; }
}

/// <summary>A page of GET /accounts/{accountId}/history: the account's events in stream order.</summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record HistoryPage
{
    /// <summary>The account id.</summary>
    [RegularExpression(WirePatterns.AccountId)]
    public required string AccountId { get; init; }

    /// <summary>The events of this page, in stream order.</summary>
    public required IReadOnlyList<HistoryEntry> Events { get; init; }

    /// <summary>The <c>afterVersion</c> of the following page, or null on the last page.</summary>
    public required long? Next { get; init; }
}

/// <summary>One event of an account's history with the balance of every bucket it touched right after it.</summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record HistoryEntry
{
    /// <summary>The event's version in the account's stream (1 for the first).</summary>
    public required long Version { get; init; }

    /// <summary>The event's global sequence number.</summary>
    public required long Sequence { get; init; }

    /// <summary>The event's stable type name, such as <c>V1.CreditsTransferredIn</c>.</summary>
    public required string Type { get; init; }

    /// <summary>When the event was written (ISO 8601 UTC, microseconds).</summary>
    [UtcTimestamp]
    public required string Time { get; init; }

    /// <summary>The event's fields (camelCase; which ones depends on <c>type</c>). Hours are strings with exactly 3
    /// decimals, a settlement's <c>amount</c> a string with exactly 2.</summary>
    public required JsonObject Data { get; init; }

    /// <summary>The balance of every bucket of the account the event touched, right after it.</summary>
    public required IReadOnlyList<BalanceView> Balances { get; init; }
}

/// <summary>A page of GET /events: the global feed in sequence order.</summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record EventPage
{
    /// <summary>The events of this page, in global sequence order (empty when nothing newer is committed).</summary>
    public required IReadOnlyList<FeedEvent> Events { get; init; }

    /// <summary>The <c>afterSequence</c> of the following request (the same as given when nothing new was there).</summary>
    public required long Next { get; init; }
}

/// <summary>One event of the global feed.</summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record FeedEvent
{
    /// <summary>The event's global sequence number.</summary>
    public required long Sequence { get; init; }

    /// <summary>The stream the event belongs to, such as <c>account-acme</c>.</summary>
    public required string StreamId { get; init; }

    /// <summary>The event's version in its stream.</summary>
    public required long Version { get; init; }

    /// <summary>The event's stable type name, such as <c>V1.CapacityDeposited</c>.</summary>
    public required string Type { get; init; }

    /// <summary>When the event was written (ISO 8601 UTC, microseconds).</summary>
    [UtcTimestamp]
    public required string Time { get; init; }

    /// <summary>The event's fields (camelCase; which ones depends on <c>type</c>). Hours are strings with exactly 3
    /// decimals, a settlement's <c>amount</c> a string with exactly 2.</summary>
    public required JsonObject Data { get; init; }

    /// <summary>Who and what caused the event.</summary>
    public required EventMetadataView Metadata { get; init; }
}

/// <summary>Who and what caused an event (fields without a value are left out).</summary>
public sealed record EventMetadataView
{
    /// <summary>The trace id of the request that caused the event.</summary>
    public string? CorrelationId { get; init; }

    /// <summary>The span id of the request that caused the event.</summary>
    public string? CausationId { get; init; }

    /// <summary>The token subject of the caller.</summary>
    public string? User { get; init; }

    /// <summary>Further headers recorded with the event.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }
}

/// <summary>The answer of GET /holds/{holdId}: the hold and its status.</summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record HoldDetails
{
    /// <summary>The hold id (the <c>holdId</c> it was placed with).</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public required string HoldId { get; init; }

    /// <summary>The account whose credits are held.</summary>
    [RegularExpression(WirePatterns.AccountId)]
    public required string AccountId { get; init; }

    /// <summary>The account a capture pays, or null when a capture withdraws.</summary>
    public required string? BeneficiaryAccountId { get; init; }

    /// <summary>The resource class, such as <c>gpu.h100</c>.</summary>
    [CatalogueValue(CatalogueList.ResourceClasses)]
    public required string ResourceClass { get; init; }

    /// <summary>The region, such as <c>beijing</c>.</summary>
    [CatalogueValue(CatalogueList.Regions)]
    public required string Region { get; init; }

    /// <summary>The period, such as <c>2026-11</c>.</summary>
    [RegularExpression(WirePatterns.Period)]
    public required string Period { get; init; }

    /// <summary>The hours held.</summary>
    [HoursValue]
    public required string Hours { get; init; }

    /// <summary>The hours captured (posted); the rest was released.</summary>
    [HoursValue]
    public required string CapturedHours { get; init; }

    /// <summary>The hold's status; a pending hold at or after <c>expiresAt</c> is <c>expired</c>.</summary>
    [AllowedValues("pending", "captured", "released", "expired")]
    public required string Status { get; init; }

    /// <summary>When the hold was placed.</summary>
    [UtcTimestamp]
    public required string PlacedAt { get; init; }

    /// <summary>When a pending hold expires and its hours are released.</summary>
    [UtcTimestamp]
    public required string ExpiresAt { get; init; }

    /// <summary>When the hold was captured, released or expired, or null while it is pending.</summary>
    [UtcTimestamp]
    public required string? EndedAt { get; init; }

    /// <summary>The hold stream's version (its number of events).</summary>
    public required long Version { get; init; }
}

/// <summary>The answer of GET /pools/{resourceClass}/{region}/{period}: the totals of one bucket over every non-system
/// account, from an async projection.</summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record PoolView
{
    /// <summary>The resource class.</summary>
    [CatalogueValue(CatalogueList.ResourceClasses)]
    public required string ResourceClass { get; init; }

    /// <summary>The region.</summary>
    [CatalogueValue(CatalogueList.Regions)]
    public required string Region { get; init; }

    /// <summary>The period.</summary>
    [RegularExpression(WirePatterns.Period)]
    public required string Period { get; init; }

    /// <summary>Hours deposited by providers.</summary>
    [HoursValue]
    public required string Deposited { get; init; }

    /// <summary>Hours withdrawn (spent) by consumers, holds captured without a beneficiary included.</summary>
    [HoursValue]
    public required string Withdrawn { get; init; }

    /// <summary>Hours moved between accounts within the bucket.</summary>
    [HoursValue]
    public required string TransferredBetweenAccounts { get; init; }

    /// <summary>Hours moved into the bucket from another period or region.</summary>
    [HoursValue]
    public required string TransferredAcrossPeriodsIn { get; init; }

    /// <summary>Hours moved out of the bucket to another period or region.</summary>
    [HoursValue]
    public required string TransferredAcrossPeriodsOut { get; init; }

    /// <summary>Hours rolled over into the bucket when an earlier period closed.</summary>
    [HoursValue]
    public required string RolledOverIn { get; init; }

    /// <summary>Hours rolled over out of the bucket when its period closed.</summary>
    [HoursValue]
    public required string RolledOverOut { get; init; }

    /// <summary>Hours that expired when the period closed.</summary>
    [HoursValue]
    public required string Expired { get; init; }

    /// <summary>Hours posted in the bucket over all accounts.</summary>
    [HoursValue]
    public required string Posted { get; init; }

    /// <summary>Hours reserved by pending holds.</summary>
    [HoursValue]
    public required string Held { get; init; }

    /// <summary>Hours that can still be spent: posted minus held.</summary>
    [HoursValue]
    public required string Available { get; init; }

    /// <summary>The global event sequence the totals include (how far the projection has read).</summary>
    public required long AsOfSequence { get; init; }
}

/// <summary>The answer of GET /accounts?ownerId=: an owner's accounts.</summary>
public sealed record AccountList
{
    /// <summary>The owner asked for.</summary>
    public required string OwnerId { get; init; }

    /// <summary>Its accounts, by id.</summary>
    public required IReadOnlyList<AccountSummary> Accounts { get; init; }
}

/// <summary>One account of a list.</summary>
public sealed record AccountSummary
{
    /// <summary>The account id.</summary>
    [RegularExpression(WirePatterns.AccountId)]
    public required string AccountId { get; init; }

    /// <summary><c>provider</c> or <c>consumer</c>.</summary>
    [AllowedValues("provider", "consumer")]
    public required string Kind { get; init; }

    /// <summary><c>active</c>, <c>frozen</c> or <c>closed</c>.</summary>
    [AllowedValues("active", "frozen", "closed")]
    public required string Status { get; init; }
}
