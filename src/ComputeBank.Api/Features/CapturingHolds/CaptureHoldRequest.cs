using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.CapturingHolds;

/// <summary>The optional body of POST /api/v1/holds/{holdId}/capture.</summary>
public sealed record CaptureHoldRequest : ICommandRequest<CaptureHold>
{
    /// <summary>The hold (from the path).</summary>
    [PathValue]
    public required string HoldId { get; init; }

    /// <summary>The hours to capture (at most the hours held, at most 3 decimals); all of them when absent. The rest is released.</summary>
    [HoursInput]
    public string? Hours { get; init; }

    /// <summary>The operation id, when no <c>Idempotency-Key</c> header is sent.</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public string? OperationId { get; init; }

    /// <summary>Validates the body and maps it to <see cref="CaptureHold"/>.</summary>
    public CaptureHold? ToCommand(RequestCheck check, CommandContext context)
    {
        var holdId = check.OperationId(HoldId);
        var hours = check.Hours(Hours);
        var operationId = check.OperationIdOrKey(OperationId, context, "capture");
        return holdId is null || operationId is null || !check.IsValid ? null : new CaptureHold(operationId, holdId, hours, context.Now);
    }
}
