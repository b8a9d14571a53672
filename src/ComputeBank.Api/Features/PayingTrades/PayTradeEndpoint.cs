using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Api.Ledger;
using ComputeBank.Api.Security;
using ComputeBank.Domain;
using ComputeBank.Domain.Market;

namespace ComputeBank.Api.Features.PayingTrades;

/// <summary>
/// POST /api/v1/market/trades/{tradeId}/payments: the payment system confirms that the buyer paid a trade; in the same
/// commit the hours move from the provider to the buyer with the settlement record (delivery versus payment). The
/// operation id is derived from the trade and the payment reference, so the same payment sent again is an idempotent
/// replay, and the same reference for another trade is <c>payment_reference_conflict</c>.
/// </summary>
public static class PayTradeEndpoint
{
    public static readonly CommandKind Kind = new CommandKind<PayTradeRequest, PayTrade>
    {
        Type = "trade-payment",
        Route = CommandRoute.Post("/market/trades/{tradeId}/payments", "PayTrade"),
        SuccessStatus = StatusCodes.Status200OK,
        Policy = Policies.Settlement,
        Action = "confirm a payment",
        Summary = "Confirm a trade's payment",
        Description = "Records the payment and delivers the hours from provider to buyer in the same commit. Refused from payBy on (trade_expired): nothing is recorded and the payment system refunds.",
        Response = typeof(TradeView),
        Body = MarketResults.TradeBody,
        Problems =
        [
            new(StatusCodes.Status404NotFound, "trade_not_found"),
            new(StatusCodes.Status409Conflict, "payment_reference_conflict"),
            new(StatusCodes.Status422UnprocessableEntity, "trade_not_awaiting_payment", "trade_expired", "payment_amount_mismatch", "account_frozen", "account_closed", "period_closed"),
        ],
    };

    /// <summary><c>pay:{tradeId}:{reference}</c>; a digest of both when that is too long, or when a colon in the trade id
    /// would make it ambiguous (trade <c>a:b</c> with reference <c>c</c> against trade <c>a</c> with reference <c>b:c</c>).</summary>
    public static OperationId OperationIdFor(OperationId tradeId, string reference) =>
        tradeId.Value.Contains(':', StringComparison.Ordinal)
            ? DerivedOperationIds.Of("pay", tradeId.Value + "\n" + reference, digest: true)
            : DerivedOperationIds.Of("pay", tradeId.Value + ":" + reference);
}

/// <summary>The body of POST /api/v1/market/trades/{tradeId}/payments.</summary>
public sealed record PayTradeRequest : ICommandRequest<PayTrade>
{
    /// <summary>The trade (from the path).</summary>
    [PathValue]
    public required string TradeId { get; init; }

    /// <summary>The payment's reference on the rail (1 to 128 characters); one reference pays one trade.</summary>
    [StringLength(PayTrade.MaxReferenceLength, MinimumLength = 1)]
    public required string PaymentReference { get; init; }

    /// <summary>The amount paid: the trade's amount exactly, CNY with at most 2 decimals.</summary>
    [HoursInput(maxDecimals: 2)]
    public required string Amount { get; init; }

    /// <summary>The currency paid; a trade is paid in <c>CNY</c> (another currency is <c>payment_amount_mismatch</c>).</summary>
    [StringLength(3, MinimumLength = 3)]
    public required string Currency { get; init; }

    /// <summary>The payment rail.</summary>
    [AllowedValues("e-cny", "bank-transfer")]
    public required string Rail { get; init; }

    private static readonly Dictionary<string, SettlementRail> Rails = new(StringComparer.Ordinal)
    {
        ["e-cny"] = SettlementRail.ECny,
        ["bank-transfer"] = SettlementRail.BankTransfer,
    };

    /// <summary>Validates the body and maps it to <see cref="PayTrade"/>.</summary>
    public PayTrade? ToCommand(RequestCheck check, CommandContext context)
    {
        var tradeId = check.OperationId(TradeId);
        var reference = check.Text(PaymentReference);
        var amount = check.Money(Amount, 1_000_000_000_000m);
        var currency = check.Text(Currency);
        var rail = check.Choice(Rail, Rails);
        if (currency is not null && (currency.Length != 3 || !currency.All(char.IsAsciiLetterUpper)))
        {
            check.Add(nameof(Currency), "must be a 3-letter ISO 4217 code such as CNY");
        }

        return tradeId is null || reference is null || amount is null || currency is null || rail is null || !check.IsValid
            ? null
            : new PayTrade(PayTradeEndpoint.OperationIdFor(tradeId, reference), tradeId, reference, amount.Value, currency, rail.Value, context.Now);
    }
}
