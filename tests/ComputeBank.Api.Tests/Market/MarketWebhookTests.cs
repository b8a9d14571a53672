using System.Net;
using System.Text.Json.Nodes;
using ComputeBank.Api.Tests.Durable;

namespace ComputeBank.Api.Tests.Market;

/// <summary>The API sending integration events to a loopback subscriber that accepts every delivery.</summary>
public sealed class MarketWebhookApiFactory() : ReceiverApiFactory(failFirst: 0, "market-receiver");

/// <summary>
/// The market announces trade.matched, trade.settled, trade.cancelled, trade.expired and offer.expired through the
/// outbox: each once, signed, with the event's data, including those the scheduler's deadlines cause.
/// </summary>
public sealed class MarketWebhookTests(MarketWebhookApiFactory factory) : IClassFixture<MarketWebhookApiFactory>
{
    private readonly LedgerClient _client = new(factory.CreateClient());

    [Fact]
    public async Task GivenTradesPaidCancelledAndLeftUnpaid_AndAnOfferThatExpires_ThenEachIsAnnouncedOnce()
    {
        var (provider, consumer, offerId) = ($"whp-{Guid.NewGuid():N}"[..20], $"whc-{Guid.NewGuid():N}"[..20], $"wh-offer-{Guid.NewGuid():N}");
        await _client.ProviderWithAsync(provider, "10", "beijing");
        (await _client.OpenAsync(consumer)).ShouldBe(HttpStatusCode.Created);
        (await _client.ListAsync(offerId, provider, "3", "2.00", validUntil: DateTimeOffset.UtcNow.AddSeconds(3))).ShouldBe(HttpStatusCode.Created);
        string Trade(Answer order) => (string)order.ShouldBe(HttpStatusCode.Created).Body!["trades"]![0]!["tradeId"]!;
        var paid = Trade(await _client.OrderAsync($"{offerId}.a", consumer, "1", "2", ["beijing"]));
        var cancelled = Trade(await _client.OrderAsync($"{offerId}.b", consumer, "1", "2", ["beijing"]));
        var unpaid = Trade(await _client.OrderAsync($"{offerId}.c", consumer, "1", "2", ["beijing"], paymentWindowSeconds: 30));
        (await _client.PayAsync(paid, $"ref-{offerId}", "2.00")).ShouldBe(HttpStatusCode.OK);
        (await _client.CancelAsync(cancelled)).ShouldBe(HttpStatusCode.OK);

        var announced = await Eventually.WaitAsync(() => Task.FromResult(Announced(offerId)), a => a.Any(e => e.Type == "trade.expired"), "trade.expired to be announced");

        Assert.All(factory.Receiver.Received.Where(r => r.Body.Contains(offerId, StringComparison.Ordinal)), r => Assert.True(r.ValidSignature));
        (string, string)[] expected =
        [
            ("trade.matched", "trade-" + paid), ("trade.matched", "trade-" + cancelled), ("trade.matched", "trade-" + unpaid), ("trade.settled", "trade-" + paid),
            ("trade.cancelled", "trade-" + cancelled), ("offer.expired", "offer-" + offerId), ("trade.expired", "trade-" + unpaid),
        ];
        Assert.Equal(expected.Order(), announced.Select(a => (a.Type, a.Stream)).Order());
        var settled = announced.Single(a => a.Type == "trade.settled").Payload;
        Assert.Equal($"ref-{offerId}", (string?)settled["data"]!["settlement"]!["paymentReference"]);
    }

    /// <summary>Each event of this test announced, once per event id (a retried delivery repeats its id).</summary>
    private List<(string Type, string Stream, JsonNode Payload)> Announced(string marker) =>
        [.. factory.Receiver.Received.Where(r => r.Accepted && r.Body.Contains(marker, StringComparison.Ordinal)).DistinctBy(r => r.EventId)
            .Select(r => JsonNode.Parse(r.Body)!)
            .Select(p => ((string)p["type"]!, (string)p["streamId"]!, p))];
}
