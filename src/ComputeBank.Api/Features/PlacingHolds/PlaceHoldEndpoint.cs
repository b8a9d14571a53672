using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.PlacingHolds;

/// <summary>POST /api/v1/holds: reserves credits until <c>expiresAt</c>. The hold id is the operation id.</summary>
public static class PlaceHoldEndpoint
{
    public static readonly CommandKind Kind = new("hold", StatusCodes.Status201Created, (fields, context) =>
    {
        var holdId = fields.Value<OperationId>("holdId");
        var accountId = fields.Value<AccountId>("accountId");
        var beneficiary = fields.Value<AccountId>("beneficiaryAccountId", required: false);
        var bucket = fields.Bucket();
        var hours = fields.Hours();
        var expiresAt = fields.Timestamp("expiresAt");
        if (expiresAt is { } expiry && expiry <= context.Now)
        {
            fields.Add("expiresAt", "must be in the future");
        }

        return holdId is null || accountId is null || bucket is null || hours is null || expiresAt is null || !fields.IsValid
            ? null
            : new PlaceHold(holdId, accountId, beneficiary, bucket, hours.Value, expiresAt.Value, context.Now);
    });

    public static void Map(IEndpointRouteBuilder api) => api.MapCommand("/holds", Kind, "PlaceHold")
        .DocumentCommand<PlaceHoldRequest, OperationResult>(StatusCodes.Status201Created, "Place a hold",
            "Reserves credits of one bucket until they are captured, released or expire; the answer includes the hold.")
        .ProducesProblems(StatusCodes.Status404NotFound, "account_not_found")
        .ProducesProblems(StatusCodes.Status422UnprocessableEntity, "insufficient_credits", "same_account", "account_frozen", "account_closed", "period_closed", "balance_overflow");
}
