using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.ReleasingHolds;

/// <summary>The optional body of POST /api/v1/holds/{holdId}/release.</summary>
public sealed record ReleaseHoldRequest : ICommandRequest<ReleaseHold>
{
    /// <summary>The hold (from the path).</summary>
    [PathValue]
    public required string HoldId { get; init; }

    /// <summary>The operation id, when no <c>Idempotency-Key</c> header is sent.</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public string? OperationId { get; init; }

    /// <summary>Validates the body and maps it to <see cref="ReleaseHold"/>.</summary>
    public ReleaseHold? ToCommand(RequestCheck check, CommandContext context)
    {
        var holdId = check.OperationId(HoldId);
        var operationId = check.OperationIdOrKey(OperationId, context, "release");
        return holdId is null || operationId is null ? null : new ReleaseHold(operationId, holdId, context.Now);
    }
}
