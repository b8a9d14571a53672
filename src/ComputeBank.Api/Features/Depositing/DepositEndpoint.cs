using ComputeBank.Api.Security;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.Depositing;

/// <summary>POST /api/v1/deposits: a provider deposits capacity into a bucket.</summary>
public static class DepositEndpoint
{
    public static readonly CommandKind Kind = new CommandKind<DepositRequest, DepositCapacity>
    {
        Type = "deposit",
        Route = CommandRoute.Post("/deposits", "DepositCapacity"),
        SuccessStatus = StatusCodes.Status201Created,
        Policy = Policies.Provider,
        Action = "deposit",
        Owner = c => Ownership.Of(c.AccountId),
        Summary = "Deposit capacity",
        Description = "A provider deposits capacity (hours) into one bucket of its account.",
        Problems =
        [
            new(StatusCodes.Status404NotFound, "account_not_found"),
            new(StatusCodes.Status422UnprocessableEntity, "invalid_account_kind", "account_frozen", "account_closed", "period_closed", "balance_overflow"),
        ],
    };
}
