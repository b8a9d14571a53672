using System.Net;
using ComputeBank.Api.Tests.Durable;

namespace ComputeBank.Api.Tests.Market;

/// <summary>
/// The market through its HTTP contract on a real PostgreSQL: listing holds the hours, matching follows price-time
/// priority across regions, refusals change nothing, payment delivers in the same commit, cancel returns the hours.
/// </summary>
public sealed class MarketApiTests(DurableApiFactory factory) : IClassFixture<DurableApiFactory>
{
    private readonly LedgerClient _client = new(factory.CreateClient());

    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 58)];

    [Fact]
    public async Task GivenProvider_WhenListing_ThenTheOfferIsOnTheBook_AndItsHoursArePending()
    {
        var provider = Id("prov");
        await _client.ProviderWithAsync(provider, "20", "beijing");
        var offerId = Id("offer");

        var listed = (await _client.ListAsync(offerId, provider, "8", "12.5")).ShouldBe(HttpStatusCode.Created).Body!;

        Assert.Equal(("open", "8.000", "8.000", "12.50", "0.001"),
            ((string?)listed["status"], (string?)listed["hoursListed"], (string?)listed["hoursLeft"], (string?)listed["unitPrice"], (string?)listed["minHours"]));
        Assert.Equal(("20.000", "8.000", "12.000"), await _client.BucketAsync(provider, "beijing"));
        Assert.Equal("8.000", (string?)(await _client.OfferAsync(offerId))["hoursLeft"]);
        var book = (await _client.GetAsync($"/api/v1/market/offers?resourceClass=gpu.h100&period={LedgerClient.Period}&region=beijing&limit=1000"))
            .ShouldBe(HttpStatusCode.OK).Body!;
        Assert.Contains(book["offers"]!.AsArray(), o => (string?)o!["offerId"] == offerId);

        // Listing more than is available is refused and changes nothing.
        (await _client.ListAsync(Id("offer"), provider, "12.001", "12.5")).ShouldBeProblem(HttpStatusCode.UnprocessableEntity, "insufficient_credits");
        Assert.Equal(("20.000", "8.000", "12.000"), await _client.BucketAsync(provider, "beijing"));
    }

    [Fact]
    public async Task GivenOffersInTwoRegions_WhenOrdering_ThenTheCheapestFillFirst_EarliestOnTies_AcrossRegions()
    {
        var (provider, consumer, period) = (Id("prov"), Id("cons"), "2027-01");
        (await _client.OpenAsync(provider, "provider")).ShouldBe(HttpStatusCode.Created);
        (await _client.OpenAsync(consumer)).ShouldBe(HttpStatusCode.Created);
        foreach (var region in new[] { "beijing", "shanghai" })
        {
            (await _client.DepositAsync(Id("dep"), provider, "10", region: region, period: period)).ShouldBe(HttpStatusCode.Created);
        }

        var (dear, cheapEarly, cheapLate) = (Id("dear"), Id("early"), Id("late"));
        (await _client.ListAsync(dear, provider, "3", "11.00", "beijing", period: period)).ShouldBe(HttpStatusCode.Created);
        (await _client.ListAsync(cheapEarly, provider, "2", "9.00", "shanghai", period: period)).ShouldBe(HttpStatusCode.Created);
        (await _client.ListAsync(cheapLate, provider, "2", "9.00", "beijing", period: period)).ShouldBe(HttpStatusCode.Created);

        var book = (await _client.GetAsync($"/api/v1/market/offers?resourceClass=gpu.h100&period={period}")).ShouldBe(HttpStatusCode.OK).Body!;
        Assert.Equal([cheapEarly, cheapLate, dear], book["offers"]!.AsArray().Select(o => (string)o!["offerId"]!));

        var orderId = Id("order");
        var order = (await _client.OrderAsync(orderId, consumer, "5", "11", period: period)).ShouldBe(HttpStatusCode.Created).Body!;

        Assert.Equal(("filled", "5.000"), ((string?)order["status"], (string?)order["hoursFilled"]));
        var trades = order["trades"]!.AsArray();
        Assert.Equal([(cheapEarly, "2.000", "18.00"), (cheapLate, "2.000", "18.00"), (dear, "1.000", "11.00")],
            trades.Select(t => ((string)t!["offerId"]!, (string)t["hours"]!, (string)t["amount"]!)));
        Assert.Equal([orderId + ".1", orderId + ".2", orderId + ".3"], trades.Select(t => (string)t!["tradeId"]!));
        Assert.All(trades, t => Assert.Equal("awaiting_payment", (string?)t!["status"]));
        var offer = await _client.OfferAsync(dear);
        Assert.Equal(("2.000", "1.000", "open"), ((string?)offer["hoursLeft"], (string?)offer["hoursInTrades"], (string?)offer["status"]));
        Assert.Equal("filled", (string?)(await _client.OfferAsync(cheapEarly))["status"]);

        // A regions filter takes only from those regions; the rest of the order is dropped (partially filled).
        var partial = (await _client.OrderAsync(Id("order"), consumer, "4", "20", ["shanghai", "beijing"], period: period)).ShouldBe(HttpStatusCode.Created).Body!;
        Assert.Equal(("partially_filled", "2.000"), ((string?)partial["status"], (string?)partial["hoursFilled"]));
    }

    [Fact]
    public async Task GivenABook_WhenNothingFits_ThenNoMatchingOffer_AllOrNothing_AndMinHours_ChangeNothing()
    {
        var (provider, consumer, period) = (Id("prov"), Id("cons"), "2027-02");
        (await _client.OpenAsync(provider, "provider")).ShouldBe(HttpStatusCode.Created);
        (await _client.OpenAsync(consumer)).ShouldBe(HttpStatusCode.Created);
        (await _client.DepositAsync(Id("dep"), provider, "10", period: period)).ShouldBe(HttpStatusCode.Created);
        var bulk = Id("bulk");
        (await _client.ListAsync(bulk, provider, "4", "5.00", minHours: "3", period: period)).ShouldBe(HttpStatusCode.Created);
        var events = await EventCountAsync();

        (await _client.OrderAsync(Id("order"), consumer, "2", "10", period: period)).ShouldBeProblem(HttpStatusCode.UnprocessableEntity, "no_matching_offer");
        (await _client.OrderAsync(Id("order"), consumer, "5", "10", allOrNothing: true, period: period))
            .ShouldBeProblem(HttpStatusCode.UnprocessableEntity, "insufficient_supply");
        (await _client.OrderAsync(Id("order"), consumer, "4", "4.99", period: period)).ShouldBeProblem(HttpStatusCode.UnprocessableEntity, "no_matching_offer");
        (await _client.OrderAsync(Id("order"), consumer, "4", "10", ["tianjin"], period: period)).ShouldBeProblem(HttpStatusCode.UnprocessableEntity, "no_matching_offer");

        Assert.Equal(events, await EventCountAsync());
        Assert.Equal("4.000", (string?)(await _client.OfferAsync(bulk))["hoursLeft"]);

        // A provider cannot order, a consumer cannot list.
        (await _client.OrderAsync(Id("order"), provider, "1", "10", period: period)).ShouldBeProblem(HttpStatusCode.UnprocessableEntity, "invalid_account_kind");
        (await _client.ListAsync(Id("offer"), consumer, "1", "10", period: period)).ShouldBeProblem(HttpStatusCode.UnprocessableEntity, "invalid_account_kind");
    }

    [Fact]
    public async Task GivenATrade_WhenPaid_ThenTheHoursMoveInTheSameCommit_AndTheReferenceIsIdempotent()
    {
        var (provider, consumer) = (Id("prov"), Id("cons"));
        await _client.ProviderWithAsync(provider, "10", "xiongan");
        (await _client.OpenAsync(consumer)).ShouldBe(HttpStatusCode.Created);
        var offerId = Id("offer");
        (await _client.ListAsync(offerId, provider, "6", "7.25", "xiongan")).ShouldBe(HttpStatusCode.Created);
        var trades = (await _client.OrderAsync(Id("order"), consumer, "3.333", "8")).ShouldBe(HttpStatusCode.Created).Body!["trades"]!.AsArray();
        var trade = trades.Single()!;
        var tradeId = (string)trade["tradeId"]!;
        Assert.Equal("24.16", (string?)trade["amount"]); // 3.333 x 7.25 = 24.16425, half away from zero

        (await _client.PayAsync(tradeId, Id("ref"), "24.17")).ShouldBeProblem(HttpStatusCode.UnprocessableEntity, "payment_amount_mismatch");
        (await _client.PayAsync(tradeId, Id("ref"), "24.16", "USD")).ShouldBeProblem(HttpStatusCode.UnprocessableEntity, "payment_amount_mismatch");
        var reference = Id("ecny");
        var paid = (await _client.PayAsync(tradeId, reference, "24.16")).ShouldBe(HttpStatusCode.OK);

        Assert.Equal(("settled", reference), ((string?)paid.Body!["status"], (string?)paid.Body["settlement"]!["paymentReference"]));
        Assert.Equal(("6.667", "2.667", "4.000"), await BucketAsync(provider, "xiongan"));
        Assert.Equal(("3.333", "0.000", "3.333"), await BucketAsync(consumer, "xiongan"));
        var offer = await _client.OfferAsync(offerId);
        Assert.Equal(("2.667", "0.000", "3.333"), ((string?)offer["hoursLeft"], (string?)offer["hoursInTrades"], (string?)offer["hoursSold"]));

        var again = (await _client.PayAsync(tradeId, reference, "24.16")).ShouldBe(HttpStatusCode.OK);
        Assert.True(again.Replayed);
        Assert.Equal(paid.Text, again.Text);

        var other = (await _client.OrderAsync(Id("order"), consumer, "1", "8")).ShouldBe(HttpStatusCode.Created).Body!["trades"]![0]!;
        (await _client.PayAsync((string)other["tradeId"]!, reference, "7.25")).ShouldBeProblem(HttpStatusCode.Conflict, "payment_reference_conflict");
        (await _client.PayAsync(tradeId, Id("ref"), "24.16")).ShouldBeProblem(HttpStatusCode.UnprocessableEntity, "trade_not_awaiting_payment");
        (await _client.PayAsync("no-such-order.1", Id("ref"), "1.00")).ShouldBeProblem(HttpStatusCode.NotFound, "trade_not_found");

        var stats = (await _client.GetAsync($"/api/v1/market/stats?resourceClass=gpu.h100&period={LedgerClient.Period}")).ShouldBe(HttpStatusCode.OK).Body!;
        Assert.Contains(stats["regions"]!.AsArray(), r => (string?)r!["region"] == "xiongan" && (string?)r["lastPrice"] == "7.25");
        var mine = (await _client.GetAsync($"/api/v1/market/trades?accountId={consumer}")).ShouldBe(HttpStatusCode.OK).Body!["trades"]!.AsArray();
        Assert.Equal([(string)other["tradeId"]!, tradeId], mine.Select(t => (string)t!["tradeId"]!));
        var sold = (await _client.GetAsync($"/api/v1/market/trades?accountId={provider}&status=settled")).ShouldBe(HttpStatusCode.OK).Body!["trades"]!.AsArray();
        Assert.Equal([tradeId], sold.Select(t => (string)t!["tradeId"]!));
    }

    [Fact]
    public async Task GivenATrade_WhenTheBuyerCancels_ThenTheHoursGoBackToTheOffer_AndAWithdrawnOfferReleasesThem()
    {
        var (provider, consumer) = (Id("prov"), Id("cons"));
        await _client.ProviderWithAsync(provider, "10", "tianjin");
        (await _client.OpenAsync(consumer)).ShouldBe(HttpStatusCode.Created);
        var offerId = Id("offer");
        (await _client.ListAsync(offerId, provider, "5", "3.00", "tianjin")).ShouldBe(HttpStatusCode.Created);
        var first = (string)(await _client.OrderAsync(Id("order"), consumer, "2", "3")).ShouldBe(HttpStatusCode.Created).Body!["trades"]![0]!["tradeId"]!;
        var second = (string)(await _client.OrderAsync(Id("order"), consumer, "1", "3")).ShouldBe(HttpStatusCode.Created).Body!["trades"]![0]!["tradeId"]!;

        Assert.Equal("cancelled", (string?)(await _client.CancelAsync(first)).ShouldBe(HttpStatusCode.OK).Body!["status"]);
        Assert.Equal(("4.000", "1.000"), ((string?)(await _client.OfferAsync(offerId))["hoursLeft"], (string?)(await _client.OfferAsync(offerId))["hoursInTrades"]));
        (await _client.CancelAsync(first)).ShouldBeProblem(HttpStatusCode.UnprocessableEntity, "trade_not_awaiting_payment");

        var withdrawn = (await _client.WithdrawOfferAsync(offerId)).ShouldBe(HttpStatusCode.OK).Body!;
        Assert.Equal(("withdrawn", "0.000", "4.000"), ((string?)withdrawn["status"], (string?)withdrawn["hoursLeft"], (string?)withdrawn["hoursReleased"]));
        Assert.Equal(("10.000", "1.000", "9.000"), await BucketAsync(provider, "tianjin"));
        (await _client.WithdrawOfferAsync(offerId)).ShouldBeProblem(HttpStatusCode.UnprocessableEntity, "offer_not_open");

        (await _client.CancelAsync(second)).ShouldBe(HttpStatusCode.OK);
        var offer = await _client.OfferAsync(offerId);
        Assert.Equal(("0.000", "5.000"), ((string?)offer["hoursInTrades"], (string?)offer["hoursReleased"]));
        Assert.Equal(("10.000", "0.000", "10.000"), await BucketAsync(provider, "tianjin"));
        (await _client.WithdrawOfferAsync("no-such-offer")).ShouldBeProblem(HttpStatusCode.NotFound, "offer_not_found");
    }

    [Fact]
    public async Task GivenBadBodies_ThenEveryFieldIsNamed_AndNothingChanges()
    {
        var events = await EventCountAsync();
        var order = (await _client.PostAsync("/api/v1/market/orders", new
        {
            orderId = new string('o', 59), accountId = "x", resourceClass = "gpu.h100", period = LedgerClient.Period,
            regions = new[] { "beijing", "mars", "beijing" }, hours = "1", maxUnitPrice = "1.001", allOrNothing = "yes", paymentWindowSeconds = 10,
        })).ShouldBeProblem(HttpStatusCode.BadRequest, "validation_failed").Body!["errors"]!.AsObject();
        Assert.Equal(["allOrNothing", "maxUnitPrice", "orderId", "paymentWindowSeconds", "regions[1]", "regions[2]"], order.Select(e => e.Key).Order(StringComparer.Ordinal));

        var offer = (await _client.PostAsync("/api/v1/market/offers", new
        {
            offerId = "o", accountId = "p", resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours = "2", unitPrice = "0",
            minHours = "3", validUntil = "2020-01-01T00:00:00Z", currency = "USD",
        })).ShouldBeProblem(HttpStatusCode.BadRequest, "validation_failed").Body!["errors"]!.AsObject();
        Assert.Equal(["currency", "minHours", "unitPrice", "validUntil"], offer.Select(e => e.Key).Order(StringComparer.Ordinal));

        var pay = (await _client.PostAsync("/api/v1/market/trades/t.1/payments", new { amount = "-1", currency = "cny", rail = "cash" }))
            .ShouldBeProblem(HttpStatusCode.BadRequest, "validation_failed").Body!["errors"]!.AsObject();
        Assert.Equal(["amount", "currency", "paymentReference", "rail"], pay.Select(e => e.Key).Order(StringComparer.Ordinal));
        Assert.Equal(events, await EventCountAsync());
    }

    [Fact]
    public async Task GivenMarketCommands_InAnAtomicBatch_ThenTheyAreDecidedTogether()
    {
        var (provider, consumer) = (Id("prov"), Id("cons"));
        await _client.ProviderWithAsync(provider, "10", "shanghai");
        (await _client.OpenAsync(consumer)).ShouldBe(HttpStatusCode.Created);
        var (offerId, orderId) = (Id("offer"), Id("order"));
        var batch = await _client.PostAsync("/api/v1/commands/batch", new
        {
            atomic = true,
            commands = new object[]
            {
                new { type = "offer", body = new { offerId, accountId = provider, resourceClass = "gpu.h100", region = "shanghai", period = LedgerClient.Period, hours = "4", unitPrice = "2.00", validUntil = DateTimeOffset.UtcNow.AddHours(1).ToString("O") } },
                new { type = "order", body = new { orderId, accountId = consumer, resourceClass = "gpu.h100", period = LedgerClient.Period, regions = new[] { "shanghai" }, hours = "4", maxUnitPrice = "2.00" } },
                new { type = "trade-payment", body = new { tradeId = orderId + ".1", paymentReference = Id("ref"), amount = "8.00", currency = "CNY", rail = "bank-transfer" } },
            },
        });
        batch.ShouldBe(HttpStatusCode.OK);
        Assert.Equal([201, 201, 200], batch.Body!["results"]!.AsArray().Select(r => (int)r!["status"]!));
        Assert.Equal(("4.000", "0.000", "4.000"), await BucketAsync(consumer, "shanghai"));
    }

    [Fact]
    public async Task GivenTradesAndOffersInEveryStatus_WhenFilteringTheLists_ThenEachStatusListsItsOwn()
    {
        var (provider, consumer, period) = (Id("prov"), Id("cons"), "2027-05");
        (await _client.OpenAsync(provider, "provider")).ShouldBe(HttpStatusCode.Created);
        (await _client.OpenAsync(consumer)).ShouldBe(HttpStatusCode.Created);
        (await _client.DepositAsync(Id("dep"), provider, "10", period: period)).ShouldBe(HttpStatusCode.Created);
        var (kept, withdrawn) = (Id("kept"), Id("gone"));
        (await _client.ListAsync(kept, provider, "5", "1.00", period: period)).ShouldBe(HttpStatusCode.Created);
        (await _client.ListAsync(withdrawn, provider, "1", "9.00", period: period)).ShouldBe(HttpStatusCode.Created);
        (await _client.WithdrawOfferAsync(withdrawn)).ShouldBe(HttpStatusCode.OK);
        var settled = (string)(await _client.OrderAsync(Id("order"), consumer, "1", "1", period: period)).Body!["trades"]![0]!["tradeId"]!;
        var cancelled = (string)(await _client.OrderAsync(Id("order"), consumer, "1", "1", period: period)).Body!["trades"]![0]!["tradeId"]!;
        var open = (string)(await _client.OrderAsync(Id("order"), consumer, "1", "1", period: period)).Body!["trades"]![0]!["tradeId"]!;
        (await _client.PayAsync(settled, Id("ref"), "1.00")).ShouldBe(HttpStatusCode.OK);
        (await _client.CancelAsync(cancelled)).ShouldBe(HttpStatusCode.OK);

        async Task<string[]> TradesAsync(string status) =>
            [.. (await _client.GetAsync($"/api/v1/market/trades?accountId={consumer}&status={status}")).ShouldBe(HttpStatusCode.OK).Body!["trades"]!.AsArray().Select(t => (string)t!["tradeId"]!)];
        async Task<string[]> OffersAsync(string status) =>
            [.. (await _client.GetAsync($"/api/v1/market/offers?resourceClass=gpu.h100&period={period}&status={status}")).ShouldBe(HttpStatusCode.OK).Body!["offers"]!.AsArray().Select(o => (string)o!["offerId"]!)];

        Assert.Equal([settled], await TradesAsync("settled"));
        Assert.Equal([cancelled], await TradesAsync("cancelled"));
        Assert.Equal([open], await TradesAsync("awaiting_payment"));
        Assert.Empty(await TradesAsync("expired"));
        Assert.Equal([kept], await OffersAsync("open"));
        Assert.Equal([withdrawn], await OffersAsync("withdrawn"));
        Assert.Empty(await OffersAsync("filled"));
        (await _client.GetAsync($"/api/v1/market/trades?accountId={consumer}&status=lost")).ShouldBeProblem(HttpStatusCode.BadRequest, "validation_failed");
        (await _client.GetAsync($"/api/v1/market/offers?resourceClass=gpu.h100")).ShouldBeProblem(HttpStatusCode.BadRequest, "validation_failed");
    }

    private Task<(string, string, string)> BucketAsync(string account, string region) => _client.BucketAsync(account, region);

    private Task<long> EventCountAsync() => factory.Database.ScalarAsync<long>("SELECT count(*) FROM cb.events");
}
