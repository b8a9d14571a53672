using ComputeBank.Api.Security;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.CapturingHolds;

/// <summary>POST /api/v1/holds/{holdId}/capture: posts all (or <c>hours</c>) of a pending hold and releases the rest.
/// Its operation id comes from the <c>Idempotency-Key</c> header or an <c>operationId</c> field; without either a retry
/// cannot capture twice (a captured hold is no longer pending) but answers <c>hold_not_pending</c> instead of a replay.</summary>
public static class CaptureHoldEndpoint
{
    public static readonly CommandKind Kind = new CommandKind<CaptureHoldRequest, CaptureHold>
    {
        Type = "hold-capture",
        Route = CommandRoute.Post("/holds/{holdId}/capture", "CaptureHold"),
        SuccessStatus = StatusCodes.Status200OK,
        Policy = Policies.Consumer,
        Action = "capture a hold",
        Owner = c => Ownership.OfHold(c.HoldId),
        Summary = "Capture a hold",
        Description = "Posts all (or hours) of a pending hold to the beneficiary, or as consumption, and releases the rest.",
        IdempotencyKey = true,
        Problems =
        [
            new(StatusCodes.Status404NotFound, "hold_not_found"),
            new(StatusCodes.Status422UnprocessableEntity, "hold_not_pending", "capture_exceeds_hold", "account_frozen", "account_closed", "period_closed", "balance_overflow"),
        ],
    };
}
