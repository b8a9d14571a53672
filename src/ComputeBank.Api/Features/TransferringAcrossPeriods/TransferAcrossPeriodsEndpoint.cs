using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.TransferringAcrossPeriods;

/// <summary>POST /api/v1/period-transfers: credits move to another region and/or period at the configured rate
/// (201 with <c>hoursDebited</c>, <c>hoursCredited</c>, <c>rate</c>).</summary>
public static class TransferAcrossPeriodsEndpoint
{
    public static readonly CommandKind Kind = new("period-transfer", StatusCodes.Status201Created, (fields, context) =>
    {
        var operationId = fields.Value<OperationId>("transferId");
        var from = fields.Value<AccountId>("fromAccountId");
        var to = fields.Value<AccountId>("toAccountId", required: false);
        var resourceClass = fields.ResourceClass();
        var source = fields.Object("from", required: true);
        var target = fields.Object("to", required: true);
        var (fromRegion, fromPeriod) = (source?.Region(), source?.Period());
        var (toRegion, toPeriod) = (target?.Region(), target?.Period());
        var hours = fields.Hours();
        return operationId is null || from is null || resourceClass is null || fromRegion is null || fromPeriod is null
               || toRegion is null || toPeriod is null || hours is null
            ? null
            : new TransferAcrossPeriods(operationId, from, to, resourceClass, fromRegion, fromPeriod, toRegion, toPeriod, hours.Value, context.Now);
    });

    public static void Map(IEndpointRouteBuilder api) => api.MapCommand("/period-transfers", Kind, "TransferAcrossPeriods")
        .DocumentCommand<TransferAcrossPeriodsRequest, OperationResult>(StatusCodes.Status201Created, "Transfer credits across regions or periods",
            "Credits move to another region and/or period (and optionally another account) at the configured conversion rate; " +
            "the answer adds hoursDebited, hoursCredited and rate.")
        .ProducesProblems(StatusCodes.Status404NotFound, "account_not_found")
        .ProducesProblems(StatusCodes.Status422UnprocessableEntity, "insufficient_credits", "no_conversion_rate", "account_frozen", "account_closed", "period_closed", "balance_overflow");
}
