using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using ComputeBank.Messaging.Outbox;

namespace ComputeBank.Api.Tests.Durable;

/// <summary>A webhook receiver on 127.0.0.1 that fails its first deliveries, and the API configured to send it every
/// integration event.</summary>
public sealed class WebhookApiFactory : DurableApiFactory
{
    public const string Secret = "test-secret-0123456789";

    public WebhookReceiver Receiver { get; } = new(failFirst: 3);

    protected override void AddSettings(IDictionary<string, string?> settings)
    {
        settings["ComputeBank:Webhooks:Subscribers:0:Name"] = "test-receiver";
        settings["ComputeBank:Webhooks:Subscribers:0:Url"] = Receiver.Url;
        settings["ComputeBank:Webhooks:Subscribers:0:Secret"] = Secret;
        settings["ComputeBank:Webhooks:PollInterval"] = "00:00:00.100";
        settings["ComputeBank:Webhooks:RetryBaseDelay"] = "00:00:00.050";
        settings["ComputeBank:Webhooks:RetryMaxDelay"] = "00:00:00.300";
    }

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Receiver.Start();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Receiver.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>An HttpListener that answers 500 to its first <c>failFirst</c> requests and 200 afterwards, recording each.</summary>
public sealed class WebhookReceiver(int failFirst) : IDisposable
{
    private readonly HttpListener _listener = new();
    private int _requests;

    public string Url { get; } = $"http://127.0.0.1:{FreePort()}/hooks/";

    public ConcurrentBag<(string? EventId, string Body, bool ValidSignature, bool Accepted)> Received { get; } = [];

    /// <summary>The W3C <c>traceparent</c> header of every request (null where a request had none).</summary>
    public ConcurrentBag<string?> TraceParents { get; } = [];

    public void Start()
    {
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _ = Task.Run(LoopAsync);
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using var reader = new StreamReader(context.Request.InputStream);
            var body = await reader.ReadToEndAsync();
            var accepted = Interlocked.Increment(ref _requests) > failFirst;
            TraceParents.Add(context.Request.Headers["traceparent"]);
            Received.Add((context.Request.Headers[WebhookSignature.EventIdHeader], body,
                WebhookSignature.Verify(WebhookApiFactory.Secret, context.Request.Headers[WebhookSignature.Header], body), accepted));
            context.Response.StatusCode = accepted ? 200 : 500;
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}

public sealed class WebhookDeliveryTests : IClassFixture<WebhookApiFactory>
{
    private readonly WebhookApiFactory _factory;
    private readonly LedgerClient _client;

    public WebhookDeliveryTests(WebhookApiFactory factory)
    {
        _factory = factory;
        _client = new LedgerClient(factory.CreateClient());
    }

    [Fact]
    public async Task GivenReceiverFailingItsFirst3Deliveries_ThenItStillReceivesEveryEvent_EachSignatureValid()
    {
        var (provider, consumer) = ("prov-" + Guid.NewGuid().ToString("N")[..8], "cons-" + Guid.NewGuid().ToString("N")[..8]);
        await _client.FundAsync(provider, consumer, "10");
        var settlement = new { amount = "1200.00", currency = "CNY", rail = "e-cny", paymentReference = "ecny-2026-0001" };
        (await _client.TransferAsync("tr-" + consumer, consumer, provider, "1", settlement: settlement)).ShouldBe(HttpStatusCode.Created);
        var holdId = "hold-" + consumer;
        (await _client.PostAsync("/api/v1/holds", new
        {
            holdId, accountId = consumer, beneficiaryAccountId = provider, resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period,
            hours = "2", expiresAt = DateTimeOffset.UtcNow.AddHours(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        })).ShouldBe(HttpStatusCode.Created);
        (await _client.PostAsync($"/api/v1/holds/{holdId}/capture", null)).ShouldBe(HttpStatusCode.OK);

        var expected = await ExpectedEventIdsAsync();
        Assert.True(expected.Count >= 5, $"expected the deposit, two transfers, the hold placed and captured: {string.Join(", ", expected)}");
        await Eventually.WaitAsync(
            () => Task.FromResult(_factory.Receiver.Received.Where(r => r.Accepted).Select(r => r.EventId).ToHashSet()),
            received => expected.IsSubsetOf(received!), "every event to be delivered");
        await Eventually.WaitAsync(() => _factory.Database.ScalarAsync<long>("SELECT count(*) FROM cb.outbox"), n => n == 0, "the outbox to empty");

        var received = _factory.Receiver.Received.ToList();
        Assert.Equal(3, received.Count(r => !r.Accepted));
        Assert.All(received, r => Assert.True(r.ValidSignature, $"bad signature on {r.EventId}"));
        Assert.All(received, r => Assert.Equal(r.EventId, (string?)JsonNode.Parse(r.Body)!["id"]));
        // At least once: a failed attempt is sent again, so subscribers see an event id more than once and de-duplicate by it.
        var settled = received.Where(r => r.Accepted).DistinctBy(r => r.EventId).Select(r => JsonNode.Parse(r.Body)!).Single(p => (string?)p["type"] == "CreditsTransferred" && p["data"]!["settlement"] is not null);
        Assert.Equal("ecny-2026-0001", (string?)settled["data"]!["settlement"]!["paymentReference"]);
        Assert.Equal("tr-" + consumer, (string?)settled["operationId"]);
        Assert.Contains(received, r => (string?)JsonNode.Parse(r.Body)!["type"] == "HoldCaptured");
        Assert.False(WebhookSignature.Verify("another-secret", WebhookSignature.Sign(WebhookApiFactory.Secret, 1, "{}"), "{}"));
    }

    private async Task<HashSet<string?>> ExpectedEventIdsAsync()
    {
        await using var connection = await _factory.Database.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            "SELECT stream_id || '/' || version FROM cb.events WHERE type IN ('V1.CapacityDeposited', 'V1.CreditsWithdrawn', 'V1.CreditsTransferredOut', " +
            "'V1.HoldPlaced', 'V1.HoldCaptured', 'V1.HoldReleased', 'V1.HoldExpired')", connection);
        var ids = new HashSet<string?>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }
}
