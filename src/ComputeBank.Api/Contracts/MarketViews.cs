using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace ComputeBank.Api.Contracts;

// The market's answers (docs/market.md): offers, orders, trades and statistics. Commands and queries answer with the
// same records, so an offer looks the same whether it was just listed or read from the book.

/// <summary>An offer: a provider's hours of one bucket at a unit price, and where its hours are now.</summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record OfferView
{
    /// <summary>The offer id (the operation id it was listed with).</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public required string OfferId { get; init; }

    /// <summary>The provider account the hours are listed from.</summary>
    [RegularExpression(WirePatterns.AccountId)]
    public required string AccountId { get; init; }

    /// <summary>The resource class.</summary>
    public required string ResourceClass { get; init; }

    /// <summary>The region.</summary>
    public required string Region { get; init; }

    /// <summary>The period.</summary>
    [RegularExpression(WirePatterns.Period)]
    public required string Period { get; init; }

    /// <summary>CNY per hour, exactly 2 decimals.</summary>
    [RegularExpression(WirePatterns.Money)]
    public required string UnitPrice { get; init; }

    /// <summary>Always <c>CNY</c>.</summary>
    [AllowedValues("CNY")]
    public required string Currency { get; init; }

    /// <summary>The fewest hours one trade takes from this offer.</summary>
    [HoursValue]
    public required string MinHours { get; init; }

    /// <summary>When the offer expires and what is left of it is released.</summary>
    [UtcTimestamp]
    public required string ValidUntil { get; init; }

    /// <summary><c>open</c>, <c>filled</c> (nothing left now; hours of an undone trade may come back), <c>withdrawn</c> or <c>expired</c>.</summary>
    [AllowedValues("open", "filled", "withdrawn", "expired")]
    public required string Status { get; init; }

    /// <summary>The hours listed: always hoursLeft + hoursInTrades + hoursSold + hoursReleased.</summary>
    [HoursValue]
    public required string HoursListed { get; init; }

    /// <summary>The hours still on the book.</summary>
    [HoursValue]
    public required string HoursLeft { get; init; }

    /// <summary>The hours in trades awaiting payment.</summary>
    [HoursValue]
    public required string HoursInTrades { get; init; }

    /// <summary>The hours of settled trades.</summary>
    [HoursValue]
    public required string HoursSold { get; init; }

    /// <summary>The hours given back to the provider (withdrawn, expired, or returned by an undone trade after the offer closed).</summary>
    [HoursValue]
    public required string HoursReleased { get; init; }

    /// <summary>When the offer was listed.</summary>
    [UtcTimestamp]
    public required string ListedAt { get; init; }

    /// <summary>The offer stream's version.</summary>
    public required long Version { get; init; }
}

/// <summary>The payment that settled a trade.</summary>
public sealed record TradeSettlementView
{
    /// <summary>The payment's reference on the rail.</summary>
    public required string PaymentReference { get; init; }

    /// <summary>The amount paid, exactly 2 decimals.</summary>
    [RegularExpression(WirePatterns.Money)]
    public required string Amount { get; init; }

    /// <summary>The currency.</summary>
    public required string Currency { get; init; }

    /// <summary>The payment rail.</summary>
    [AllowedValues("e-cny", "bank-transfer")]
    public required string Rail { get; init; }
}

