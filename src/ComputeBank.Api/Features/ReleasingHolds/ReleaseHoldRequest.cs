using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;

namespace ComputeBank.Api.Features.ReleasingHolds;

/// <summary>The optional body of POST /api/v1/holds/{holdId}/release.</summary>
public sealed record ReleaseHoldRequest
{
    /// <summary>The operation id, when no <c>Idempotency-Key</c> header is sent.</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public string? OperationId { get; init; }
}
