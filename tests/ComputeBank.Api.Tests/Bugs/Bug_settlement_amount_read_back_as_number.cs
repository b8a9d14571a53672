using System.Net;
using System.Text.Json.Nodes;

namespace ComputeBank.Api.Tests.Bugs;

/// <summary>
/// A settlement sent as <c>"1200.00"</c> came back in the event data of the history and the event feed as the JSON
/// number <c>1200.00</c>, which a client parses to <c>1200.0</c> (and <c>"1200.50"</c> to <c>1200.5</c>): the domain
/// writes the decimal as a number. The read side now renders it as a string with exactly 2 decimals; the stored events
/// (and their hash chain) are unchanged.
/// </summary>
public sealed class Bug_settlement_amount_read_back_as_number(ApiFactory factory) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task GivenTransfersWithSettlements_WhenReadingHistoryAndFeed_ThenAmountsAreStringsWithTwoDecimals()
    {
        var client = new LedgerClient(factory.CreateClient());
        (await client.OpenAsync("prov-s", "provider")).ShouldBe(HttpStatusCode.Created);
        (await client.OpenAsync("cons-s")).ShouldBe(HttpStatusCode.Created);
        (await client.DepositAsync("dep-s", "prov-s", "10")).ShouldBe(HttpStatusCode.Created);
        (await client.TransferAsync("tr-s-1", "prov-s", "cons-s", "1",
            settlement: new { amount = "1200.00", currency = "CNY", rail = "e-cny", paymentReference = "p-1" })).ShouldBe(HttpStatusCode.Created);
        (await client.TransferAsync("tr-s-2", "prov-s", "cons-s", "1",
            settlement: new { amount = 7.5m, currency = "CNY", rail = "bank-transfer", paymentReference = "p-2" })).ShouldBe(HttpStatusCode.Created);

        // What is stored stays the domain's number (the hash chain covers it).
        Assert.Equal("1200.00", await factory.Database.ScalarAsync<string>(
            "SELECT data->'settlement'->>'amount' FROM cb.events WHERE stream_id LIKE '%cons-s' AND data->>'operationId' = 'tr-s-1'"));

        var history = (await client.GetAsync("/api/v1/accounts/cons-s/history")).ShouldBe(HttpStatusCode.OK);
        Assert.Equal(["1200.00", "7.50"], Amounts(history.Body!["events"]!));

        var feed = (await client.GetAsync("/api/v1/events?limit=1000")).ShouldBe(HttpStatusCode.OK);
        Assert.Equal(["1200.00", "1200.00", "7.50", "7.50"], Amounts(feed.Body!["events"]!));

        var report = (await client.GetAsync("/api/v1/audit/verify")).ShouldBe(HttpStatusCode.OK);
        Assert.True((bool)report.Body!["ok"]!, report.Text);
    }

    /// <summary>Every settlement amount in a list of events, as its JSON text (a string keeps its quotes).</summary>
    private static List<string> Amounts(JsonNode events) =>
        [.. events.AsArray()
            .Select(e => e!["data"]!["settlement"]?["amount"])
            .Where(a => a is not null)
            .Select(a => a!.GetValueKind() == System.Text.Json.JsonValueKind.String ? (string)a! : "number " + a.ToJsonString())];
}
