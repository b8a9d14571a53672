using System.Net;
using System.Text.Json.Nodes;

namespace ComputeBank.Api.Tests.Market;

/// <summary>The market's routes for tests: list, order, pay, cancel, and reading offers, trades and balances.</summary>
public static class MarketClient
{
    public static Task<Answer> ListAsync(
        this LedgerClient client, string offerId, string accountId, string hours, string unitPrice, string region = "beijing",
        DateTimeOffset? validUntil = null, string? minHours = null, string period = LedgerClient.Period) =>
        client.PostAsync("/api/v1/market/offers", new
        {
            offerId, accountId, resourceClass = "gpu.h100", region, period, hours, unitPrice, minHours,
            validUntil = (validUntil ?? DateTimeOffset.UtcNow.AddHours(1)).ToString("O"),
        });

    public static Task<Answer> OrderAsync(
        this LedgerClient client, string orderId, string accountId, string hours, string maxUnitPrice, string[]? regions = null,
        bool? allOrNothing = null, int? paymentWindowSeconds = null, string period = LedgerClient.Period) =>
        client.PostAsync("/api/v1/market/orders", new
        {
            orderId, accountId, resourceClass = "gpu.h100", period, regions, hours, maxUnitPrice, allOrNothing, paymentWindowSeconds,
        });

    public static Task<Answer> PayAsync(this LedgerClient client, string tradeId, string reference, string amount, string currency = "CNY") =>
        client.PostAsync($"/api/v1/market/trades/{Uri.EscapeDataString(tradeId)}/payments", new { paymentReference = reference, amount, currency, rail = "e-cny" });

    public static Task<Answer> CancelAsync(this LedgerClient client, string tradeId) =>
        client.PostAsync($"/api/v1/market/trades/{Uri.EscapeDataString(tradeId)}/cancel", null);

    public static Task<Answer> WithdrawOfferAsync(this LedgerClient client, string offerId) =>
        client.PostAsync($"/api/v1/market/offers/{Uri.EscapeDataString(offerId)}/withdraw", null);

    public static async Task<JsonNode> OfferAsync(this LedgerClient client, string offerId) =>
        (await client.GetAsync($"/api/v1/market/offers/{Uri.EscapeDataString(offerId)}")).ShouldBe(HttpStatusCode.OK).Body!;

    public static async Task<JsonNode> TradeAsync(this LedgerClient client, string tradeId) =>
        (await client.GetAsync($"/api/v1/market/trades/{Uri.EscapeDataString(tradeId)}")).ShouldBe(HttpStatusCode.OK).Body!;

    /// <summary>Opens a provider with <paramref name="hours"/> deposited in each of <paramref name="regions"/> (gpu.h100).</summary>
    public static async Task ProviderWithAsync(this LedgerClient client, string provider, string hours, params string[] regions)
    {
        (await client.OpenAsync(provider, "provider")).ShouldBe(HttpStatusCode.Created);
        foreach (var region in regions)
        {
            (await client.DepositAsync($"dep-{provider}-{region}", provider, hours, region: region)).ShouldBe(HttpStatusCode.Created);
        }
    }

    /// <summary>A provider lists 10 h at 3.00 in beijing; a consumer buys 4 h (paid) and 2 h (cancelled), from beijing only.</summary>
    public static async Task<(string OfferId, string Paid, string Cancelled)> PaidAndCancelledTradesAsync(this LedgerClient client)
    {
        static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";
        var (provider, consumer, offerId) = (Id("prov"), Id("cons"), Id("offer"));
        await client.ProviderWithAsync(provider, "20", "beijing");
        (await client.OpenAsync(consumer)).ShouldBe(HttpStatusCode.Created);
        (await client.ListAsync(offerId, provider, "10", "3.00")).ShouldBe(HttpStatusCode.Created);
        var paid = (string)(await client.OrderAsync(Id("order"), consumer, "4", "3", ["beijing"])).ShouldBe(HttpStatusCode.Created).Body!["trades"]![0]!["tradeId"]!;
        var cancelled = (string)(await client.OrderAsync(Id("order"), consumer, "2", "3", ["beijing"])).ShouldBe(HttpStatusCode.Created).Body!["trades"]![0]!["tradeId"]!;
        (await client.PayAsync(paid, Id("ref"), "12.00")).ShouldBe(HttpStatusCode.OK);
        (await client.CancelAsync(cancelled)).ShouldBe(HttpStatusCode.OK);
        return (offerId, paid, cancelled);
    }

    /// <summary>GET /api/v1/audit/verify.</summary>
    public static async Task<JsonNode> VerifyAsync(this LedgerClient client) => (await client.GetAsync("/api/v1/audit/verify")).ShouldBe(HttpStatusCode.OK).Body!;

    /// <summary>The discrepancies of a report with the given check.</summary>
    public static List<JsonNode> Findings(JsonNode report, string check) =>
        [.. report["discrepancies"]!.AsArray().Where(d => (string?)d!["check"] == check).Select(d => d!)];

    /// <summary>posted/pending/available of one gpu.h100 bucket.</summary>
    public static async Task<(string Posted, string Pending, string Available)> BucketAsync(this LedgerClient client, string accountId, string region)
    {
        var account = (await client.GetAsync($"/api/v1/accounts/{accountId}")).ShouldBe(HttpStatusCode.OK).Body!;
        var bucket = account["balances"]!.AsArray()
            .FirstOrDefault(b => (string?)b!["resourceClass"] == "gpu.h100" && (string?)b["region"] == region && (string?)b["period"] == LedgerClient.Period);
        return bucket is null ? ("0.000", "0.000", "0.000") : ((string)bucket["posted"]!, (string)bucket["pending"]!, (string)bucket["available"]!);
    }
}
