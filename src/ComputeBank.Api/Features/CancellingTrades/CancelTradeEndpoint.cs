using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Api.Ledger;
using ComputeBank.Api.Security;
using ComputeBank.Domain.Market;

namespace ComputeBank.Api.Features.CancellingTrades;

/// <summary>POST /api/v1/market/trades/{tradeId}/cancel: the buyer cancels a trade it has not paid, before payBy; the
/// hours go back to the offer (or to the provider when the offer has closed). Operation id as for withdrawals.</summary>
public static class CancelTradeEndpoint
{
    public static readonly CommandKind Kind = new CommandKind<CancelTradeRequest, CancelTrade>
    {
        Type = "trade-cancel",
        Route = CommandRoute.Post("/market/trades/{tradeId}/cancel", "CancelTrade"),
        SuccessStatus = StatusCodes.Status200OK,
        Policy = Policies.Consumer,
        Action = "cancel a trade",
        Owner = c => Ownership.OfTrade(c.TradeId),
        Summary = "Cancel a trade",
        Description = "Cancels a trade awaiting payment before its payBy; its hours go back to the offer, or to the provider when the offer has closed. The answer is the trade.",
        Response = typeof(TradeView),
        Body = MarketResults.TradeBody,
        IdempotencyKey = true,
        Problems =
        [
            new(StatusCodes.Status404NotFound, "trade_not_found"),
            new(StatusCodes.Status422UnprocessableEntity, "trade_not_awaiting_payment", "trade_expired"),
        ],
    };
}

/// <summary>The optional body of POST /api/v1/market/trades/{tradeId}/cancel.</summary>
public sealed record CancelTradeRequest : ICommandRequest<CancelTrade>
{
    /// <summary>The trade (from the path).</summary>
    [PathValue]
    public required string TradeId { get; init; }

    /// <summary>The operation id, when no <c>Idempotency-Key</c> header is sent.</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public string? OperationId { get; init; }

    /// <summary>Validates the body and maps it to <see cref="CancelTrade"/>.</summary>
    public CancelTrade? ToCommand(RequestCheck check, CommandContext context)
    {
        var tradeId = check.OperationId(TradeId);
        var operationId = check.OperationIdOrKey(OperationId, context, "cancel-trade");
        return tradeId is null || operationId is null || !check.IsValid ? null : new CancelTrade(operationId, tradeId, context.Now);
    }
}
