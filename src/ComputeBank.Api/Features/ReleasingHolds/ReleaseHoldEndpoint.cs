using ComputeBank.Api.Security;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.ReleasingHolds;

/// <summary>POST /api/v1/holds/{holdId}/release: releases a pending hold (operation id from <c>Idempotency-Key</c> or <c>operationId</c>).</summary>
public static class ReleaseHoldEndpoint
{
    public static readonly CommandKind Kind = new CommandKind<ReleaseHoldRequest, ReleaseHold>
    {
        Type = "hold-release",
        Route = CommandRoute.Post("/holds/{holdId}/release", "ReleaseHold"),
        SuccessStatus = StatusCodes.Status200OK,
        Policy = Policies.Consumer,
        Action = "release a hold",
        Owner = c => Ownership.OfHold(c.HoldId),
        Summary = "Release a hold",
        Description = "Releases a pending hold: its hours become available again.",
        IdempotencyKey = true,
        Problems =
        [
            new(StatusCodes.Status404NotFound, "hold_not_found"),
            new(StatusCodes.Status422UnprocessableEntity, "hold_not_pending"),
        ],
    };
}
