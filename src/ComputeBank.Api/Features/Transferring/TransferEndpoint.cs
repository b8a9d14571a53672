using ComputeBank.Api.Security;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.Transferring;

/// <summary>POST /api/v1/transfers: credits move between two accounts in one bucket, optionally with a settlement record.</summary>
public static class TransferEndpoint
{
    public static readonly CommandKind Kind = new CommandKind<TransferRequest, TransferCredits>
    {
        Type = "transfer",
        Route = CommandRoute.Post("/transfers", "TransferCredits"),
        SuccessStatus = StatusCodes.Status201Created,
        Policy = Policies.AccountHolder,
        Action = "transfer",
        Owner = c => Ownership.Of(c.FromAccountId),
        Summary = "Transfer credits",
        Description = "Credits move between two accounts within one bucket, optionally with the settlement that paid for them.",
        Problems =
        [
            new(StatusCodes.Status404NotFound, "account_not_found"),
            new(StatusCodes.Status422UnprocessableEntity, "insufficient_credits", "same_account", "account_frozen", "account_closed", "period_closed", "balance_overflow"),
        ],
    };
}
