using ComputeBank.Domain.Accounts;
using ComputeBank.Domain.Market;

namespace ComputeBank.Domain;

public static partial class Ledger
{
    private const int MinPaymentWindowSeconds = 30;
    private const int MaxPaymentWindowSeconds = 86_400;

    private static Decision ListingOffer(ListOffer c, Session s)
    {
        var errors = new FieldErrors(s.Catalogue).Bucket(c.Bucket).Amount("hours", c.Hours).Price("unitPrice", c.UnitPrice);
        if (!c.MinHours.IsPositive || c.MinHours > c.Hours)
        {
            errors.Add("minHours", "must be greater than zero and at most the hours listed");
        }

        if (c.ValidUntil <= c.Now)
        {
            errors.Add("validUntil", "must be in the future");
        }

        if (s.Offer(c.OfferId) is not null)
        {
            errors.Add("offerId", $"offer '{c.OfferId}' already exists");
        }

        if (errors.Any)
        {
            return errors.ToRejection();
        }

        var account = s.Account(c.ProviderAccountId);
        if ((CanMove(account, c.ProviderAccountId) ?? Open(s, c.Bucket.Period)) is { } rejected)
        {
            return rejected;
        }

        if (account!.Kind != AccountKind.Provider)
        {
            return Reject(RejectionCodes.InvalidAccountKind, "offers are listed from provider accounts only");
        }

        if (Covers(s, account, c.Bucket, c.Hours) is { } short_)
        {
            return short_;
        }

        var listed = s.Book(c.Bucket.ResourceClass, c.Bucket.Period)?.NextListed ?? 1;
        s.Emit(c.OfferId, new OfferListed(c.OfferId, c.ProviderAccountId, c.Bucket, c.Hours, c.UnitPrice, c.MinHours, c.ValidUntil, listed, c.Now));
        s.Emit(c.Bucket.ResourceClass, c.Bucket.Period,
            new BookOfferAdded(c.OfferId, c.ProviderAccountId, c.Bucket.Region, c.UnitPrice, c.MinHours, c.Hours, listed, c.ValidUntil));
        s.Emit(c.ProviderAccountId, new HoursListed(c.OfferId, c.ProviderAccountId, c.Bucket, c.Hours, c.Now));
        return s.Accept(offerId: c.OfferId);
    }

    /// <summary>Withdraw (any time while on the book) or expiry (from validUntil on): what is left is released.</summary>
    private static Decision ClosingOffer(OperationId offerId, OfferCloseReason reason, Session s)
    {
        var offer = s.Offer(offerId);
        if (offer is null)
        {
            return Reject(RejectionCodes.OfferNotFound, $"offer '{offerId}' does not exist");
        }

        if (!offer.IsOnBook)
        {
            return Reject(RejectionCodes.OfferNotOpen, $"offer '{offerId}' is {offer.Status.ToString().ToLowerInvariant()}");
        }

        if (reason == OfferCloseReason.Expired && s.Now < offer.ValidUntil)
        {
            return new FieldErrors(s.Catalogue).Add("now", $"the offer is valid until {offer.ValidUntil:O}, not before").ToRejection();
        }

        // Releases happen on frozen accounts too (DOMAIN.md); a closed account has nothing pending to release.
        if (Exists(s.Account(offer.ProviderAccountId), offer.ProviderAccountId) is { } missing)
        {
            return missing;
        }

        s.Emit(offerId, new OfferClosed(s.OperationId, offerId, reason, offer.HoursLeft, s.Now));
        s.Emit(offer.Bucket.ResourceClass, offer.Bucket.Period, new BookOfferRemoved(s.OperationId, offerId));
        if (offer.HoursLeft.IsPositive)
        {
            s.Emit(offer.ProviderAccountId, new ListedHoursReleased(s.OperationId, offerId, offer.ProviderAccountId, offer.Bucket, offer.HoursLeft, s.Now));
        }

        return s.Accept(offerId: offerId);
    }

