using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;

namespace ComputeBank.Api.Features.SettingCreditLimits;

/// <summary>The body of PUT /api/v1/accounts/{accountId}/credit-limits/{resourceClass}.</summary>
public sealed record SetCreditLimitRequest
{
    /// <summary>The credit limit in hours: 0 (removes it) to 1,000,000,000, at most 3 decimals.</summary>
    [HoursInput]
    public required string Hours { get; init; }

    /// <summary>The operation id, when no <c>Idempotency-Key</c> header is sent.</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public string? OperationId { get; init; }
}
