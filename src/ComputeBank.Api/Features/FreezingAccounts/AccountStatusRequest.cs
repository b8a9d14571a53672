using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;

namespace ComputeBank.Api.Features.FreezingAccounts;

/// <summary>The optional body of POST /api/v1/accounts/{accountId}/freeze, /unfreeze and /close.</summary>
public sealed record AccountStatusRequest
{
    /// <summary>The operation id, when no <c>Idempotency-Key</c> header is sent.</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public string? OperationId { get; init; }
}
