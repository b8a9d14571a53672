using ComputeBank.Api.Security;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.TransferringAcrossPeriods;

/// <summary>POST /api/v1/period-transfers: credits move to another region and/or period at the configured rate
/// (201 with <c>hoursDebited</c>, <c>hoursCredited</c>, <c>rate</c>).</summary>
public static class TransferAcrossPeriodsEndpoint
{
    public static readonly CommandKind Kind = new CommandKind<TransferAcrossPeriodsRequest, TransferAcrossPeriods>
    {
        Type = "period-transfer",
        Route = CommandRoute.Post("/period-transfers", "TransferAcrossPeriods"),
        SuccessStatus = StatusCodes.Status201Created,
        Policy = Policies.AccountHolder,
        Action = "transfer across periods",
        Owner = c => Ownership.Of(c.FromAccountId),
        Summary = "Transfer credits across regions or periods",
        Description = "Credits move to another region and/or period (and optionally another account) at the configured conversion rate; " +
                      "the answer adds hoursDebited, hoursCredited and rate.",
        Problems =
        [
            new(StatusCodes.Status404NotFound, "account_not_found"),
            new(StatusCodes.Status422UnprocessableEntity, "insufficient_credits", "no_conversion_rate", "account_frozen", "account_closed", "period_closed", "balance_overflow"),
        ],
    };
}
