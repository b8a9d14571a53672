using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.Depositing;

/// <summary>POST /api/v1/deposits: a provider deposits capacity into a bucket.</summary>
public static class DepositEndpoint
{
    public static readonly CommandKind Kind = new("deposit", StatusCodes.Status201Created, (fields, context) =>
    {
        var operationId = fields.Value<OperationId>("depositId");
        var accountId = fields.Value<AccountId>("accountId");
        var bucket = fields.Bucket();
        var hours = fields.Hours();
        var reference = fields.Text("reference", required: false);
        return operationId is null || accountId is null || bucket is null || hours is null
            ? null
            : new DepositCapacity(operationId, accountId, bucket, hours.Value, reference, context.Now);
    });

    public static void Map(IEndpointRouteBuilder api) => api.MapCommand("/deposits", Kind, "DepositCapacity")
        .DocumentCommand<DepositRequest, OperationResult>(StatusCodes.Status201Created, "Deposit capacity",
            "A provider deposits capacity (hours) into one bucket of its account.")
        .ProducesProblems(StatusCodes.Status404NotFound, "account_not_found")
        .ProducesProblems(StatusCodes.Status422UnprocessableEntity, "invalid_account_kind", "account_frozen", "account_closed", "period_closed", "balance_overflow");
}
