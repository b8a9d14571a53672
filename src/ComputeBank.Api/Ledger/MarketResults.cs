using System.Globalization;
using ComputeBank.Api.Contracts;
using ComputeBank.Domain;
using ComputeBank.Domain.Market;
using ComputeBank.Messaging;

namespace ComputeBank.Api.Ledger;

/// <summary>The JSON of the market's offers, orders and trades (docs/market.md), from their stream states.</summary>
public static class MarketResults
{
    public static byte[] OfferBody(LedgerCommand command, OperationOutcome outcome, CommittedOperation committed)
    {
        var offer = outcome.Offer?.Offer ?? throw new InvalidOperationException($"{command.GetType().Name} decided no offer");
        return ContractJson.ToUtf8(Offer(offer, committed.StreamVersions.GetValueOrDefault(StreamIds.Offer(offer.OfferId)), committed.CommittedAt));
    }

    public static byte[] OrderBody(LedgerCommand command, OperationOutcome outcome, CommittedOperation committed)
    {
        var order = outcome.Order ?? throw new InvalidOperationException($"{command.GetType().Name} decided no order");
        return ContractJson.ToUtf8(new OrderView
        {
            OrderId = order.OrderId.Value,
            Status = order.Filled ? "filled" : "partially_filled",
            HoursFilled = order.HoursFilled.ToString(),
            Trades = [.. order.Trades.Select(t => Trade(t, committed.CommittedAt))],
        });
    }

    public static byte[] TradeBody(LedgerCommand command, OperationOutcome outcome, CommittedOperation committed)
    {
        var trade = outcome.Trade ?? throw new InvalidOperationException($"{command.GetType().Name} decided no trade");
        return ContractJson.ToUtf8(Trade(trade, committed.CommittedAt));
    }

    /// <summary>An offer as of <paramref name="now"/>: an offer still on the book at or after its <c>validUntil</c> is
    /// shown <c>expired</c>, as nothing can take from it any more (its expiry releases what is left).</summary>
    public static OfferView Offer(OfferState offer, long version, DateTimeOffset now) => new()
    {
        OfferId = offer.OfferId.Value,
        AccountId = offer.ProviderAccountId.Value,
        ResourceClass = offer.Bucket.ResourceClass.Value,
        Region = offer.Bucket.Region.Value,
        Period = offer.Bucket.Period.ToString(),
        UnitPrice = Money(offer.UnitPrice),
        Currency = "CNY",
        MinHours = offer.MinHours.ToString(),
        ValidUntil = OperationResults.Timestamp(offer.ValidUntil),
        Status = offer.IsOnBook && now >= offer.ValidUntil ? "expired" : OperationResults.Lower(offer.Status.ToString()),
        HoursListed = offer.HoursListed.ToString(),
        HoursLeft = offer.HoursLeft.ToString(),
        HoursInTrades = offer.HoursInTrades.ToString(),
        HoursSold = offer.HoursSold.ToString(),
        HoursReleased = offer.HoursReleased.ToString(),
        ListedAt = OperationResults.Timestamp(offer.ListedAt),
        Version = version,
    };

    /// <summary>A trade as of <paramref name="now"/>: one still awaiting payment at or after <c>payBy</c> is shown
    /// <c>expired</c>, as it can no longer be paid (its expiry undoes it).</summary>
    public static TradeView Trade(TradeState trade, DateTimeOffset now) => new()
    {
        TradeId = trade.TradeId.Value,
        OrderId = trade.OrderId.Value,
        OfferId = trade.OfferId.Value,
        BuyerAccountId = trade.BuyerAccountId.Value,
        SellerAccountId = trade.SellerAccountId.Value,
        ResourceClass = trade.Bucket.ResourceClass.Value,
        Region = trade.Bucket.Region.Value,
        Period = trade.Bucket.Period.ToString(),
        Hours = trade.Hours.ToString(),
        UnitPrice = Money(trade.UnitPrice),
        Amount = Money(trade.Amount),
        Currency = "CNY",
        Status = StatusOf(trade, now),
        PayBy = OperationResults.Timestamp(trade.PayBy),
        OpenedAt = OperationResults.Timestamp(trade.OpenedAt),
        EndedAt = trade.EndedAt is { } ended ? OperationResults.Timestamp(ended) : null,
        Settlement = trade.Settlement is { } paid
            ? new TradeSettlementView
            {
                PaymentReference = paid.PaymentReference,
                Amount = Money(paid.Amount),
                Currency = paid.Currency,
                Rail = paid.Rail == SettlementRail.ECny ? "e-cny" : "bank-transfer",
            }
            : null,
    };

    public static string StatusOf(TradeState trade, DateTimeOffset now) =>
        trade.Status == TradeStatus.AwaitingPayment && now >= trade.PayBy ? "expired" : Projections.MarketProjection.StatusOf(trade.Status);

    /// <summary>A CNY amount with exactly 2 decimals.</summary>
    public static string Money(decimal amount) => amount.ToString("0.00", CultureInfo.InvariantCulture);
}
