using System.Collections.Immutable;

namespace ComputeBank.Domain.Market;

/// <summary>The state of a book stream: its offers that have not closed, and the listing number the next one gets.</summary>
public sealed record BookState(long NextListed, ImmutableSortedDictionary<OperationId, BookOffer> Offers);

public static class BookEvolution
{
    public static BookState Evolve(BookState? state, BookEvent @event)
    {
        var book = state ?? new BookState(1, ImmutableSortedDictionary<OperationId, BookOffer>.Empty);
        return @event switch
        {
            BookOfferAdded added => new BookState(
                Math.Max(book.NextListed, added.Listed + 1),
                book.Offers.Add(added.OfferId, new BookOffer(added.OfferId, added.ProviderAccountId, added.Region, added.UnitPrice,
                    added.MinHours, added.Hours, added.Listed, added.ValidUntil))),
            BookOfferTaken taken => book with
            {
                Offers = book.Offers.SetItem(taken.OfferId, book.Offers[taken.OfferId] with { HoursLeft = book.Offers[taken.OfferId].HoursLeft - taken.Hours }),
            },
            BookOfferReturned returned => book with
            {
                Offers = book.Offers.SetItem(returned.OfferId, book.Offers[returned.OfferId] with { HoursLeft = book.Offers[returned.OfferId].HoursLeft + returned.Hours }),
            },
            BookOfferRemoved removed => book with { Offers = book.Offers.Remove(removed.OfferId) },
            _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "unknown book event"),
        };
    }
}

public enum OfferStatus
{
    Open,
    Filled,
    Withdrawn,
    Expired,
}

/// <summary>
/// The state of an offer stream. Its hours are always accounted for: listed = left + in trades + sold + released.
/// </summary>
public sealed record OfferState(
    OperationId OfferId,
    AccountId ProviderAccountId,
    Bucket Bucket,
    decimal UnitPrice,
    Hours MinHours,
    DateTimeOffset ValidUntil,
    long Listed,
    DateTimeOffset ListedAt,
    Hours HoursListed,
    Hours HoursLeft,
    Hours HoursInTrades,
    Hours HoursSold,
    Hours HoursReleased,
    OfferCloseReason? ClosedAs)
{
    public OfferStatus Status => ClosedAs switch
    {
        OfferCloseReason.Withdrawn => OfferStatus.Withdrawn,
        OfferCloseReason.Expired => OfferStatus.Expired,
        _ => HoursLeft.IsZero ? OfferStatus.Filled : OfferStatus.Open,
    };

    /// <summary>On the book: not withdrawn or expired (a filled offer stays, as hours of an ended trade may come back).</summary>
    public bool IsOnBook => ClosedAs is null;
}

public static class OfferEvolution
{
    public static OfferState Evolve(OfferState? state, OfferEvent @event) => @event switch
    {
        OfferListed listed => new OfferState(listed.OfferId, listed.ProviderAccountId, listed.Bucket, listed.UnitPrice, listed.MinHours,
            listed.ValidUntil, listed.Listed, listed.ListedAt, listed.Hours, listed.Hours, Hours.Zero, Hours.Zero, Hours.Zero, null),
        OfferHoursTraded traded => Traded(Existing(state, @event), traded.Hours),
        OfferClosed closed => Closed(Existing(state, @event), closed),
        OfferHoursSold sold => Sold(Existing(state, @event), sold.Hours),
        OfferTradeUndone undone => Undone(Existing(state, @event), undone),
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "unknown offer event"),
    };

    private static OfferState Traded(OfferState offer, Hours hours) =>
        offer with { HoursLeft = offer.HoursLeft - hours, HoursInTrades = offer.HoursInTrades + hours };

    private static OfferState Closed(OfferState offer, OfferClosed closed) =>
        offer with { HoursLeft = offer.HoursLeft - closed.HoursReleased, HoursReleased = offer.HoursReleased + closed.HoursReleased, ClosedAs = closed.Reason };

    private static OfferState Sold(OfferState offer, Hours hours) =>
        offer with { HoursInTrades = offer.HoursInTrades - hours, HoursSold = offer.HoursSold + hours };

    private static OfferState Undone(OfferState offer, OfferTradeUndone undone) => undone.Returned
        ? offer with { HoursInTrades = offer.HoursInTrades - undone.Hours, HoursLeft = offer.HoursLeft + undone.Hours }
        : offer with { HoursInTrades = offer.HoursInTrades - undone.Hours, HoursReleased = offer.HoursReleased + undone.Hours };

    private static OfferState Existing(OfferState? state, OfferEvent @event) =>
        state ?? throw new InvalidOperationException($"{@event.GetType().Name} before OfferListed");
}

public enum TradeStatus
{
    AwaitingPayment,
    Settled,
    Cancelled,
    Expired,
}

/// <summary>The state of a trade stream.</summary>
public sealed record TradeState(
    OperationId TradeId,
    OperationId OrderId,
    OperationId OfferId,
    AccountId BuyerAccountId,
    AccountId SellerAccountId,
    Bucket Bucket,
    Hours Hours,
    decimal UnitPrice,
    decimal Amount,
    DateTimeOffset PayBy,
    DateTimeOffset OpenedAt,
    TradeStatus Status,
    Settlement? Settlement = null,
    DateTimeOffset? EndedAt = null);

public static class TradeEvolution
{
    public static TradeState Evolve(TradeState? state, TradeEvent @event) => @event switch
    {
        TradeOpened opened => new TradeState(opened.TradeId, opened.OrderId, opened.OfferId, opened.BuyerAccountId, opened.SellerAccountId,
            opened.Bucket, opened.Hours, opened.UnitPrice, opened.Amount, opened.PayBy, opened.OpenedAt, TradeStatus.AwaitingPayment),
        TradeSettled settled => Existing(state, @event) with { Status = TradeStatus.Settled, Settlement = settled.Settlement, EndedAt = settled.SettledAt },
        TradeUndone undone => Existing(state, @event) with
        {
            Status = undone.Reason == TradeUndoReason.Cancelled ? TradeStatus.Cancelled : TradeStatus.Expired,
            EndedAt = undone.UndoneAt,
        },
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "unknown trade event"),
    };

    private static TradeState Existing(TradeState? state, TradeEvent @event) =>
        state ?? throw new InvalidOperationException($"{@event.GetType().Name} before TradeOpened");
}

/// <summary>The state of a payment reference's stream: the trade it paid.</summary>
public sealed record PaymentState(string PaymentReference, OperationId TradeId);

public static class PaymentEvolution
{
    public static PaymentState Evolve(PaymentState? state, PaymentEvent @event) => @event switch
    {
        PaymentRecorded recorded => state ?? new PaymentState(recorded.PaymentReference, recorded.TradeId),
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "unknown payment event"),
    };
}
