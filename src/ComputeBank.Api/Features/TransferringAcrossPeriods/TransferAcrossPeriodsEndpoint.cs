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

    public static void Map(IEndpointRouteBuilder api) => api.MapCommand("/period-transfers", Kind, "TransferAcrossPeriods");
}
