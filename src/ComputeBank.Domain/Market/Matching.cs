namespace ComputeBank.Domain.Market;

/// <summary>
/// An open offer as the book shows it to matching: who sells, where the hours sit, at what price, and what is left.
/// <paramref name="Listed"/> is the offer's place in time (the book's listing counter): earlier listed, earlier served
/// at the same price.
/// </summary>
public sealed record BookOffer(
    OperationId OfferId, AccountId ProviderAccountId, Region Region, decimal UnitPrice, Hours MinHours, Hours HoursLeft,
    long Listed, DateTimeOffset ValidUntil);

/// <summary>What an order asks of the book: hours of its class and period in any of <paramref name="Regions"/> (empty:
/// every region), at most <paramref name="MaxUnitPrice"/> per hour, all of them or what there is.</summary>
public sealed record OrderTerms(Hours Hours, IReadOnlySet<Region> Regions, decimal MaxUnitPrice, bool AllOrNothing);

/// <summary>One trade an order makes: <paramref name="Hours"/> from one offer at its price, and what they cost.</summary>
public sealed record Fill(BookOffer Offer, Hours Hours, decimal Amount);

/// <summary>The outcome of matching an order against the book.</summary>
public abstract record MatchOutcome
{
    private protected MatchOutcome()
    {
    }
}

/// <summary>The order takes <see cref="Fills"/>, in matching order; <see cref="Complete"/> when it got every hour asked.</summary>
public sealed record Matched(IReadOnlyList<Fill> Fills, Hours HoursFilled, bool Complete) : MatchOutcome;

/// <summary>Nothing in the book fits: no offer in the regions, at or under the price, whose minimum the order meets.</summary>
public sealed record NoMatchingOffer : MatchOutcome;

/// <summary>An all-or-nothing order the book can fill only in part (<see cref="Available"/> of what was asked).</summary>
public sealed record InsufficientSupply(Hours Available) : MatchOutcome;

/// <summary>
/// Price-time priority over a book: the lowest unit price first, then the earliest listed. Pure: the caller holds the
/// book (one stream per resource class and period, locked for the decision), so two orders decided one after the other
/// never take the same hours.
/// </summary>
public static class MarketMatching
{
    /// <summary>
    /// Matches <paramref name="order"/> against <paramref name="book"/> at <paramref name="now"/>. An offer takes part
    /// when it is valid at <paramref name="now"/>, has hours left, sits in an allowed region and asks no more than the
    /// order's maximum price. Walking them in matching order, an offer whose minimum per trade exceeds what the order
    /// still wants is skipped; otherwise the order takes what it still wants, or all the offer has left (which may then
    /// be under the offer's minimum: the rest of an offer is always sold whole).
    /// </summary>
    public static MatchOutcome Match(IEnumerable<BookOffer> book, OrderTerms order, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(book);
        ArgumentNullException.ThrowIfNull(order);
        if (!order.Hours.IsPositive)
        {
            throw new ArgumentOutOfRangeException(nameof(order), order.Hours, "an order asks for a positive number of hours");
        }

        var fills = new List<Fill>();
        var wanted = order.Hours;
        foreach (var offer in Eligible(book, order, now))
        {
            if (wanted.IsZero)
            {
                break;
            }

            if (offer.MinHours > wanted)
            {
                continue;
            }

            var hours = offer.HoursLeft < wanted ? offer.HoursLeft : wanted;
            fills.Add(new Fill(offer, hours, TradeAmount.Of(hours, offer.UnitPrice)));
            wanted -= hours;
        }

        var filled = order.Hours - wanted;
        if (fills.Count == 0)
        {
            return new NoMatchingOffer();
        }

        return order.AllOrNothing && !wanted.IsZero ? new InsufficientSupply(filled) : new Matched(fills, filled, wanted.IsZero);
    }

    /// <summary>The offers an order may take from, in matching order: unit price, then listing, then offer id (a
    /// tie-break that never decides in a consistent book, where listings are distinct).</summary>
    public static IEnumerable<BookOffer> Eligible(IEnumerable<BookOffer> book, OrderTerms order, DateTimeOffset now) =>
        book.Where(o => o.HoursLeft.IsPositive && now < o.ValidUntil && o.UnitPrice <= order.MaxUnitPrice &&
                        (order.Regions.Count == 0 || order.Regions.Contains(o.Region)))
            .OrderBy(o => o.UnitPrice)
            .ThenBy(o => o.Listed)
            .ThenBy(o => o.OfferId);
}

/// <summary>What hours cost at a unit price: hours x unit price in CNY, rounded to 2 decimals, half away from zero.</summary>
public static class TradeAmount
{
    /// <summary>The most CNY one hour may be listed at (keeps every amount exact in <see cref="decimal"/>).</summary>
    public const decimal MaxUnitPrice = 1_000_000_000m;

    public static decimal Of(Hours hours, decimal unitPrice)
    {
        if (unitPrice <= 0 || unitPrice > MaxUnitPrice || decimal.Round(unitPrice, 2) != unitPrice)
        {
            throw new ArgumentOutOfRangeException(nameof(unitPrice), unitPrice, "a unit price is positive, at most 1,000,000,000 and has at most 2 decimals");
        }

        // Milli-hours times fen is an integer: at most 1e12 x 1e11, well inside decimal's 28 digits.
        var exact = hours.MilliHours * unitPrice / 1000m;
        return decimal.Round(exact, 2, MidpointRounding.AwayFromZero);
    }
}
