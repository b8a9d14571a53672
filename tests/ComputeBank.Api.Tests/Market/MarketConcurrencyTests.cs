using System.Net;
using ComputeBank.Api.Tests.Durable;

namespace ComputeBank.Api.Tests.Market;

/// <summary>
/// MARKET.md invariant 5 under concurrency: 32 orders at once against offers holding 10 h trade exactly 10 h, no offer
/// oversold, and every hour is accounted for (invariants 1 and 2); the same with the offers withdrawn while orders race.
/// </summary>
public sealed class MarketConcurrencyTests(DurableApiFactory factory) : IClassFixture<DurableApiFactory>
{
    private readonly LedgerClient _client = new(factory.CreateClient());

    [Fact]
    public async Task Given10HoursOnTheBook_When32OrdersRace_ThenExactly10HoursAreTraded_AndNoOfferIsOversold()
    {
        var (offers, provider) = await ListAsync("race", "2027-03");

        var answers = await Task.WhenAll(Enumerable.Range(0, 32).Select(i => _client.OrderAsync($"race-{i}", $"race-buyer-{i % 4}", "0.5", "100", period: "2027-03")));

        Assert.All(answers, a => Assert.True(a.Status == HttpStatusCode.Created || a.Code == "no_matching_offer", a.Text));
        var traded = answers.Where(a => a.Status == HttpStatusCode.Created).Sum(a => decimal.Parse((string)a.Body!["hoursFilled"]!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(10m, traded);
        await AssertAccountedForAsync(offers, provider, "2027-03");
    }

    [Fact]
    public async Task GivenOffersWithdrawnWhileOrdersRace_ThenNoHourIsTradedTwice_AndEveryHourIsAccountedFor()
    {
        var (offers, provider) = await ListAsync("wd", "2027-04");

        var orders = Enumerable.Range(0, 32).Select(i => _client.OrderAsync($"wd-{i}", $"wd-buyer-{i % 4}", "0.5", "100", period: "2027-04"));
        var withdrawals = offers.Select(o => _client.WithdrawOfferAsync(o));
        var answers = await Task.WhenAll(orders.Concat(withdrawals));

        Assert.All(answers, a => Assert.True(a.Status is HttpStatusCode.Created or HttpStatusCode.OK || a.Code == "no_matching_offer", a.Text));
        var traded = answers.Where(a => a.Status == HttpStatusCode.Created).Sum(a => decimal.Parse((string)a.Body!["hoursFilled"]!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(traded <= 10m, $"{traded} h traded from 10 h listed");
        await AssertAccountedForAsync(offers, provider, "2027-04");
    }

    private async Task<(List<string> Offers, string Provider)> ListAsync(string prefix, string period)
    {
        var provider = $"{prefix}-provider";
        (await _client.OpenAsync(provider, "provider")).ShouldBe(HttpStatusCode.Created);
        (await _client.DepositAsync($"{prefix}-dep", provider, "10", period: period)).ShouldBe(HttpStatusCode.Created);
        for (var i = 0; i < 4; i++)
        {
            (await _client.OpenAsync($"{prefix}-buyer-{i}")).ShouldBe(HttpStatusCode.Created);
        }

        var offers = new List<string>();
        foreach (var (hours, price, n) in new[] { ("4", "10.00", 1), ("3", "9.00", 2), ("2", "11.00", 3), ("1", "9.00", 4) })
        {
            var offerId = $"{prefix}-offer-{n}";
            (await _client.ListAsync(offerId, provider, hours, price, period: period)).ShouldBe(HttpStatusCode.Created);
            offers.Add(offerId);
        }

        return (offers, provider);
    }

    /// <summary>Per offer listed = left + in trades + sold + released, never traded beyond what was listed; and the
    /// provider's pending = what its open offers have left + its trades awaiting payment (invariants 1, 2 and 5).</summary>
    private async Task AssertAccountedForAsync(IReadOnlyList<string> offers, string provider, string period)
    {
        decimal onBook = 0, inTrades = 0;
        foreach (var offerId in offers)
        {
            var offer = await _client.OfferAsync(offerId);
            decimal H(string name) => decimal.Parse((string)offer[name]!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(H("hoursListed"), H("hoursLeft") + H("hoursInTrades") + H("hoursSold") + H("hoursReleased"));
            Assert.True(H("hoursInTrades") + H("hoursSold") <= H("hoursListed"));
            var traded = await factory.Database.ScalarAsync<decimal>(
                $"SELECT coalesce(sum((data->>'hours')::numeric), 0) FROM cb.events WHERE type = 'V1.TradeOpened' AND data->>'offerId' = '{offerId}'");
            Assert.Equal(H("hoursInTrades"), traded);
            onBook += (string?)offer["status"] is "open" or "filled" ? H("hoursLeft") : 0;
            inTrades += H("hoursInTrades");
        }

        var account = (await _client.GetAsync($"/api/v1/accounts/{provider}")).ShouldBe(HttpStatusCode.OK).Body!;
        var bucket = account["balances"]!.AsArray().Single(b => (string?)b!["period"] == period);
        Assert.Equal(onBook + inTrades, decimal.Parse((string)bucket!["pending"]!, System.Globalization.CultureInfo.InvariantCulture));
    }
}
