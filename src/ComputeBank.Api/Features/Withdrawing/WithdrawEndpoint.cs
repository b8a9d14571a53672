using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.Withdrawing;

/// <summary>POST /api/v1/withdrawals: credits are consumed by a job.</summary>
public static class WithdrawEndpoint
{
    public static readonly CommandKind Kind = new("withdrawal", StatusCodes.Status201Created, (fields, context) =>
    {
        var operationId = fields.Value<OperationId>("withdrawalId");
        var accountId = fields.Value<AccountId>("accountId");
        var bucket = fields.Bucket();
        var hours = fields.Hours();
        var jobReference = fields.Text("jobReference", required: false);
        return operationId is null || accountId is null || bucket is null || hours is null
            ? null
            : new WithdrawCredits(operationId, accountId, bucket, hours.Value, jobReference, context.Now);
    });

    public static void Map(IEndpointRouteBuilder api) => api.MapCommand("/withdrawals", Kind, "WithdrawCredits")
        .DocumentCommand<WithdrawRequest, OperationResult>(StatusCodes.Status201Created, "Withdraw credits",
            "A job consumes credits from one bucket of an account; refused when the bucket's available hours do not cover it.")
        .ProducesProblems(StatusCodes.Status404NotFound, "account_not_found")
        .ProducesProblems(StatusCodes.Status422UnprocessableEntity, "insufficient_credits", "account_frozen", "account_closed", "period_closed", "balance_overflow");
}
