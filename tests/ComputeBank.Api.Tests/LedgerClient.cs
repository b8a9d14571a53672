using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ComputeBank.Api.Tests;

/// <summary>A thin client over the HTTP API for tests: posts JSON, returns status, headers and the parsed body.</summary>
public sealed class LedgerClient(HttpClient http)
{
    public const string Period = "2026-11";

    public HttpClient Http => http;

    public async Task<Answer> PostAsync(string path, object? body, IDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = body is string raw
                ? new StringContent(raw, Encoding.UTF8, "application/json")
                : JsonContent.Create(body);
        }

        foreach (var (key, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(key, value);
        }

        return await SendAsync(request);
    }

    public async Task<Answer> PutAsync(string path, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(path, UriKind.Relative)) { Content = JsonContent.Create(body) };
        return await SendAsync(request);
    }

    public async Task<Answer> GetAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        return await SendAsync(request);
    }

    public async Task<Answer> SendAsync(HttpRequestMessage request)
    {
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonNode? body = null;
        if (text.Length > 0)
        {
            try
            {
                body = JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                body = JsonValue.Create(text);
            }
        }

        return new Answer(response.StatusCode, response.Content.Headers.ContentType?.MediaType, response.Headers.Contains("Idempotent-Replayed"), body, text);
    }

    public Task<Answer> OpenAsync(string accountId, string kind = "consumer", string? owner = null) =>
        PostAsync("/api/v1/accounts", new { accountId, ownerId = owner ?? accountId + "-owner", kind });

    public Task<Answer> DepositAsync(string depositId, string accountId, object hours, string resourceClass = "gpu.h100", string region = "beijing", string period = Period) =>
        PostAsync("/api/v1/deposits", new { depositId, accountId, resourceClass, region, period, hours });

    public Task<Answer> TransferAsync(string transferId, string from, string to, object hours, string period = Period, object? settlement = null) =>
        PostAsync("/api/v1/transfers", new { transferId, fromAccountId = from, toAccountId = to, resourceClass = "gpu.h100", region = "beijing", period, hours, settlement });

    public Task<Answer> WithdrawAsync(string withdrawalId, string accountId, object hours, string period = Period) =>
        PostAsync("/api/v1/withdrawals", new { withdrawalId, accountId, resourceClass = "gpu.h100", region = "beijing", period, hours, jobReference = "job-1" });

    /// <summary>Opens a provider and a consumer and gives the consumer <paramref name="hours"/> of gpu.h100/beijing credits.</summary>
    public async Task FundAsync(string provider, string consumer, string hours)
    {
        (await OpenAsync(provider, "provider")).ShouldBe(HttpStatusCode.Created);
        (await OpenAsync(consumer)).ShouldBe(HttpStatusCode.Created);
        (await DepositAsync($"dep-{provider}-{consumer}", provider, hours)).ShouldBe(HttpStatusCode.Created);
        (await TransferAsync($"fund-{provider}-{consumer}", provider, consumer, hours)).ShouldBe(HttpStatusCode.Created);
    }

    /// <summary>The event sequence GET /pools of a bucket says its totals include (how far the async projection has read).</summary>
    public async Task<long> PoolAsOfAsync(string bucket = $"gpu.h100/beijing/{Period}") =>
        (long)(await GetAsync($"/api/v1/pools/{bucket}")).ShouldBe(HttpStatusCode.OK).Body!["asOfSequence"]!;

    /// <summary>The posted/pending/available of one bucket of an account, from GET /accounts/{id}.</summary>
    public async Task<(string Posted, string Pending, string Available)> BalanceAsync(string accountId, string period = Period)
    {
        var account = await GetAsync($"/api/v1/accounts/{accountId}");
        account.ShouldBe(HttpStatusCode.OK);
        var bucket = account.Body!["balances"]!.AsArray()
            .FirstOrDefault(b => (string?)b!["resourceClass"] == "gpu.h100" && (string?)b["region"] == "beijing" && (string?)b["period"] == period);
        return bucket is null ? ("0.000", "0.000", "0.000") : ((string)bucket["posted"]!, (string)bucket["pending"]!, (string)bucket["available"]!);
    }
}

/// <summary>One HTTP answer.</summary>
public sealed record Answer(HttpStatusCode Status, string? ContentType, bool Replayed, JsonNode? Body, string Text)
{
    public string? Code => Body is JsonObject o ? (string?)o["code"] : null;

    public Answer ShouldBe(HttpStatusCode status)
    {
        Assert.True(Status == status, $"Expected {(int)status} but got {(int)Status}: {Text}");
        return this;
    }

    public Answer ShouldBeProblem(HttpStatusCode status, string code)
    {
        ShouldBe(status);
        Assert.Equal("application/problem+json", ContentType);
        Assert.Equal(code, Code);
        Assert.Equal((int)status, (int?)Body!["status"]);
        Assert.False(string.IsNullOrEmpty((string?)Body["title"]));
        return this;
    }
}
