using ComputeBank.Domain.Accounts;
using ComputeBank.Domain.Market;

namespace ComputeBank.Domain.Tests.Market;

/// <summary>Offers and orders through the ledger's facade, as the bus runs them: loading rounds, decisions, folds.</summary>
public sealed class MarketLedgerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private static readonly Bucket Beijing = Bucket.Of("gpu.h100", "beijing", "2026-11");
    private static readonly Bucket Shanghai = Bucket.Of("gpu.h100", "shanghai", "2026-11");

    private readonly LedgerModel _model = new(LedgerCatalogue.Default);

    public MarketLedgerTests()
    {
        Accept(new OpenAccount(Op("o-p1"), Id("p1"), "acme", AccountKind.Provider, null, T0));
        Accept(new OpenAccount(Op("o-p2"), Id("p2"), "bright", AccountKind.Provider, null, T0));
        Accept(new OpenAccount(Op("o-c"), Id("c"), "sme", AccountKind.Consumer, null, T0));
        Accept(new DepositCapacity(Op("d1"), Id("p1"), Beijing, Hours.Parse("100"), null, T0));
        Accept(new DepositCapacity(Op("d2"), Id("p2"), Shanghai, Hours.Parse("100"), null, T0));
    }

    [Fact]
    public void GivenAProviderWithCapacity_WhenListingAnOffer_ThenTheHoursArePendingAndTheOfferIsOnTheBook()
    {
        var outcome = Accept(List("offer-1", "p1", Beijing, "30", 2.50m));

        var balance = Assert.Single(Assert.Single(outcome.Accounts).Buckets);
        Assert.Equal((Hours.Parse("100"), Hours.Parse("30"), Hours.Parse("70")), (balance.Posted, balance.Pending, balance.Available));
        Assert.Equal(OfferStatus.Open, outcome.Offer!.Offer.Status);
        var book = (BookState)_model.State(StreamIds.Book(Beijing.ResourceClass, Beijing.Period))!;
        var entry = Assert.Single(book.Offers.Values);
        Assert.Equal((Op("offer-1"), Hours.Parse("30"), 1L), (entry.OfferId, entry.HoursLeft, entry.Listed));
        Assert.Equal(2, book.NextListed);
    }

    [Theory]
    [InlineData("150", 2.50, "0.001", 60, "insufficient_credits")]
    [InlineData("30", 2.505, "0.001", 60, "validation_failed")]
    [InlineData("30", 0, "0.001", 60, "validation_failed")]
    [InlineData("30", 2.50, "31", 60, "validation_failed")]
    [InlineData("30", 2.50, "0.001", 0, "validation_failed")]
    public void GivenAnOfferOutOfRule_WhenListing_ThenRefusedAndNothingChanges(string hours, double price, string minHours, int validMinutes, string code)
    {
        var before = _model.Events.Count;

        var rejected = Reject(List("offer-x", "p1", Beijing, hours, (decimal)price, minHours, T0.AddMinutes(validMinutes)));

        Assert.Equal(code, rejected.Code);
        Assert.Equal(before, _model.Events.Count);
    }

    [Fact]
    public void GivenAConsumerAccount_WhenListing_ThenInvalidAccountKind()
    {
        Assert.Equal(RejectionCodes.InvalidAccountKind, Reject(List("offer-c", "c", Beijing, "1", 1m)).Code);
    }

    [Fact]
    public void GivenOffersInTwoRegions_WhenAnOrderSpansThem_ThenOneTradePerOfferAtItsPriceAndTheBookShrinks()
    {
        Accept(List("cheap-sh", "p2", Shanghai, "10", 2.00m));
        Accept(List("dear-bj", "p1", Beijing, "50", 3.00m));

        var order = Accept(Order("order-1", "25", maxPrice: 3.00m)).Order!;

        Assert.True(order.Filled);
        Assert.Equal(Hours.Parse("25"), order.HoursFilled);
        Assert.Equal(
            [("order-1.1", "cheap-sh", "p2", "10.000", 20.00m), ("order-1.2", "dear-bj", "p1", "15.000", 45.00m)],
            order.Trades.Select(t => (t.TradeId.Value, t.OfferId.Value, t.SellerAccountId.Value, t.Hours.ToString(), t.Amount)));
        Assert.All(order.Trades, t => Assert.Equal((TradeStatus.AwaitingPayment, T0.AddSeconds(900)), (t.Status, t.PayBy)));

        var dear = Offer("dear-bj");
        Assert.Equal((Hours.Parse("35"), Hours.Parse("15"), OfferStatus.Open), (dear.HoursLeft, dear.HoursInTrades, dear.Status));
        Assert.Equal(OfferStatus.Filled, Offer("cheap-sh").Status);

        // Matching moves hours from offers into trades; the providers' pending hours are unchanged (both are pending).
        var p1 = (AccountState)_model.State(StreamIds.Account(Id("p1")))!;
        Assert.Equal(Hours.Parse("50"), p1.Balance(Beijing).Pending);
    }

    [Fact]
    public void GivenAnOrderThatLoadsInRounds_WhenAskingWhatToLoad_ThenTheBookFirstThenTheOffersItTakes()
    {
        Accept(List("a", "p1", Beijing, "5", 1.00m));
        Accept(List("b", "p2", Shanghai, "5", 2.00m));
        Accept(List("c", "p1", Beijing, "5", 9.00m));
        var order = Order("order-r", "8", maxPrice: 5m);

        var first = Ledger.StreamsToLoad(order, new Dictionary<string, object?>());
        var second = Ledger.StreamsToLoad(order, first.ToDictionary(id => id, _model.State));

        Assert.Equal(["book-gpu.h100-2026-11", "account-c", "period-2026-11"], first);
        Assert.Equal([.. first, "offer-a", "offer-b", "trade-order-r.1", "trade-order-r.2"], second);
    }

    [Fact]
    public void GivenTwoOrdersForTheSameHours_WhenDecidedOneAfterTheOther_ThenTheSecondGetsOnlyWhatIsLeft()
    {
        Accept(List("only", "p1", Beijing, "10", 1.00m));

        var first = Accept(Order("order-a", "7", maxPrice: 1m)).Order!;
        var second = Accept(Order("order-b", "7", maxPrice: 1m)).Order!;
        var third = Reject(Order("order-c", "1", maxPrice: 1m));

        Assert.Equal((true, false), (first.Filled, second.Filled));
        Assert.Equal(Hours.Parse("3"), second.HoursFilled);
        Assert.Equal(RejectionCodes.NoMatchingOffer, third.Code);
        var offer = Offer("only");
        Assert.Equal(offer.HoursListed, offer.HoursLeft + offer.HoursInTrades + offer.HoursSold + offer.HoursReleased);
    }

    [Fact]
    public void GivenTooLittleSupplyForAnAllOrNothingOrder_WhenPlacing_ThenInsufficientSupplyAndNothingChanges()
    {
        Accept(List("small", "p1", Beijing, "4", 1.00m));
        var before = _model.Events.Count;

        Assert.Equal(RejectionCodes.InsufficientSupply, Reject(Order("order-aon", "5", maxPrice: 1m, allOrNothing: true)).Code);
        Assert.Equal(before, _model.Events.Count);
    }

    [Theory]
    [InlineData("c", 900, "ok")]
    [InlineData("p1", 900, "invalid_account_kind")]
    [InlineData("nobody", 900, "account_not_found")]
    [InlineData("c", 29, "validation_failed")]
    [InlineData("c", 86_401, "validation_failed")]
    public void GivenWhoOrdersAndItsPaymentWindow_WhenPlacing_ThenOnlyAConsumerWithinTheRulesTrades(string buyer, int window, string code)
    {
        Accept(List("any", "p1", Beijing, "4", 1.00m));

        var decision = _model.Submit(Order("order-w", "1", maxPrice: 1m, buyer: buyer, window: window)).Decision;

        Assert.Equal(code, decision is Rejected r ? r.Code : "ok");
    }

    [Fact]
    public void GivenAnOrderIdTooLongToNumberItsTrades_WhenPlacing_ThenValidationFailed()
    {
        var rejected = Reject(Order(new string('o', PlaceOrder.MaxOrderIdLength + 1), "1", maxPrice: 1m));

        Assert.Equal(RejectionCodes.ValidationFailed, rejected.Code);
        Assert.Contains("orderId", rejected.Errors!.Keys);
    }

    [Fact]
    public void GivenAnOfferPartlyTraded_WhenWithdrawn_ThenWhatIsLeftIsReleasedAndTheTradedHoursStayPending()
    {
        Accept(List("w", "p1", Beijing, "10", 1.00m));
        Accept(Order("order-w", "4", maxPrice: 1m));

        var outcome = Accept(new WithdrawOffer(Op("withdraw-w"), Op("w"), T0.AddMinutes(1)));

        Assert.Equal((OfferStatus.Withdrawn, Hours.Parse("6"), Hours.Parse("4")), (outcome.Offer!.Offer.Status, outcome.Offer.Offer.HoursReleased, outcome.Offer.Offer.HoursInTrades));
        var p1 = (AccountState)_model.State(StreamIds.Account(Id("p1")))!;
        Assert.Equal(Hours.Parse("4"), p1.Balance(Beijing).Pending);
        Assert.Empty(((BookState)_model.State(StreamIds.Book(Beijing.ResourceClass, Beijing.Period))!).Offers);
        Assert.Equal(RejectionCodes.OfferNotOpen, Reject(new WithdrawOffer(Op("withdraw-again"), Op("w"), T0.AddMinutes(2))).Code);
        Assert.Equal(RejectionCodes.OfferNotFound, Reject(new WithdrawOffer(Op("withdraw-none"), Op("none"), T0)).Code);
    }

    [Fact]
    public void GivenAnOffer_WhenItsExpiryComesEarlyThenOnTime_ThenRefusedThenReleasedAndNoLongerMatched()
    {
        Accept(List("e", "p1", Beijing, "10", 1.00m, validUntil: T0.AddHours(1)));

        Assert.Equal(RejectionCodes.ValidationFailed, Reject(new ExpireOffer(Op("expire-early"), Op("e"), T0.AddMinutes(59))).Code);
        Assert.Equal(RejectionCodes.NoMatchingOffer, Reject(Order("order-late", "1", maxPrice: 1m, now: T0.AddHours(1))).Code);
        var expired = Accept(new ExpireOffer(Op("expire-e"), Op("e"), T0.AddHours(1))).Offer!.Offer;

        Assert.Equal((OfferStatus.Expired, Hours.Parse("10")), (expired.Status, expired.HoursReleased));
        Assert.Equal(Hours.Zero, ((AccountState)_model.State(StreamIds.Account(Id("p1")))!).Balance(Beijing).Pending);
    }

    [Fact]
    public void GivenATradeAwaitingPayment_WhenPaidInTime_ThenTheHoursMoveToTheBuyerWithTheSettlementInTheSameDecision()
    {
        Accept(List("dvp", "p1", Beijing, "10", 12.50m));
        var trade = Assert.Single(Accept(Order("order-dvp", "4", maxPrice: 20m)).Order!.Trades);
        Assert.Equal(50.00m, trade.Amount);

        var paid = Accept(Pay(trade.TradeId, "ecny-0001", 50.00m, now: T0.AddMinutes(5)));

        Assert.Equal(TradeStatus.Settled, paid.Trade!.Status);
        Assert.Equal(new Settlement(50.00m, "CNY", SettlementRail.ECny, "ecny-0001"), paid.Trade.Settlement);
        var seller = Balance("p1", Beijing);
        var buyer = Balance("c", Beijing);
        Assert.Equal((Hours.Parse("96"), Hours.Parse("6")), (seller.Posted, seller.Pending));
        Assert.Equal((Hours.Parse("4"), Hours.Zero), (buyer.Posted, buyer.Pending));
        var offer = Offer("dvp");
        Assert.Equal((Hours.Parse("6"), Hours.Zero, Hours.Parse("4")), (offer.HoursLeft, offer.HoursInTrades, offer.HoursSold));
        var postings = _model.Events.Select(e => e.Event).OfType<IHasPostings>().SelectMany(e => e.Postings);
        Assert.Equal(0, postings.Sum(p => p.Amount.MilliHours));
    }

    [Theory]
    [InlineData(50.00, "CNY", 15, "trade_expired")]
    [InlineData(50.00, "CNY", 10, "trade_expired")]
    [InlineData(49.99, "CNY", 5, "payment_amount_mismatch")]
    [InlineData(50.00, "USD", 5, "payment_amount_mismatch")]
    [InlineData(50.001, "CNY", 5, "validation_failed")]
    public void GivenAPaymentLateOrWrong_WhenRecorded_ThenRefusedAndNothingChanges(double amount, string currency, int minutes, string code)
    {
        Accept(List("late", "p1", Beijing, "10", 12.50m));
        var trade = Assert.Single(Accept(Order("order-late", "4", maxPrice: 20m, window: 600)).Order!.Trades);
        var before = _model.Events.Count;

        Assert.Equal(code, Reject(Pay(trade.TradeId, "ref-1", (decimal)amount, currency, T0.AddMinutes(minutes))).Code);
        Assert.Equal(before, _model.Events.Count);
    }

    [Fact]
    public void GivenAPaymentReference_WhenItPaysASecondTrade_ThenPaymentReferenceConflict()
    {
        Accept(List("two", "p1", Beijing, "10", 1.00m));
        var first = Assert.Single(Accept(Order("order-1", "1", maxPrice: 1m)).Order!.Trades);
        var second = Assert.Single(Accept(Order("order-2", "1", maxPrice: 1m)).Order!.Trades);
        Accept(Pay(first.TradeId, "same-ref", 1.00m));

        Assert.Equal(RejectionCodes.PaymentReferenceConflict, Reject(Pay(second.TradeId, "same-ref", 1.00m) with { OperationId = Op("pay-2") }).Code);
        Assert.Equal(RejectionCodes.TradeNotAwaitingPayment, Reject(Pay(first.TradeId, "other-ref", 1.00m) with { OperationId = Op("pay-3") }).Code);
    }

    [Fact]
    public void GivenAnOpenOffer_WhenItsTradeIsCancelled_ThenTheHoursAreOnTheBookAgainAndStillPending()
    {
        Accept(List("back", "p1", Beijing, "10", 1.00m));
        var trade = Assert.Single(Accept(Order("order-b", "10", maxPrice: 1m)).Order!.Trades);
        Assert.Equal(OfferStatus.Filled, Offer("back").Status);

        Assert.Equal(TradeStatus.Cancelled, Accept(new CancelTrade(Op("cancel-b"), trade.TradeId, T0.AddMinutes(1))).Trade!.Status);

        Assert.Equal((OfferStatus.Open, Hours.Parse("10")), (Offer("back").Status, Offer("back").HoursLeft));
        Assert.Equal(Hours.Parse("10"), Balance("p1", Beijing).Pending);
        Assert.Equal(Hours.Parse("10"), Assert.IsType<Matched>(MarketMatching.Match(
            ((BookState)_model.State(StreamIds.Book(Beijing.ResourceClass, Beijing.Period))!).Offers.Values,
            new OrderTerms(Hours.Parse("10"), new HashSet<Region>(), 1m, false), T0.AddMinutes(2))).HoursFilled);
        Assert.Equal(RejectionCodes.TradeNotAwaitingPayment, Reject(Pay(trade.TradeId, "too-late", 10.00m)).Code);
    }

    [Fact]
    public void GivenAWithdrawnOffer_WhenItsTradeExpiresAtPayBy_ThenTheHoursAreReleasedToTheProvider()
    {
        Accept(List("gone", "p1", Beijing, "10", 1.00m));
        var trade = Assert.Single(Accept(Order("order-g", "3", maxPrice: 1m, window: 60)).Order!.Trades);
        Accept(new WithdrawOffer(Op("withdraw-g"), Op("gone"), T0.AddSeconds(10)));

        Assert.Equal(RejectionCodes.ValidationFailed, Reject(new ExpireTrade(Op("expire-early"), trade.TradeId, T0.AddSeconds(59))).Code);
        Assert.Equal(RejectionCodes.TradeExpired, Reject(new CancelTrade(Op("cancel-late"), trade.TradeId, T0.AddSeconds(60))).Code);
        Assert.Equal(TradeStatus.Expired, Accept(new ExpireTrade(Op("expire-g"), trade.TradeId, T0.AddSeconds(60))).Trade!.Status);

        var offer = Offer("gone");
        Assert.Equal((Hours.Zero, Hours.Parse("10")), (offer.HoursInTrades, offer.HoursReleased));
        Assert.Equal(Hours.Zero, Balance("p1", Beijing).Pending);
        Assert.Equal(RejectionCodes.TradeNotAwaitingPayment, Reject(new ExpireTrade(Op("expire-again"), trade.TradeId, T0.AddSeconds(61))).Code);
    }

    [Fact]
    public void GivenHoursListedOrInTrades_WhenClosingThePeriod_ThenItIsRefused_UntilTheOfferAndTradesHaveEnded()
    {
        Accept(List("closing", "p1", Beijing, "10", 1.00m));
        var trade = Assert.Single(Accept(Order("order-cl", "4", maxPrice: 1m)).Order!.Trades);
        var close = new ClosePeriod(Op("close-1"), Beijing.Period, PeriodClosePolicy.Expire, null, [Id("p1"), Id("p2"), Id("c")], T0.AddMinutes(1));

        Assert.Equal(RejectionCodes.MarketOpenInPeriod, Reject(close).Code);
        Accept(new WithdrawOffer(Op("withdraw-cl"), Op("closing"), T0.AddMinutes(1)));
        Assert.Equal(RejectionCodes.MarketOpenInPeriod, Reject(close with { OperationId = Op("close-2") }).Code);
        Accept(new CancelTrade(Op("cancel-cl"), trade.TradeId, T0.AddMinutes(1)));

        Accept(close with { OperationId = Op("close-3") });
        Assert.Equal(new BucketBalance(Hours.Zero, Hours.Zero), Balance("p1", Beijing));
    }

    [Fact]
    public void GivenMarketStates_WhenSnapshottedThroughJson_ThenTheyComeBackEqual()
    {
        Accept(List("j", "p1", Beijing, "10", 1.25m, minHours: "2"));
        Accept(Order("order-j", "3", maxPrice: 2m));

        foreach (var id in new[] { StreamIds.Book(Beijing.ResourceClass, Beijing.Period), StreamIds.Offer(Op("j")), StreamIds.Trade(Op("order-j.1")) })
        {
            var state = _model.State(id);
            Assert.Equal(DomainJson.SerializeState(state), DomainJson.SerializeState(DomainJson.DeserializeState(StreamIds.AggregateTypeOf(id), DomainJson.SerializeState(state))));
        }
    }

    private OperationOutcome Accept(LedgerCommand command) =>
        _model.Submit(command).Decision is Accepted accepted ? accepted.Outcome : throw new Xunit.Sdk.XunitException($"{command} was refused: {_model.Submit(command).Decision}");

    private Rejected Reject(LedgerCommand command) => Assert.IsType<Rejected>(_model.Submit(command).Decision);

    private OfferState Offer(string id) => (OfferState)_model.State(StreamIds.Offer(Op(id)))!;

    private BucketBalance Balance(string account, Bucket bucket) => ((AccountState)_model.State(StreamIds.Account(Id(account)))!).Balance(bucket);

    private static PayTrade Pay(OperationId tradeId, string reference, decimal amount, string currency = "CNY", DateTimeOffset? now = null) =>
        new(Op("pay-" + tradeId.Value), tradeId, reference, amount, currency, SettlementRail.ECny, now ?? T0.AddMinutes(1));

    private static ListOffer List(string id, string provider, Bucket bucket, string hours, decimal price, string minHours = "0.001", DateTimeOffset? validUntil = null) =>
        new(Op(id), Id(provider), bucket, Hours.Parse(hours), price, Hours.Parse(minHours), validUntil ?? T0.AddDays(1), T0);

    private static PlaceOrder Order(string id, string hours, decimal maxPrice, bool allOrNothing = false, string buyer = "c", int window = 900, DateTimeOffset? now = null) =>
        new(Op(id), Id(buyer), ResourceClass.Parse("gpu.h100"), Period.Parse("2026-11"), [], Hours.Parse(hours), maxPrice, allOrNothing, window, now ?? T0);

    private static OperationId Op(string id) => OperationId.Parse(id);

    private static AccountId Id(string id) => AccountId.Parse(id);
}
