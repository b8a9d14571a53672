using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;

namespace ComputeBank.Api.Features.ClosingPeriods;

/// <summary>The body of POST /api/v1/periods/{period}/close.</summary>
public sealed record ClosePeriodRequest
{
    /// <summary><c>expire</c>: remaining balances expire; <c>rollover</c>: they move to <c>rolloverTo</c>.</summary>
    [AllowedValues("expire", "rollover")]
    public required string Policy { get; init; }

    /// <summary>The period balances roll over to; required with <c>rollover</c>.</summary>
    [RegularExpression(WirePatterns.Period)]
    public string? RolloverTo { get; init; }

    /// <summary>The operation id, when no <c>Idempotency-Key</c> header is sent.</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public string? OperationId { get; init; }
}
