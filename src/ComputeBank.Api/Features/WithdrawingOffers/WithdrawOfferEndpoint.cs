using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Api.Ledger;
using ComputeBank.Api.Security;
using ComputeBank.Domain.Market;

namespace ComputeBank.Api.Features.WithdrawingOffers;

/// <summary>POST /api/v1/market/offers/{offerId}/withdraw: the provider takes its offer off the book; what was not traded
/// is released. Trades already made stay and are paid or undone as usual. Its operation id comes from the
/// <c>Idempotency-Key</c> header or an <c>operationId</c> field; without either a retry answers <c>offer_not_open</c>.</summary>
public static class WithdrawOfferEndpoint
{
    public static readonly CommandKind Kind = new CommandKind<WithdrawOfferRequest, WithdrawOffer>
    {
        Type = "offer-withdraw",
        Route = CommandRoute.Post("/market/offers/{offerId}/withdraw", "WithdrawOffer"),
        SuccessStatus = StatusCodes.Status200OK,
        Policy = Policies.Provider,
        Action = "withdraw an offer",
        Owner = c => Ownership.OfOffer(c.OfferId),
        Summary = "Withdraw an offer",
        Description = "Takes the offer off the book and releases the hours not traded; trades already made are not affected. The answer is the offer.",
        Response = typeof(OfferView),
        Body = MarketResults.OfferBody,
        IdempotencyKey = true,
        Problems =
        [
            new(StatusCodes.Status404NotFound, "offer_not_found"),
            new(StatusCodes.Status422UnprocessableEntity, "offer_not_open"),
        ],
    };
}

/// <summary>The optional body of POST /api/v1/market/offers/{offerId}/withdraw.</summary>
public sealed record WithdrawOfferRequest : ICommandRequest<WithdrawOffer>
{
    /// <summary>The offer (from the path).</summary>
    [PathValue]
    public required string OfferId { get; init; }

    /// <summary>The operation id, when no <c>Idempotency-Key</c> header is sent.</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public string? OperationId { get; init; }

    /// <summary>Validates the body and maps it to <see cref="WithdrawOffer"/>.</summary>
    public WithdrawOffer? ToCommand(RequestCheck check, CommandContext context)
    {
        var offerId = check.OperationId(OfferId);
        var operationId = check.OperationIdOrKey(OperationId, context, "withdraw-offer");
        return offerId is null || operationId is null || !check.IsValid ? null : new WithdrawOffer(operationId, offerId, context.Now);
    }
}
