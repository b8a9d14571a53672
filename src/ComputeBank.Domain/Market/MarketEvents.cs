namespace ComputeBank.Domain.Market;

/// <summary>Events of a book stream (<c>book-{resourceClass}-{period}</c>): what matching needs of the open offers.</summary>
public abstract record BookEvent
{
    private protected BookEvent()
    {
    }
}

/// <summary>An offer joined the book; <paramref name="Listed"/> is its place in time among the book's offers.</summary>
[EventName("V1.BookOfferAdded")]
public sealed record BookOfferAdded(
    OperationId OfferId, AccountId ProviderAccountId, Region Region, decimal UnitPrice, Hours MinHours, Hours Hours, long Listed,
    DateTimeOffset ValidUntil) : BookEvent;

/// <summary>An order took <paramref name="Hours"/> of the offer into a trade.</summary>
[EventName("V1.BookOfferTaken")]
public sealed record BookOfferTaken(OperationId OrderId, OperationId OfferId, OperationId TradeId, Hours Hours) : BookEvent;

/// <summary>A trade ended unpaid while the offer was still open and valid: its hours are on the book again.</summary>
[EventName("V1.BookOfferReturned")]
public sealed record BookOfferReturned(OperationId OperationId, OperationId OfferId, OperationId TradeId, Hours Hours) : BookEvent;

/// <summary>The offer left the book (withdrawn or expired).</summary>
[EventName("V1.BookOfferRemoved")]
public sealed record BookOfferRemoved(OperationId OperationId, OperationId OfferId) : BookEvent;

/// <summary>Events of an offer stream (<c>offer-{offerId}</c>): its terms and where its hours went.</summary>
public abstract record OfferEvent
{
    private protected OfferEvent()
    {
    }
}

/// <summary>A provider listed hours of a bucket at a unit price (CNY per hour); they are pending on its account.</summary>
[EventName("V1.OfferListed")]
public sealed record OfferListed(
    OperationId OfferId, AccountId ProviderAccountId, Bucket Bucket, Hours Hours, decimal UnitPrice, Hours MinHours,
    DateTimeOffset ValidUntil, long Listed, DateTimeOffset ListedAt) : OfferEvent;

/// <summary>An order took hours of the offer into a trade awaiting payment.</summary>
[EventName("V1.OfferHoursTraded")]
public sealed record OfferHoursTraded(OperationId OrderId, OperationId OfferId, OperationId TradeId, Hours Hours, DateTimeOffset TradedAt) : OfferEvent;

/// <summary>A trade of the offer was paid: its hours are sold.</summary>
[EventName("V1.OfferHoursSold")]
public sealed record OfferHoursSold(OperationId OperationId, OperationId OfferId, OperationId TradeId, Hours Hours, DateTimeOffset SoldAt) : OfferEvent;

/// <summary>A trade of the offer ended unpaid: its hours are back on the offer (<paramref name="Returned"/>) or, the offer
/// having closed or passed its validity, released on the provider's account.</summary>
[EventName("V1.OfferTradeUndone")]
public sealed record OfferTradeUndone(OperationId OperationId, OperationId OfferId, OperationId TradeId, Hours Hours, bool Returned, DateTimeOffset UndoneAt) : OfferEvent;

/// <summary>Why an offer closed.</summary>
public enum OfferCloseReason
{
    Withdrawn,
    Expired,
}

/// <summary>The offer closed; the hours it had left were released on the provider's account.</summary>
[EventName("V1.OfferClosed")]
public sealed record OfferClosed(OperationId OperationId, OperationId OfferId, OfferCloseReason Reason, Hours HoursReleased, DateTimeOffset ClosedAt) : OfferEvent;

/// <summary>Events of a trade stream (<c>trade-{tradeId}</c>).</summary>
public abstract record TradeEvent
{
    private protected TradeEvent()
    {
    }
}

/// <summary>An order matched an offer: the buyer owes <paramref name="Amount"/> CNY for the hours by <paramref name="PayBy"/>.</summary>
[EventName("V1.TradeOpened")]
public sealed record TradeOpened(
    OperationId TradeId, OperationId OrderId, OperationId OfferId, AccountId BuyerAccountId, AccountId SellerAccountId, Bucket Bucket,
    Hours Hours, decimal UnitPrice, decimal Amount, DateTimeOffset PayBy, DateTimeOffset OpenedAt) : TradeEvent;

/// <summary>The payment was confirmed in time: the hours were delivered to the buyer with this settlement record.</summary>
[EventName("V1.TradeSettled")]
public sealed record TradeSettled(OperationId OperationId, OperationId TradeId, Settlement Settlement, DateTimeOffset SettledAt) : TradeEvent;

/// <summary>Why a trade ended unpaid.</summary>
public enum TradeUndoReason
{
    Cancelled,
    Expired,
}

/// <summary>The trade ended unpaid: cancelled by the buyer, or expired at payBy.</summary>
[EventName("V1.TradeUndone")]
public sealed record TradeUndone(OperationId OperationId, OperationId TradeId, TradeUndoReason Reason, bool HoursReturnedToOffer, DateTimeOffset UndoneAt) : TradeEvent;

/// <summary>Events of a payment reference's stream (<c>payment-{reference}</c>): which trade a reference paid.</summary>
public abstract record PaymentEvent
{
    private protected PaymentEvent()
    {
    }
}

/// <summary>The reference paid this trade; it cannot pay another.</summary>
[EventName("V1.PaymentRecorded")]
public sealed record PaymentRecorded(string PaymentReference, OperationId TradeId, decimal Amount, string Currency, SettlementRail Rail, DateTimeOffset RecordedAt) : PaymentEvent;
