using System.Numerics;
using ComputeBank.Domain.Market;
using FsCheck;
using FsCheck.Fluent;

namespace ComputeBank.Domain.Tests.Market;

public sealed class MatchingTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 10, 0, 0, TimeSpan.Zero);
    private static readonly IReadOnlySet<Region> Anywhere = new HashSet<Region>();

    [Fact]
    public void GivenOffersAtSeveralPrices_WhenMatching_ThenTheCheapestIsTakenFirstAndEarlierListedBeforeLaterAtOnePrice()
    {
        var book = new[]
        {
            Offer("late-cheap", "beijing", 2.00m, "10", listed: 3),
            Offer("dear", "beijing", 3.00m, "10", listed: 1),
            Offer("early-cheap", "shanghai", 2.00m, "4", listed: 2),
        };

        var matched = Assert.IsType<Matched>(MarketMatching.Match(book, Order("12", maxPrice: 5m), Now));

        Assert.Equal(["early-cheap:4.000", "late-cheap:8.000"], Describe(matched));
        Assert.True(matched.Complete);
        Assert.Equal(Hours.Parse("12"), matched.HoursFilled);
        Assert.Equal([8.00m, 16.00m], matched.Fills.Select(f => f.Amount));
    }

    [Fact]
    public void GivenRegions_WhenMatching_ThenOnlyOffersInThoseRegionsTrade()
    {
        var book = new[] { Offer("bj", "beijing", 1.00m, "5", 1), Offer("sh", "shanghai", 2.00m, "5", 2), Offer("tj", "tianjin", 3.00m, "5", 3) };

        var matched = Assert.IsType<Matched>(MarketMatching.Match(book, Order("8", 9m, regions: ["shanghai", "tianjin"]), Now));

        Assert.Equal(["sh:5.000", "tj:3.000"], Describe(matched));
    }

    [Fact]
    public void GivenAnOfferWhoseMinimumExceedsWhatIsStillWanted_WhenMatching_ThenItIsSkippedForTheNext()
    {
        var book = new[] { Offer("big-minimum", "beijing", 1.00m, "100", 1, minHours: "10"), Offer("small", "beijing", 2.00m, "100", 2) };

        var matched = Assert.IsType<Matched>(MarketMatching.Match(book, Order("6", 9m), Now));

        Assert.Equal(["small:6.000"], Describe(matched));
    }

    [Fact]
    public void GivenAMinimumAboveWhatIsLeftToFill_WhenMatching_ThenThatOfferIsSkippedAfterEarlierFills()
    {
        var book = new[]
        {
            Offer("cheap", "beijing", 1.00m, "8", 1),
            Offer("minimum-5", "beijing", 2.00m, "100", 2, minHours: "5"),
            Offer("dear", "beijing", 3.00m, "100", 3),
        };

        var matched = Assert.IsType<Matched>(MarketMatching.Match(book, Order("12", 9m), Now));

        Assert.Equal(["cheap:8.000", "dear:4.000"], Describe(matched));
    }

    [Fact]
    public void GivenAnOfferAtExactlyTheMaximumPrice_WhenMatching_ThenItTrades()
    {
        var matched = Assert.IsType<Matched>(MarketMatching.Match([Offer("at-max", "beijing", 5.00m, "1", 1)], Order("1", 5.00m), Now));

        Assert.Equal(["at-max:1.000"], Describe(matched));
    }

    [Fact]
    public void GivenTheLastHoursOfAnOfferUnderItsMinimum_WhenMatching_ThenTheyAreSoldWhole()
    {
        var book = new[] { Offer("remnant", "beijing", 1.00m, "2", 1, minHours: "5") };

        var matched = Assert.IsType<Matched>(MarketMatching.Match(book, Order("6", 9m), Now));

        Assert.Equal(["remnant:2.000"], Describe(matched));
        Assert.False(matched.Complete);
    }

    [Fact]
    public void GivenTooLittleSupply_WhenMatchingAllOrNothing_ThenInsufficientSupplyAndWithoutItWhatThereIs()
    {
        var book = new[] { Offer("a", "beijing", 1.00m, "3", 1), Offer("b", "beijing", 1.50m, "4", 2) };

        Assert.Equal(new InsufficientSupply(Hours.Parse("7")), MarketMatching.Match(book, Order("10", 9m, allOrNothing: true), Now));
        var partial = Assert.IsType<Matched>(MarketMatching.Match(book, Order("10", 9m), Now));
        Assert.Equal(["a:3.000", "b:4.000"], Describe(partial));
        Assert.False(partial.Complete);
    }

    [Fact]
    public void GivenOnlyOffersTooDearExpiredOrEmpty_WhenMatching_ThenNoMatchingOffer()
    {
        var book = new[]
        {
            Offer("dear", "beijing", 5.01m, "10", 1),
            Offer("expired", "beijing", 1.00m, "10", 2, validUntil: Now),
            Offer("empty", "beijing", 1.00m, "0", 3),
        };

        Assert.IsType<NoMatchingOffer>(MarketMatching.Match(book, Order("1", 5m), Now));
        Assert.IsType<NoMatchingOffer>(MarketMatching.Match([], Order("1", 5m, allOrNothing: true), Now));
    }

    [Theory]
    [InlineData("1", "12.50", "12.50")]
    [InlineData("0.001", "0.01", "0.00")]
    [InlineData("0.5", "0.01", "0.01")]
    [InlineData("0.001", "5.00", "0.01")]
    [InlineData("1.001", "0.05", "0.05")]
    [InlineData("2.345", "3.33", "7.81")]
    [InlineData("1000000000", "1000000000.00", "1000000000000000000.00")]
    public void GivenHoursAndAUnitPrice_WhenPricingATrade_ThenTheAmountIsRoundedHalfAwayFromZeroToFen(string hours, string unitPrice, string amount)
    {
        Assert.Equal(decimal.Parse(amount, System.Globalization.CultureInfo.InvariantCulture),
            TradeAmount.Of(Hours.Parse(hours), decimal.Parse(unitPrice, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1.00")]
    [InlineData("1.005")]
    [InlineData("1000000000.01")]
    public void GivenAUnitPriceOutOfRule_WhenPricing_ThenItIsRefused(string unitPrice)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            TradeAmount.Of(Hours.Parse("1"), decimal.Parse(unitPrice, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void GivenRandomHoursAndPrices_WhenPricing_ThenTheAmountIsTheExactProductRoundedHalfAwayFromZero()
    {
        var inputs = from a in Gen.Choose(1, int.MaxValue)
                     from b in Gen.Choose(1, 400)
                     from fen in Gen.Choose(1, int.MaxValue)
                     select (milli: (long)a * b, fen);
        Prop.ForAll(Arb.From(inputs), input =>
        {
            // Integer arithmetic, independent of decimal: milli-hours x fen is the amount in thousandths of a fen.
            var thousandths = new BigInteger(input.milli) * input.fen;
            var expectedFen = (thousandths + 500) / 1000;
            var amount = TradeAmount.Of(new Hours(input.milli), input.fen / 100m);
            Assert.Equal(expectedFen, new BigInteger(amount * 100));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void GivenRandomBooksAndOrders_WhenMatching_ThenFillsAreEligibleInPriceTimeOrderAndNeverOversell()
    {
        Prop.ForAll(Arb.From(Cases()), c =>
        {
            var outcome = MarketMatching.Match(c.Book, c.Order, Now);
            var eligible = MarketMatching.Eligible(c.Book, c.Order, Now).ToList();

            // Eligibility as MARKET.md states it, restated here rather than taken from the code under test.
            Assert.Equal(
                c.Book.Where(o => o.HoursLeft.IsPositive && o.ValidUntil > Now && o.UnitPrice <= c.Order.MaxUnitPrice &&
                                  (c.Order.Regions.Count == 0 || c.Order.Regions.Contains(o.Region)))
                    .Select(o => o.OfferId).Order(),
                eligible.Select(o => o.OfferId).Order());
            Assert.True(eligible.Zip(eligible.Skip(1)).All(p => p.First.UnitPrice < p.Second.UnitPrice ||
                                                              (p.First.UnitPrice == p.Second.UnitPrice && p.First.Listed < p.Second.Listed)));
            var plain = MarketMatching.Match(c.Book, c.Order with { AllOrNothing = false }, Now);
            switch (outcome)
            {
                case NoMatchingOffer:
                    Assert.IsType<NoMatchingOffer>(plain);
                    Assert.All(eligible, o => Assert.True(o.MinHours > c.Order.Hours));
                    break;
                case InsufficientSupply short_:
                    Assert.True(c.Order.AllOrNothing);
                    var partial = Assert.IsType<Matched>(plain);
                    Assert.False(partial.Complete);
                    Assert.Equal(partial.HoursFilled, short_.Available);
                    break;
                case Matched matched:
                    Assert.True(!c.Order.AllOrNothing || matched.Complete);
                    CheckFills(c, matched, eligible);
                    break;
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(2000));
    }

    private static void CheckFills((BookOffer[] Book, OrderTerms Order) c, Matched matched, List<BookOffer> eligible)
    {
        var wanted = c.Order.Hours;
        var taken = new Dictionary<OperationId, Hours>();
        var rank = eligible.Select((o, i) => (o.OfferId, i)).ToDictionary(x => x.OfferId, x => x.i);
        var lastRank = -1;
        foreach (var fill in matched.Fills)
        {
            // Eligible, in matching order, each offer once, within what it has left and what is still wanted.
            Assert.True(rank.TryGetValue(fill.Offer.OfferId, out var r), "a fill from an offer the order may not take");
            Assert.True(r > lastRank, "fills out of price-time order");
            Assert.True(fill.Hours.IsPositive && fill.Hours <= fill.Offer.HoursLeft && fill.Hours <= wanted);
            Assert.True(fill.Hours >= fill.Offer.MinHours || fill.Hours == fill.Offer.HoursLeft, "a fill under the offer's minimum that does not empty it");
            Assert.Equal(TradeAmount.Of(fill.Hours, fill.Offer.UnitPrice), fill.Amount);

            // Every better offer was emptied, or skipped because its minimum exceeded what was still wanted.
            foreach (var better in eligible.Take(r).Where(b => !taken.ContainsKey(b.OfferId)))
            {
                Assert.True(better.MinHours > wanted, $"{better.OfferId} was passed over for {fill.Offer.OfferId}");
            }

            Assert.True(taken.TryAdd(fill.Offer.OfferId, fill.Hours));
            Assert.True(fill.Hours == fill.Offer.HoursLeft || fill.Hours == wanted, "an offer left with hours while the order still wanted some");
            wanted -= fill.Hours;
            lastRank = r;
        }

        Assert.Equal(c.Order.Hours - wanted, matched.HoursFilled);
        Assert.Equal(wanted.IsZero, matched.Complete);
        if (!matched.Complete)
        {
            // What the order did not get, no offer it skipped could have given.
            Assert.All(eligible.Where(o => !taken.ContainsKey(o.OfferId)), o => Assert.True(o.MinHours > wanted));
        }
    }

    private static Gen<(BookOffer[] Book, OrderTerms Order)> Cases()
    {
        string[] regions = ["beijing", "shanghai", "tianjin"];
        var offer = from region in Gen.Elements(regions)
                    from price in Gen.Elements(1.00m, 1.50m, 2.00m, 2.01m, 3.33m)
                    from left in Gen.Choose(0, 20_000)
                    from minimum in Gen.Frequency((3, Gen.Constant(1)), (1, Gen.Choose(1, 15_000)))
                    from valid in Gen.Frequency((5, Gen.Constant(true)), (1, Gen.Constant(false)))
                    select (region, price, left, minimum, valid);
        var book = Gen.Choose(0, 12).SelectMany(n => Gen.ArrayOf(offer, n)).Select(offers => offers.Select((o, i) => new BookOffer(
            OperationId.Parse($"offer-{i}"), AccountId.Parse($"provider-{i % 3}"), Region.Parse(o.region), o.price,
            new Hours(o.minimum), new Hours(o.left), Listed: (i * 7919) % 101, o.valid ? Now.AddHours(1) : Now.AddSeconds(-1))).ToArray());
        var order = from hours in Gen.Choose(1, 40_000)
                    from maxPrice in Gen.Elements(1.00m, 1.99m, 2.00m, 5.00m)
                    from wanted in Gen.SubListOf(regions)
                    from allOrNothing in ArbMap.Default.GeneratorFor<bool>()
                    select new OrderTerms(new Hours(hours), wanted.Select(Region.Parse).ToHashSet(), maxPrice, allOrNothing);
        return from b in book from o in order select (b, o);
    }

    private static BookOffer Offer(string id, string region, decimal price, string hoursLeft, long listed, string minHours = "0.001", DateTimeOffset? validUntil = null) =>
        new(OperationId.Parse(id), AccountId.Parse("provider-" + id), Region.Parse(region), price, Hours.Parse(minHours), Hours.Parse(hoursLeft),
            listed, validUntil ?? Now.AddDays(1));

    private static OrderTerms Order(string hours, decimal maxPrice, string[]? regions = null, bool allOrNothing = false) =>
        new(Hours.Parse(hours), regions is null ? Anywhere : regions.Select(Region.Parse).ToHashSet(), maxPrice, allOrNothing);

    private static string[] Describe(Matched matched) => [.. matched.Fills.Select(f => $"{f.Offer.OfferId}:{f.Hours}")];
}
