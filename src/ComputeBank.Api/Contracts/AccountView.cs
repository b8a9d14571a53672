using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace ComputeBank.Api.Contracts;

/// <summary>An account (API.md): id, owner, kind, status, stream version, credit limits and balances per bucket.</summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record AccountView
{
    /// <summary>The account id.</summary>
    [RegularExpression(WirePatterns.AccountId)]
    public required string AccountId { get; init; }

    /// <summary>The owner the account was opened for.</summary>
    public required string OwnerId { get; init; }

    /// <summary>The kind of account: <c>provider</c> (deposits capacity), <c>consumer</c> (spends credits) or <c>system</c> (the bank's own).</summary>
    [AllowedValues("provider", "consumer", "system")]
    public required string Kind { get; init; }

    /// <summary>The display name, or null.</summary>
    public required string? DisplayName { get; init; }

    /// <summary>The account's status.</summary>
    [AllowedValues("active", "frozen", "closed")]
    public required string Status { get; init; }

    /// <summary>The account stream's version (its number of events).</summary>
    public required long Version { get; init; }

    /// <summary>Credit limits by resource class (consumers only): hours the account may go below zero.</summary>
    public required IReadOnlyDictionary<string, string> CreditLimits { get; init; }

    /// <summary>The balance of every bucket the account has ever had a movement in.</summary>
    public required IReadOnlyList<BalanceView> Balances { get; init; }

    /// <summary>Only in the 201 answer of opening: the global sequence of the event that opened the account.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? LastSequence { get; init; }
}
