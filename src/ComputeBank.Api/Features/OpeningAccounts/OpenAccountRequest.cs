using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;

namespace ComputeBank.Api.Features.OpeningAccounts;

/// <summary>The body of POST /api/v1/accounts. The account id is also the operation id: opening again with the same
/// fields replays the first answer; with other fields it is <c>409 operation_id_conflict</c>.</summary>
public sealed record OpenAccountRequest
{
    /// <summary>The client-chosen account id: lower-case letters, digits and <c>. _ : -</c>, at most 64 characters.</summary>
    [RegularExpression(WirePatterns.AccountId)]
    public required string AccountId { get; init; }

    /// <summary>Who owns the account (at most 128 characters).</summary>
    [StringLength(128, MinimumLength = 1)]
    public required string OwnerId { get; init; }

    /// <summary><c>provider</c> deposits capacity; <c>consumer</c> spends credits.</summary>
    [AllowedValues("provider", "consumer")]
    public required string Kind { get; init; }

    /// <summary>An optional display name (at most 200 characters).</summary>
    [MaxLength(200)]
    public string? DisplayName { get; init; }
}
