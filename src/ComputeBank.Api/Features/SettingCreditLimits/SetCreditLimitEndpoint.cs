using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.SettingCreditLimits;

/// <summary>PUT /api/v1/accounts/{accountId}/credit-limits/{resourceClass}: operator sets a consumer's credit limit
/// (0 removes it). Idempotent with an <c>Idempotency-Key</c> header or an <c>operationId</c> field.</summary>
public static class SetCreditLimitEndpoint
{
    public static readonly CommandKind Kind = new("credit-limit", StatusCodes.Status200OK, (fields, context) =>
    {
        var accountId = fields.Value<AccountId>("accountId");
        var resourceClass = fields.ResourceClass();
        var hours = fields.Hours(allowZero: true);
        var operationId = CommandKind.OperationIdOf(fields, context, "operationId", () => "credit-limit:" + Guid.NewGuid().ToString("N"));
        return accountId is null || resourceClass is null || hours is null || operationId is null
            ? null
            : new SetCreditLimit(operationId, accountId, resourceClass, hours.Value, context.Now);
    });

    public static void Map(IEndpointRouteBuilder api) =>
        api.MapMethods("/accounts/{accountId}/credit-limits/{resourceClass}", [HttpMethods.Put],
                (HttpContext http, LedgerCatalogue catalogue, Messaging.CommandBus bus, TimeProvider time, CancellationToken ct) =>
                    CommandEndpoints.HandleAsync(http, Kind, bodyRequired: true, catalogue, bus, time, ct))
            .WithName("SetCreditLimit")
            .RequireAuthorization(Security.Policies.Operator)
            .DocumentCommand<SetCreditLimitRequest, OperationResult>(StatusCodes.Status200OK, "Set a credit limit",
                "Sets how far a consumer account may go below zero in one resource class (0 removes the limit).", idempotencyKey: true)
            .ProducesProblems(StatusCodes.Status404NotFound, "account_not_found")
            .ProducesProblems(StatusCodes.Status422UnprocessableEntity, "invalid_account_kind", "account_closed", "insufficient_credits");
}
