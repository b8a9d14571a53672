using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.CapturingHolds;

/// <summary>POST /api/v1/holds/{holdId}/capture: posts all (or <c>hours</c>) of a pending hold and releases the rest.
/// Its operation id comes from the <c>Idempotency-Key</c> header or an <c>operationId</c> field; without either a retry
/// cannot capture twice (a captured hold is no longer pending) but answers <c>hold_not_pending</c> instead of a replay.</summary>
public static class CaptureHoldEndpoint
{
    public static readonly CommandKind Kind = new("hold-capture", StatusCodes.Status200OK, (fields, context) =>
    {
        var holdId = fields.Value<OperationId>("holdId");
        var hours = fields.Hours(required: false);
        var operationId = CommandKind.OperationIdOf(fields, context, "operationId", () => "capture:" + Guid.NewGuid().ToString("N"));
        return holdId is null || operationId is null || !fields.IsValid ? null : new CaptureHold(operationId, holdId, hours, context.Now);
    });

    public static void Map(IEndpointRouteBuilder api) => api.MapCommand("/holds/{holdId}/capture", Kind, "CaptureHold", bodyRequired: false)
        .DocumentCommand<CaptureHoldRequest, OperationResult>(StatusCodes.Status200OK, "Capture a hold",
            "Posts all (or hours) of a pending hold to the beneficiary, or as consumption, and releases the rest.",
            bodyOptional: true, idempotencyKey: true)
        .ProducesProblems(StatusCodes.Status404NotFound, "hold_not_found")
        .ProducesProblems(StatusCodes.Status422UnprocessableEntity, "hold_not_pending", "capture_exceeds_hold", "account_frozen", "account_closed", "period_closed", "balance_overflow");
}
