using System.Net;
using ComputeBank.Api.Features.MarketDeadlines;
using ComputeBank.Api.Hosting;
using ComputeBank.Api.Tests.Durable;

namespace ComputeBank.Api.Tests.Market;

/// <summary>
/// The market enforces its own deadlines: an unpaid trade is undone by the scheduler at payBy and its hours go back to
/// the offer; a payment from payBy on is <c>trade_expired</c> and records nothing; a payment racing the expiry ends the
/// trade exactly once; an offer past validUntil is expired and what is left released. Deadlines are scheduled Wolverine
/// envelopes stored with the trade or offer, and dropped when it ends first.
/// </summary>
public sealed class MarketDeadlineTests(DurableApiFactory factory) : AsyncCommandTestsBase(factory)
{
    [Fact]
    public async Task GivenTradesDueIn30Seconds_WhenOneIsPaidAndOneIsNot_ThenTheUnpaidOneExpiresByItself_AndALatePaymentRecordsNothing()
    {
        var (provider, consumer, offerId) = (Id("prov"), Id("cons"), Id("offer"));
        await Client.ProviderWithAsync(provider, "10", "beijing");
        (await Client.OpenAsync(consumer)).ShouldBe(HttpStatusCode.Created);
        (await Client.ListAsync(offerId, provider, "6", "2.00")).ShouldBe(HttpStatusCode.Created);
        var unpaid = (string)(await Client.OrderAsync(Id("order"), consumer, "2", "2", ["beijing"], paymentWindowSeconds: 30)).ShouldBe(HttpStatusCode.Created).Body!["trades"]![0]!["tradeId"]!;
        var paid = (await Client.OrderAsync(Id("order"), consumer, "1", "2", ["beijing"], paymentWindowSeconds: 30)).ShouldBe(HttpStatusCode.Created).Body!["trades"]![0]!;
        (await Client.PayAsync((string)paid["tradeId"]!, Id("ref"), "2.00")).ShouldBe(HttpStatusCode.OK);
        Assert.Equal(0L, await Factory.Database.ScalarAsync<long>(
            $"SELECT count(*) FROM wolverine.wolverine_incoming_envelopes WHERE id = '{ScheduledMessages.IdFor(TradeExpiry.OperationIdFor(Domain.OperationId.Parse((string)paid["tradeId"]!)).Value)}'"));
        Assert.Equal(1L, await Factory.Database.ScalarAsync<long>(
            $"SELECT count(*) FROM wolverine.wolverine_incoming_envelopes WHERE id = '{ScheduledMessages.IdFor("expire-trade:" + unpaid)}'"));

        var expiry = (await FinishedAsync("expire-trade:" + unpaid)).Body!;

        Assert.Equal("succeeded", (string?)expiry["status"]);
        var trade = await Client.TradeAsync(unpaid);
        Assert.Equal("expired", (string?)trade["status"]);
        var offer = await Client.OfferAsync(offerId);
        Assert.Equal(("5.000", "0.000", "1.000"), ((string?)offer["hoursLeft"], (string?)offer["hoursInTrades"], (string?)offer["hoursSold"]));
        var events = await Factory.Database.ScalarAsync<long>("SELECT count(*) FROM cb.events");
        (await Client.PayAsync(unpaid, Id("ref"), "4.00")).ShouldBeProblem(HttpStatusCode.UnprocessableEntity, "trade_expired");
        Assert.Equal(events, await Factory.Database.ScalarAsync<long>("SELECT count(*) FROM cb.events"));
        Assert.Equal(1L, await Factory.Database.ScalarAsync<long>($"SELECT count(*) FROM cb.events WHERE stream_id = 'trade-{unpaid}' AND type = 'V1.TradeUndone'"));
        Assert.Equal(("1.000", "0.000", "1.000"), await Client.BucketAsync(consumer, "beijing"));
    }

