using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.ClosingPeriods;

/// <summary>The body of POST /api/v1/periods/{period}/close.</summary>
public sealed record ClosePeriodRequest : ICommandRequest<ClosePeriod>
{
    /// <summary>The period to close (from the path).</summary>
    [PathValue]
    public required string Period { get; init; }

    /// <summary><c>expire</c>: remaining balances expire; <c>rollover</c>: they move to <c>rolloverTo</c>.</summary>
    [AllowedValues("expire", "rollover")]
    public required string Policy { get; init; }

    /// <summary>The period balances roll over to; required with <c>rollover</c>.</summary>
    [RegularExpression(WirePatterns.Period)]
    public string? RolloverTo { get; init; }

    /// <summary>The operation id, when no <c>Idempotency-Key</c> header is sent.</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public string? OperationId { get; init; }

    private static readonly Dictionary<string, PeriodClosePolicy> Policies = new(StringComparer.Ordinal)
    {
        ["expire"] = PeriodClosePolicy.Expire,
        ["rollover"] = PeriodClosePolicy.Rollover,
    };

    /// <summary>Validates the body and maps it to <see cref="ClosePeriod"/> (its accounts are listed when it runs).</summary>
    public ClosePeriod? ToCommand(RequestCheck check, CommandContext context)
    {
        var period = check.Period(Period);
        var policy = check.Choice(Policy, Policies);
        var rolloverTo = check.Period(RolloverTo, required: policy == PeriodClosePolicy.Rollover);
        var operationId = check.OperationIdOrKey(OperationId, context, "close-period");
        return period is null || policy is null || operationId is null || !check.IsValid
            ? null
            : new ClosePeriod(operationId, period, policy.Value, rolloverTo, [], context.Now);
    }
}