    private static Decision PlacingOrder(PlaceOrder c, Session s)
    {
        var errors = new FieldErrors(s.Catalogue).ResourceClass(c.ResourceClass, "resourceClass").Period(c.Period, "period")
            .Amount("hours", c.Hours).Price("maxUnitPrice", c.MaxUnitPrice);
        foreach (var region in c.Regions)
        {
            errors.Region(region, "regions");
        }

        if (c.PaymentWindowSeconds is < MinPaymentWindowSeconds or > MaxPaymentWindowSeconds)
        {
            errors.Add("paymentWindowSeconds", $"must be between {MinPaymentWindowSeconds} and {MaxPaymentWindowSeconds}");
        }

        if (c.OrderId.Value.Length > PlaceOrder.MaxOrderIdLength)
        {
            errors.Add("orderId", $"must be at most {PlaceOrder.MaxOrderIdLength} characters (its trades are numbered after it)");
        }

        if (errors.Any)
        {
            return errors.ToRejection();
        }

        var buyer = s.Account(c.BuyerAccountId);
        if ((CanMove(buyer, c.BuyerAccountId) ?? Open(s, c.Period)) is { } rejected)
        {
            return rejected;
        }

        if (buyer!.Kind != AccountKind.Consumer)
        {
            return Reject(RejectionCodes.InvalidAccountKind, "orders are placed from consumer accounts only");
        }

        switch (Matching(c, s.Book(c.ResourceClass, c.Period)))
        {
            case NoMatchingOffer:
                return Reject(RejectionCodes.NoMatchingOffer, $"no open offer of {c.ResourceClass} in {c.Period} fits the order");
            case InsufficientSupply insufficient:
                return Reject(RejectionCodes.InsufficientSupply, $"the book has {insufficient.Available} of the {c.Hours} asked for all or nothing");
            case Matched matched:
                return Filling(c, matched, s);
            default:
                throw new InvalidOperationException("unknown match outcome");
        }
    }

    private static Accepted Filling(PlaceOrder c, Matched matched, Session s)
    {
        var payBy = c.Now.AddSeconds(c.PaymentWindowSeconds);
        var trades = new List<TradeState>();
        for (var n = 1; n <= matched.Fills.Count; n++)
        {
            var fill = matched.Fills[n - 1];
            var offer = s.Offer(fill.Offer.OfferId)!;
            var tradeId = c.TradeId(n);
            s.Emit(tradeId, new TradeOpened(tradeId, c.OrderId, offer.OfferId, c.BuyerAccountId, offer.ProviderAccountId, offer.Bucket,
                fill.Hours, offer.UnitPrice, fill.Amount, payBy, c.Now));
            s.Emit(offer.OfferId, new OfferHoursTraded(c.OrderId, offer.OfferId, tradeId, fill.Hours, c.Now));
            s.Emit(c.ResourceClass, c.Period, new BookOfferTaken(c.OrderId, offer.OfferId, tradeId, fill.Hours));
            trades.Add(s.Trade(tradeId)!);
        }

        s.Touch(c.BuyerAccountId, []);
        return s.Accept(order: new OrderOutcome(c.OrderId, matched.Complete, matched.HoursFilled, trades));
    }

    private static Decision PayingTrade(PayTrade c, Session s)
    {
        var errors = new FieldErrors(s.Catalogue).Text(c.PaymentReference, "paymentReference", PayTrade.MaxReferenceLength, required: true);
        if (decimal.Round(c.Amount, 2) != c.Amount || c.Amount <= 0)
        {
            errors.Add("amount", "must be greater than zero with at most 2 decimals");
        }

        if (errors.Any)
        {
            return errors.ToRejection();
        }

        var trade = s.Trade(c.TradeId);
        if ((AwaitingPayment(c.TradeId, trade, s) ?? ReferenceFree(c, s)) is { } refused)
        {
            return refused;
        }

        if (c.Amount != trade!.Amount || !string.Equals(c.Currency, "CNY", StringComparison.Ordinal))
        {
            return Reject(RejectionCodes.PaymentAmountMismatch, $"trade '{c.TradeId}' is {trade.Amount:0.00} CNY, the payment {c.Amount:0.00} {c.Currency}");
        }

        if ((CanMove(s.Account(trade.SellerAccountId), trade.SellerAccountId) ?? CanMove(s.Account(trade.BuyerAccountId), trade.BuyerAccountId) ??
             Open(s, trade.Bucket.Period)) is { } rejected)
        {
            return rejected;
        }

        var settlement = new Settlement(c.Amount, c.Currency, c.Rail, c.PaymentReference);
        s.Emit(c.PaymentReference, new PaymentRecorded(c.PaymentReference, c.TradeId, c.Amount, c.Currency, c.Rail, c.Now));
        s.Emit(c.TradeId, new TradeSettled(c.OperationId, c.TradeId, settlement, c.Now));
        s.Emit(trade.OfferId, new OfferHoursSold(c.OperationId, trade.OfferId, c.TradeId, trade.Hours, c.Now));
        s.Emit(trade.SellerAccountId, new MarketSaleSettled(c.OperationId, c.TradeId, trade.SellerAccountId, trade.BuyerAccountId, trade.Bucket,
            trade.Hours, settlement, [new Posting(trade.SellerAccountId, trade.Bucket, -trade.Hours)], c.Now));
        s.Emit(trade.BuyerAccountId, new CreditsTransferredIn(c.OperationId, trade.BuyerAccountId, trade.SellerAccountId, trade.Bucket, trade.Hours,
            settlement, [new Posting(trade.BuyerAccountId, trade.Bucket, trade.Hours)], c.Now));
        return s.Accept(tradeId: c.TradeId);
    }

