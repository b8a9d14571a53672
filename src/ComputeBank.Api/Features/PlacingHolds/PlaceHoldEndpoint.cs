using ComputeBank.Api.Security;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.PlacingHolds;

/// <summary>POST /api/v1/holds: reserves credits until <c>expiresAt</c>. The hold id is the operation id.</summary>
public static class PlaceHoldEndpoint
{
    public static readonly CommandKind Kind = new CommandKind<PlaceHoldRequest, PlaceHold>
    {
        Type = "hold",
        Route = CommandRoute.Post("/holds", "PlaceHold"),
        SuccessStatus = StatusCodes.Status201Created,
        Policy = Policies.Consumer,
        Action = "place a hold",
        Owner = c => Ownership.Of(c.AccountId),
        Summary = "Place a hold",
        Description = "Reserves credits of one bucket until they are captured, released or expire; the answer includes the hold.",
        Problems =
        [
            new(StatusCodes.Status404NotFound, "account_not_found"),
            new(StatusCodes.Status422UnprocessableEntity, "insufficient_credits", "same_account", "account_frozen", "account_closed", "period_closed", "balance_overflow"),
        ],
    };
}
