using ComputeBank.Api.Security;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.Withdrawing;

/// <summary>POST /api/v1/withdrawals: credits are consumed by a job.</summary>
public static class WithdrawEndpoint
{
    public static readonly CommandKind Kind = new CommandKind<WithdrawRequest, WithdrawCredits>
    {
        Type = "withdrawal",
        Route = CommandRoute.Post("/withdrawals", "WithdrawCredits"),
        SuccessStatus = StatusCodes.Status201Created,
        Policy = Policies.Consumer,
        Action = "withdraw",
        Owner = c => Ownership.Of(c.AccountId),
        Summary = "Withdraw credits",
        Description = "A job consumes credits from one bucket of an account; refused when the bucket's available hours do not cover it.",
        Problems =
        [
            new(StatusCodes.Status404NotFound, "account_not_found"),
            new(StatusCodes.Status422UnprocessableEntity, "insufficient_credits", "account_frozen", "account_closed", "period_closed", "balance_overflow"),
        ],
    };
}
