using ComputeBank.Api.Tests.Durable;
using ComputeBank.Api.Tests.Market;

namespace ComputeBank.Api.Tests.Bugs;

/// <summary>
/// Found by the market's audit tests: audit verify's market findings (an offer's hours against its trades, a provider's
/// pending hours) passed their field, expected and found values by position, one place off, so a report said
/// <c>"resourceClass": "hoursSold", "field": "5.000"</c> and left <c>found</c> empty. They are named now.
/// </summary>
public sealed class Bug_market_audit_findings_named_the_field_as_the_resource_class(DurableApiFactory factory) : AsyncCommandTestsBase(factory)
{
    [Fact]
    public async Task GivenATradesHoursEditedInTheEvents_WhenVerifying_ThenTheOfferIsNamed_WithTheFieldAndBothValues()
    {
        var (offerId, paid, _) = await Client.PaidAndCancelledTradesAsync();

        await Factory.Database.ExecuteAsync(
            $"UPDATE cb.mt_events SET data = jsonb_set(data, '{{hours}}', '\"5.000\"') WHERE stream_id = 'trade-{paid}' AND type = 'V1.TradeOpened'");
        var report = await Client.VerifyAsync();

        var sold = Assert.Single(MarketClient.Findings(report, "market_hours"), d => (string?)d["streamId"] == "offer-" + offerId);
        Assert.Equal(("hoursSold", "5.000", "4.000", null), ((string?)sold["field"], (string?)sold["expected"], (string?)sold["found"], (string?)sold["resourceClass"]));
        Assert.Contains(MarketClient.Findings(report, "hash_chain"), d => (string?)d["streamId"] == "trade-" + paid);
    }
}
