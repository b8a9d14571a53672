using ComputeBank.Domain.Accounts;
using ComputeBank.Domain.Market;
using FsCheck;
using FsCheck.Fluent;

namespace ComputeBank.Domain.Tests.Market;

/// <summary>
/// Random sequences of listings, orders, payments, cancels, withdrawals and deadlines, with the clock moving on; after
/// every step the hours of MARKET.md's invariants 1, 2, 3 and 5 are accounted for and double entry holds.
/// </summary>
public sealed class MarketProperties
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private static readonly string[] Providers = ["p1", "p2"];
    private static readonly string[] Regions = ["beijing", "shanghai"];

    private abstract record Step;

    private sealed record ListStep(int Provider, int Region, int Hours, int PriceFen, int MinHours, int ValidMinutes) : Step;

    private sealed record OrderStep(int Hours, int MaxPriceFen, bool AllOrNothing, int WindowSeconds) : Step;

    private sealed record PayStep(int Trade, bool RightAmount) : Step;

    private sealed record CancelStep(int Trade) : Step;

    private sealed record ExpireTradeStep(int Trade) : Step;

    private sealed record WithdrawStep(int Offer) : Step;

    private sealed record ExpireOfferStep(int Offer) : Step;

    private sealed record WaitStep(int Seconds) : Step;

    [Fact]
    public void GivenRandomMarketActivity_WhenEveryStepIsDecided_ThenEveryHourIsAccountedFor()
    {
        var step = Gen.OneOf(
            from p in Gen.Choose(0, 1) from r in Gen.Choose(0, 1) from h in Gen.Choose(1, 40) from f in Gen.Elements(100, 150, 200, 333)
            from m in Gen.Choose(1, 5) from v in Gen.Choose(1, 30) select (Step)new ListStep(p, r, h, f, m, v),
            from h in Gen.Choose(1, 60) from f in Gen.Elements(100, 199, 200, 500) from a in ArbMap.Default.GeneratorFor<bool>()
            from w in Gen.Choose(30, 600) select (Step)new OrderStep(h, f, a, w),
            from t in Gen.Choose(0, 20) from ok in Gen.Frequency((4, Gen.Constant(true)), (1, Gen.Constant(false))) select (Step)new PayStep(t, ok),
            Gen.Choose(0, 20).Select(t => (Step)new CancelStep(t)),
            Gen.Choose(0, 20).Select(t => (Step)new ExpireTradeStep(t)),
            Gen.Choose(0, 10).Select(o => (Step)new WithdrawStep(o)),
            Gen.Choose(0, 10).Select(o => (Step)new ExpireOfferStep(o)),
            Gen.Choose(1, 900).Select(s => (Step)new WaitStep(s)));

        Prop.ForAll(Arb.From(Gen.ListOf(step, 60).Select(l => l.ToList())), steps => Run(steps)).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    private static void Run(List<Step> steps)
    {
        var model = new LedgerModel(LedgerCatalogue.Default, snapshotThroughJson: false);
        var now = T0;
        var offers = new List<OperationId>();
        var trades = new List<OperationId>();
        var ended = new Dictionary<OperationId, TradeState>();
        Submit(model, new OpenAccount(Op("open-c"), Id("c"), "sme", AccountKind.Consumer, null, now));
        foreach (var provider in Providers)
        {
            Submit(model, new OpenAccount(Op("open-" + provider), Id(provider), provider, AccountKind.Provider, null, now));
            foreach (var region in Regions)
            {
                Submit(model, new DepositCapacity(Op($"deposit-{provider}-{region}"), Id(provider), Bucket(region), Hours.Parse("100"), null, now));
            }
        }

        for (var i = 0; i < steps.Count; i++)
        {
            var op = Op($"s{i}");
            LedgerCommand? command = steps[i] switch
            {
                ListStep l => new ListOffer(op, Id(Providers[l.Provider]), Bucket(Regions[l.Region]), Hours.FromWholeHours(l.Hours), l.PriceFen / 100m,
                    Hours.FromWholeHours(Math.Min(l.MinHours, l.Hours)), now.AddMinutes(l.ValidMinutes), now),
                OrderStep o => new PlaceOrder(op, Id("c"), ResourceClass.Parse("gpu.h100"), Period.Parse("2026-11"), [], Hours.FromWholeHours(o.Hours),
                    o.MaxPriceFen / 100m, o.AllOrNothing, o.WindowSeconds, now),
                PayStep p when p.Trade < trades.Count => new PayTrade(op, trades[p.Trade], $"ref-{i}",
                    Trade(model, trades[p.Trade]).Amount + (p.RightAmount ? 0 : 0.01m), "CNY", SettlementRail.ECny, now),
                CancelStep c when c.Trade < trades.Count => new CancelTrade(op, trades[c.Trade], now),
                ExpireTradeStep e when e.Trade < trades.Count => new ExpireTrade(op, trades[e.Trade], now),
                WithdrawStep w when w.Offer < offers.Count => new WithdrawOffer(op, offers[w.Offer], now),
                ExpireOfferStep e when e.Offer < offers.Count => new ExpireOffer(op, offers[e.Offer], now),
                _ => null,
            };

            if (steps[i] is WaitStep wait)
            {
                now = now.AddSeconds(wait.Seconds);
            }

            if (command is not null && Submit(model, command) is { Order: { } order })
            {
                trades.AddRange(order.Trades.Select(t => t.TradeId));
            }

            if (command is ListOffer listed && model.State(StreamIds.Offer(listed.OfferId)) is not null)
            {
                offers.Add(listed.OfferId);
            }

            Check(model, offers, trades, ended);
        }
    }

    private static void Check(LedgerModel model, List<OperationId> offers, List<OperationId> trades, Dictionary<OperationId, TradeState> ended)
    {
        var openTrades = trades.Select(t => Trade(model, t)).Where(t => t.Status == TradeStatus.AwaitingPayment).ToList();
        foreach (var offer in offers.Select(o => (OfferState)model.State(StreamIds.Offer(o))!))
        {
            // 1 and 5: every listed hour is left, in a trade, sold or released, and none of those is negative.
            Assert.Equal(offer.HoursListed, offer.HoursLeft + offer.HoursInTrades + offer.HoursSold + offer.HoursReleased);
            Assert.False(offer.HoursLeft.IsNegative || offer.HoursInTrades.IsNegative || offer.HoursSold.IsNegative || offer.HoursReleased.IsNegative);
            Assert.Equal(openTrades.Where(t => t.OfferId == offer.OfferId).Aggregate(Hours.Zero, (sum, t) => sum + t.Hours), offer.HoursInTrades);
            var onBook = ((BookState?)model.State(StreamIds.Book(offer.Bucket.ResourceClass, offer.Bucket.Period)))?.Offers.GetValueOrDefault(offer.OfferId);
            Assert.Equal(offer.IsOnBook, onBook is not null);
            Assert.True(onBook is null || onBook.HoursLeft == offer.HoursLeft);
        }

        // 2: a provider's pending hours are its offers' hours left plus its open trades' hours.
        foreach (var provider in Providers)
        {
            var account = (AccountState)model.State(StreamIds.Account(Id(provider)))!;
            foreach (var region in Regions)
            {
                var bucket = Bucket(region);
                var left = offers.Select(o => (OfferState)model.State(StreamIds.Offer(o))!)
                    .Where(o => o.ProviderAccountId == Id(provider) && o.Bucket == bucket && o.IsOnBook)
                    .Aggregate(Hours.Zero, (sum, o) => sum + o.HoursLeft);
                var inTrades = openTrades.Where(t => t.SellerAccountId == Id(provider) && t.Bucket == bucket).Aggregate(Hours.Zero, (sum, t) => sum + t.Hours);
                Assert.Equal(left + inTrades, account.Balance(bucket).Pending);
                Assert.False(account.Available(bucket).IsNegative);
            }
        }

        // 3: a trade ends once and stays as it ended; none is settled at or after its payBy.
        foreach (var trade in trades.Select(t => Trade(model, t)).Where(t => t.Status != TradeStatus.AwaitingPayment))
        {
            Assert.Equal(ended.GetValueOrDefault(trade.TradeId, trade), trade);
            ended[trade.TradeId] = trade;
            Assert.True(trade.Status != TradeStatus.Settled || trade.EndedAt < trade.PayBy);
        }

        // Double entry over every event so far.
        Assert.Equal(0, model.Events.Select(e => e.Event).OfType<IHasPostings>().SelectMany(e => e.Postings).Sum(p => p.Amount.MilliHours));
    }

    private static OperationOutcome? Submit(LedgerModel model, LedgerCommand command) =>
        model.Submit(command).Decision is Accepted accepted ? accepted.Outcome : null;

    private static TradeState Trade(LedgerModel model, OperationId tradeId) => (TradeState)model.State(StreamIds.Trade(tradeId))!;

    private static Bucket Bucket(string region) => Domain.Bucket.Of("gpu.h100", region, "2026-11");

    private static OperationId Op(string id) => OperationId.Parse(id);

    private static AccountId Id(string id) => AccountId.Parse(id);
}