    /// <summary>
    /// Cancel (by the buyer, before payBy) or expiry (from payBy on): the trade ends unpaid, and its hours go back to the
    /// offer when it is still on the book and valid, else they are released on the provider's account.
    /// </summary>
    private static Decision UndoingTrade(OperationId tradeId, TradeUndoReason reason, Session s)
    {
        var trade = s.Trade(tradeId);
        if (trade is null)
        {
            return Reject(RejectionCodes.TradeNotFound, $"trade '{tradeId}' does not exist");
        }

        if (trade.Status != TradeStatus.AwaitingPayment)
        {
            return Reject(RejectionCodes.TradeNotAwaitingPayment, $"trade '{tradeId}' is {trade.Status.ToString().ToLowerInvariant()}");
        }

        if (reason == TradeUndoReason.Cancelled && s.Now >= trade.PayBy)
        {
            return Reject(RejectionCodes.TradeExpired, $"trade '{tradeId}' had to be paid by {trade.PayBy:O}");
        }

        if (reason == TradeUndoReason.Expired && s.Now < trade.PayBy)
        {
            return new FieldErrors(s.Catalogue).Add("now", $"the trade is due at {trade.PayBy:O}, not before").ToRejection();
        }

        var offer = s.Offer(trade.OfferId)!;
        var returned = offer.IsOnBook && s.Now < offer.ValidUntil;
        s.Emit(tradeId, new TradeUndone(s.OperationId, tradeId, reason, returned, s.Now));
        s.Emit(offer.OfferId, new OfferTradeUndone(s.OperationId, offer.OfferId, tradeId, trade.Hours, returned, s.Now));
        if (returned)
        {
            s.Emit(offer.Bucket.ResourceClass, offer.Bucket.Period, new BookOfferReturned(s.OperationId, offer.OfferId, tradeId, trade.Hours));
        }
        else
        {
            s.Emit(trade.SellerAccountId, new ListedHoursReleased(s.OperationId, offer.OfferId, trade.SellerAccountId, trade.Bucket, trade.Hours, s.Now));
        }

        return s.Accept(tradeId: tradeId);
    }

    // A trade that may still be paid: it exists, awaits payment, and payBy has not come.
    private static Rejected? AwaitingPayment(OperationId tradeId, TradeState? trade, Session s) =>
        trade is null ? Reject(RejectionCodes.TradeNotFound, $"trade '{tradeId}' does not exist")
        : trade.Status == TradeStatus.Expired ? Reject(RejectionCodes.TradeExpired, $"trade '{tradeId}' expired at {trade.PayBy:O} unpaid; nothing is recorded")
        : trade.Status != TradeStatus.AwaitingPayment ? Reject(RejectionCodes.TradeNotAwaitingPayment, $"trade '{tradeId}' is {trade.Status.ToString().ToLowerInvariant()}")
        : s.Now >= trade.PayBy ? Reject(RejectionCodes.TradeExpired, $"trade '{tradeId}' had to be paid by {trade.PayBy:O}; nothing is recorded")
        : null;

    // A payment reference pays one trade: used on another one, it is a conflict.
    private static Rejected? ReferenceFree(PayTrade c, Session s) =>
        s.Payment(c.PaymentReference) is { } paid && paid.TradeId != c.TradeId
            ? new Rejected(RejectionCodes.PaymentReferenceConflict, $"payment reference '{c.PaymentReference}' already paid trade '{paid.TradeId}'")
            : null;

    /// <summary>The match of an order against its book as it stands (an empty book when none was ever listed).</summary>
    private static MatchOutcome Matching(PlaceOrder c, BookState? book) =>
        MarketMatching.Match(
            book?.Offers.Values ?? [],
            new OrderTerms(c.Hours, c.Regions.ToHashSet(), c.MaxUnitPrice, c.AllOrNothing),
            c.Now);
}
