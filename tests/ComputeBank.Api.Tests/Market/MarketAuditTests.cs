using System.Net;
using System.Text.Json.Nodes;
using ComputeBank.Api.Tests.Durable;

namespace ComputeBank.Api.Tests.Market;

/// <summary>audit verify replays the market: clean after real activity, and it names the offer, trade or account when
/// a market read model or an event was edited in SQL. Also: the market's commands go through <c>Prefer: respond-async</c>.</summary>
public sealed class MarketAuditTests(DurableApiFactory factory) : AsyncCommandTestsBase(factory)
{
    [Fact]
    public async Task GivenMarketActivity_WhenVerifying_ThenOk_AndEditedReadModelsAreNamed()
    {
        var (offerId, paid, _) = await Client.PaidAndCancelledTradesAsync();
        Assert.True((bool)(await VerifyAsync())["ok"]!);

        await Factory.Database.ExecuteAsync($"UPDATE cb.market_offers SET state = jsonb_set(state, '{{hoursLeft}}', '\"9.000\"') WHERE offer_id = '{offerId}'");
        await Factory.Database.ExecuteAsync($"UPDATE cb.market_trades SET state = jsonb_set(state, '{{status}}', '\"awaiting-payment\"') WHERE trade_id = '{paid}'");
        var edited = await VerifyAsync();

        Assert.Equal(["offer-" + offerId, "trade-" + paid], Findings(edited, "market_read_models").Select(d => (string)d["streamId"]!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task GivenAnOrderSentWithRespondAsync_ThenItIsAccepted_AndItsOperationFinishesWithTheTrades()
    {
        var (provider, consumer, offerId, orderId) = (Id("prov"), Id("cons"), Id("offer"), Id("order"));
        await Client.ProviderWithAsync(provider, "5", "tianjin");
        (await Client.OpenAsync(consumer)).ShouldBe(HttpStatusCode.Created);
        (await Client.ListAsync(offerId, provider, "5", "2.00", "tianjin")).ShouldBe(HttpStatusCode.Created);

        var accepted = await Client.PostAsync("/api/v1/market/orders",
            new { orderId, accountId = consumer, resourceClass = "gpu.h100", period = LedgerClient.Period, regions = new[] { "tianjin" }, hours = "3", maxUnitPrice = "2.00" }, Async);

        accepted.ShouldBe(HttpStatusCode.Accepted);
        var finished = (await FinishedAsync(orderId)).Body!;
        Assert.Equal("succeeded", (string?)finished["status"]);
        Assert.Equal(("filled", orderId + ".1"), ((string?)finished["result"]!["status"], (string?)finished["result"]!["trades"]![0]!["tradeId"]));
    }

    private Task<JsonNode> VerifyAsync() => Client.VerifyAsync();

    private static List<JsonNode> Findings(JsonNode report, string check) => MarketClient.Findings(report, check);
}
