using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;

namespace ComputeBank.Api.Features.CapturingHolds;

/// <summary>The optional body of POST /api/v1/holds/{holdId}/capture.</summary>
public sealed record CaptureHoldRequest
{
    /// <summary>The hours to capture (at most the hours held, at most 3 decimals); all of them when absent. The rest is released.</summary>
    [HoursInput]
    public string? Hours { get; init; }

    /// <summary>The operation id, when no <c>Idempotency-Key</c> header is sent.</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public string? OperationId { get; init; }
}