/// <summary>A trade: hours of one offer bought by one order, to be paid by <c>payBy</c>.</summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record TradeView
{
    /// <summary>The trade id, <c>{orderId}.{n}</c>.</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public required string TradeId { get; init; }

    /// <summary>The order that made the trade.</summary>
    public required string OrderId { get; init; }

    /// <summary>The offer the hours come from.</summary>
    public required string OfferId { get; init; }

    /// <summary>The consumer account that buys.</summary>
    [RegularExpression(WirePatterns.AccountId)]
    public required string BuyerAccountId { get; init; }

    /// <summary>The provider account that sells.</summary>
    [RegularExpression(WirePatterns.AccountId)]
    public required string SellerAccountId { get; init; }

    /// <summary>The resource class.</summary>
    public required string ResourceClass { get; init; }

    /// <summary>The region.</summary>
    public required string Region { get; init; }

    /// <summary>The period.</summary>
    [RegularExpression(WirePatterns.Period)]
    public required string Period { get; init; }

    /// <summary>The hours traded.</summary>
    [HoursValue]
    public required string Hours { get; init; }

    /// <summary>The offer's unit price, CNY per hour.</summary>
    [RegularExpression(WirePatterns.Money)]
    public required string UnitPrice { get; init; }

    /// <summary>What to pay: hours x unit price, rounded to 2 decimals half away from zero.</summary>
    [RegularExpression(WirePatterns.Money)]
    public required string Amount { get; init; }

    /// <summary>Always <c>CNY</c>.</summary>
    [AllowedValues("CNY")]
    public required string Currency { get; init; }

    /// <summary><c>awaiting_payment</c>, then exactly one of <c>settled</c>, <c>cancelled</c>, <c>expired</c>. A trade still
    /// awaiting payment at or after <c>payBy</c> is shown <c>expired</c>: it can no longer be paid.</summary>
    [AllowedValues("awaiting_payment", "settled", "cancelled", "expired")]
    public required string Status { get; init; }

    /// <summary>The payment deadline: a payment from this instant on is refused and the trade is undone.</summary>
    [UtcTimestamp]
    public required string PayBy { get; init; }

    /// <summary>When the order made the trade.</summary>
    [UtcTimestamp]
    public required string OpenedAt { get; init; }

    /// <summary>When the trade was settled, cancelled or expired; null while it awaits payment.</summary>
    [UtcTimestamp]
    public required string? EndedAt { get; init; }

    /// <summary>The payment that settled the trade; null unless settled.</summary>
    public required TradeSettlementView? Settlement { get; init; }
}

/// <summary>The answer of an order: what it filled, as trades to pay.</summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record OrderView
{
    /// <summary>The order id (the operation id).</summary>
    public required string OrderId { get; init; }

    /// <summary><c>filled</c> (every hour asked for) or <c>partially_filled</c> (what the book had; the rest is dropped).</summary>
    [AllowedValues("filled", "partially_filled")]
    public required string Status { get; init; }

    /// <summary>The hours the trades hold.</summary>
    [HoursValue]
    public required string HoursFilled { get; init; }

    /// <summary>One trade per offer the order took from, in matching order.</summary>
    public required IReadOnlyList<TradeView> Trades { get; init; }
}

/// <summary>A page of the book (GET /market/offers): offers in matching order, lowest price first, then earliest listed.</summary>
public sealed record OfferPage
{
    /// <summary>The offers of this page.</summary>
    public required IReadOnlyList<OfferView> Offers { get; init; }

    /// <summary>The cursor of the next page (pass as <c>after</c>), or null on the last page.</summary>
    public required string? Next { get; init; }
}

/// <summary>A page of an account's trades (GET /market/trades), newest first.</summary>
public sealed record TradePage
{
    /// <summary>The trades of this page.</summary>
    public required IReadOnlyList<TradeView> Trades { get; init; }

    /// <summary>The cursor of the next page (pass as <c>after</c>), or null on the last page.</summary>
    public required string? Next { get; init; }
}

/// <summary>Settled trades of one resource class and period, per region (GET /market/stats).</summary>
public sealed record MarketStatsView
{
    /// <summary>The resource class.</summary>
    public required string ResourceClass { get; init; }

    /// <summary>The period.</summary>
    [RegularExpression(WirePatterns.Period)]
    public required string Period { get; init; }

    /// <summary>One entry per region with settled trades, by region name.</summary>
    public required IReadOnlyList<RegionStatsView> Regions { get; init; }
}

/// <summary>The settled trades of one region.</summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record RegionStatsView
{
    /// <summary>The region.</summary>
    public required string Region { get; init; }

    /// <summary>The unit price of the last trade settled.</summary>
    [RegularExpression(WirePatterns.Money)]
    public required string LastPrice { get; init; }

    /// <summary>The volume-weighted average unit price: amounts paid / hours settled, rounded to 2 decimals half away from zero.</summary>
    [RegularExpression(WirePatterns.Money)]
    public required string Vwap { get; init; }

    /// <summary>The hours settled.</summary>
    [HoursValue]
    public required string VolumeHours { get; init; }

    /// <summary>The number of trades settled.</summary>
    public required long TradeCount { get; init; }
}