    [Fact]
    public async Task GivenPaymentsSentAroundPayBy_ThenEachTradeEndsExactlyOnce_AndNoneSettlesAtOrAfterPayBy()
    {
        var (provider, consumer, offerId) = (Id("prov"), Id("cons"), Id("offer"));
        await Client.ProviderWithAsync(provider, "20", "shanghai");
        (await Client.OpenAsync(consumer)).ShouldBe(HttpStatusCode.Created);
        (await Client.ListAsync(offerId, provider, "8", "1.00", "shanghai")).ShouldBe(HttpStatusCode.Created);
        var order = (await Client.OrderAsync(Id("order"), consumer, "1", "1", ["shanghai"], paymentWindowSeconds: 30)).ShouldBe(HttpStatusCode.Created).Body!;
        var payBy = DateTimeOffset.Parse((string)order["trades"]![0]!["payBy"]!, System.Globalization.CultureInfo.InvariantCulture);
        var trades = new List<string> { (string)order["trades"]![0]!["tradeId"]! };
        for (var i = 0; i < 7; i++)
        {
            trades.Add((string)(await Client.OrderAsync(Id("order"), consumer, "1", "1", ["shanghai"], paymentWindowSeconds: 30)).ShouldBe(HttpStatusCode.Created).Body!["trades"]![0]!["tradeId"]!);
        }

        // Each payment goes out a little before or after the first trade's payBy, while the scheduler expires them.
        await Eventually.WaitAsync(() => Task.FromResult(DateTimeOffset.UtcNow), now => now > payBy.AddMilliseconds(-300), "payBy to come near");
        var answers = await Task.WhenAll(trades.Select(async (t, i) =>
        {
            await Task.Delay(i * 60);
            return await Client.PayAsync(t, $"race-{t}", "1.00");
        }));

        Assert.All(answers, a => Assert.True(a.Status == HttpStatusCode.OK || a.Code is "trade_expired", a.Text));
        foreach (var tradeId in trades)
        {
            await Eventually.WaitAsync(() => Client.TradeAsync(tradeId), t => (string?)t["status"] != "awaiting_payment", $"trade {tradeId} to end");
            await Eventually.WaitAsync(
                () => Factory.Database.ScalarAsync<long>($"SELECT count(*) FROM cb.events WHERE stream_id = 'trade-{tradeId}' AND type IN ('V1.TradeSettled', 'V1.TradeUndone')"),
                n => n >= 1, $"trade {tradeId} to be settled or undone");
            Assert.Equal(1L, await Factory.Database.ScalarAsync<long>(
                $"SELECT count(*) FROM cb.events WHERE stream_id = 'trade-{tradeId}' AND type IN ('V1.TradeSettled', 'V1.TradeUndone')"));
            Assert.Equal(0L, await Factory.Database.ScalarAsync<long>(
                $"SELECT count(*) FROM cb.events s JOIN cb.events o ON o.stream_id = s.stream_id AND o.type = 'V1.TradeOpened' " +
                $"WHERE s.stream_id = 'trade-{tradeId}' AND s.type = 'V1.TradeSettled' AND (s.data->>'settledAt')::timestamptz >= (o.data->>'payBy')::timestamptz"));
        }

        var settled = answers.Count(a => a.Status == HttpStatusCode.OK);
        var offer = await Client.OfferAsync(offerId);
        Assert.Equal((settled.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture), "0.000"), ((string?)offer["hoursSold"], (string?)offer["hoursInTrades"]));
    }

    [Fact]
    public async Task GivenAnOfferValidFor2Seconds_ThenItExpiresByItself_AndWhatIsLeftIsReleased_WhileAWithdrawnOneDropsItsDeadline()
    {
        var (provider, consumer, offerId, withdrawn) = (Id("prov"), Id("cons"), Id("offer"), Id("offer"));
        await Client.ProviderWithAsync(provider, "10", "xiongan");
        (await Client.OpenAsync(consumer)).ShouldBe(HttpStatusCode.Created);
        (await Client.ListAsync(offerId, provider, "3", "4.00", "xiongan", DateTimeOffset.UtcNow.AddSeconds(2))).ShouldBe(HttpStatusCode.Created);
        (await Client.ListAsync(withdrawn, provider, "1", "4.00", "xiongan", DateTimeOffset.UtcNow.AddHours(1))).ShouldBe(HttpStatusCode.Created);
        (await Client.WithdrawOfferAsync(withdrawn)).ShouldBe(HttpStatusCode.OK);
        Assert.Equal(0L, await Factory.Database.ScalarAsync<long>(
            $"SELECT count(*) FROM wolverine.wolverine_incoming_envelopes WHERE id = '{ScheduledMessages.IdFor("expire-offer:" + withdrawn)}'"));

        var expiry = (await FinishedAsync("expire-offer:" + offerId)).Body!;

        Assert.Equal("succeeded", (string?)expiry["status"]);
        var offer = await Client.OfferAsync(offerId);
        Assert.Equal(("expired", "0.000", "3.000"), ((string?)offer["status"], (string?)offer["hoursLeft"], (string?)offer["hoursReleased"]));
        Assert.Equal(("10.000", "0.000", "10.000"), await Client.BucketAsync(provider, "xiongan"));
        (await Client.OrderAsync(Id("order"), consumer, "1", "10", ["xiongan"])).ShouldBeProblem(HttpStatusCode.UnprocessableEntity, "no_matching_offer");
    }
}
