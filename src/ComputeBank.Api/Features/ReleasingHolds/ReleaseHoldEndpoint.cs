using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.ReleasingHolds;

/// <summary>POST /api/v1/holds/{holdId}/release: releases a pending hold (operation id from <c>Idempotency-Key</c> or <c>operationId</c>).</summary>
public static class ReleaseHoldEndpoint
{
    public static readonly CommandKind Kind = new("hold-release", StatusCodes.Status200OK, (fields, context) =>
    {
        var holdId = fields.Value<OperationId>("holdId");
        var operationId = CommandKind.OperationIdOf(fields, context, "operationId", () => "release:" + Guid.NewGuid().ToString("N"));
        return holdId is null || operationId is null ? null : new ReleaseHold(operationId, holdId, context.Now);
    });

    public static void Map(IEndpointRouteBuilder api) => api.MapCommand("/holds/{holdId}/release", Kind, "ReleaseHold", bodyRequired: false)
        .DocumentCommand<ReleaseHoldRequest, OperationResult>(StatusCodes.Status200OK, "Release a hold",
            "Releases a pending hold: its hours become available again.", bodyOptional: true, idempotencyKey: true)
        .ProducesProblems(StatusCodes.Status404NotFound, "hold_not_found")
        .ProducesProblems(StatusCodes.Status422UnprocessableEntity, "hold_not_pending");
}
