using ComputeBank.Api.Security;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.SettingCreditLimits;

/// <summary>PUT /api/v1/accounts/{accountId}/credit-limits/{resourceClass}: operator sets a consumer's credit limit
/// (0 removes it). Idempotent with an <c>Idempotency-Key</c> header or an <c>operationId</c> field.</summary>
public static class SetCreditLimitEndpoint
{
    public static readonly CommandKind Kind = new CommandKind<SetCreditLimitRequest, SetCreditLimit>
    {
        Type = "credit-limit",
        Route = CommandRoute.Put("/accounts/{accountId}/credit-limits/{resourceClass}", "SetCreditLimit"),
        SuccessStatus = StatusCodes.Status200OK,
        Policy = Policies.Operator,
        Action = "set a credit limit",
        Summary = "Set a credit limit",
        Description = "Sets how far a consumer account may go below zero in one resource class (0 removes the limit).",
        IdempotencyKey = true,
        Problems =
        [
            new(StatusCodes.Status404NotFound, "account_not_found"),
            new(StatusCodes.Status422UnprocessableEntity, "invalid_account_kind", "account_closed", "insufficient_credits"),
        ],
    };
}
