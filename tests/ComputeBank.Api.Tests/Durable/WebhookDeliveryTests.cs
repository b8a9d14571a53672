using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ComputeBank.Api.Features.PublishingIntegrationEvents;
using ComputeBank.Testing;

namespace ComputeBank.Api.Tests.Durable;

/// <summary>The API configured to send integration events to a <see cref="WebhookReceiver"/> on 127.0.0.1 (subscriber
/// <paramref name="subscriber"/>), with short retry delays.</summary>
public abstract class ReceiverApiFactory(int failFirst, string subscriber) : DurableApiFactory
{
    public WebhookReceiver Receiver { get; } = new(failFirst);

    protected override void AddSettings(IDictionary<string, string?> settings)
    {
        settings["ComputeBank:Webhooks:Subscribers:0:Name"] = subscriber;
        settings["ComputeBank:Webhooks:Subscribers:0:Url"] = Receiver.Url;
        settings["ComputeBank:Webhooks:Subscribers:0:Secret"] = WebhookApiFactory.Secret;
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

/// <summary>A receiver that fails its first three deliveries and accepts every one after.</summary>
public sealed class WebhookApiFactory() : ReceiverApiFactory(failFirst: 3, "test-receiver")
{
    public const string Secret = "test-secret-0123456789";
}

/// <summary>Counts of webhook deliveries in Wolverine's tables.</summary>
public static class WebhookBacklog
{
    /// <summary>Deliveries stored and not handled yet (due, running or waiting for a retry).</summary>
    public const string Pending =
        $"SELECT count(*) FROM wolverine.wolverine_incoming_envelopes WHERE message_type = '{WebhookDelivery.MessageType}' AND status <> 'Handled'";

    /// <summary>Deliveries parked in Wolverine's dead letters.</summary>
    public const string Parked = $"SELECT count(*) FROM wolverine.wolverine_dead_letters WHERE message_type = '{WebhookDelivery.MessageType}'";
}

/// <summary>A loopback receiver that answers 500 to its first <c>failFirst</c> requests and 200 afterwards, recording each.</summary>
public sealed class WebhookReceiver : IDisposable
{
    private readonly LoopbackHttpReceiver _receiver;
    private int _requests;

    public WebhookReceiver(int failFirst) => _receiver = new LoopbackHttpReceiver((request, body) =>
    {
        var accepted = Interlocked.Increment(ref _requests) > failFirst || AcceptFromNowOn;
        TraceParents.Add(request.Headers["traceparent"]);
        Received.Add((request.Headers[WebhookSignature.EventIdHeader], body,
            WebhookSignature.Verify(WebhookApiFactory.Secret, request.Headers[WebhookSignature.Header], body), accepted));
        return Task.FromResult(accepted ? 200 : 500);
    });

    public string Url => _receiver.Url;

    public ConcurrentBag<(string? EventId, string Body, bool ValidSignature, bool Accepted)> Received { get; } = [];

    /// <summary>Set to accept every request from now on (a subscriber that came back).</summary>
    public bool AcceptFromNowOn { get; set; }

    /// <summary>The W3C <c>traceparent</c> header of every request (null where a request had none).</summary>
    public ConcurrentBag<string?> TraceParents { get; } = [];

    public void Start() => _receiver.Start();

    public void Dispose() => _receiver.Dispose();
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
        await Eventually.WaitAsync(() => _factory.Database.ScalarAsync<long>(WebhookBacklog.Pending), n => n == 0, "every delivery to be handled");

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

    [Fact]
    public async Task GivenTheSameEventCommittedOnce_ThenItsDeliveryIsOneWolverineEnvelope_WrittenInTheEventsTransaction()
    {
        var (provider, consumer) = ("prov-" + Guid.NewGuid().ToString("N")[..8], "cons-" + Guid.NewGuid().ToString("N")[..8]);
        await _client.FundAsync(provider, consumer, "3");
        // A refused command writes no event, so it announces nothing: the deliveries are exactly the committed events.
        (await _client.TransferAsync("tr-refused-" + consumer, consumer, provider, "1000")).ShouldBe(HttpStatusCode.UnprocessableEntity);

        var ours = (string? id) => id is not null && (id.StartsWith($"account-{provider}/", StringComparison.Ordinal) || id.StartsWith($"account-{consumer}/", StringComparison.Ordinal));
        var committed = await _factory.Database.ScalarAsync<long>(
            $"SELECT count(*) FROM cb.events WHERE stream_id IN ('account-{provider}', 'account-{consumer}') AND type IN ('V1.CapacityDeposited', 'V1.CreditsTransferredOut')");
        await Eventually.WaitAsync(
            () => Task.FromResult(_factory.Receiver.Received.Where(r => r.Accepted && ours(r.EventId)).Select(r => r.EventId).Distinct().Count()),
            n => n == committed, "one delivered event id per committed event of the two accounts");
        Assert.Equal(2, committed);
        Assert.Equal(committed, await _factory.Database.ScalarAsync<long>(
            $"SELECT count(*) FROM wolverine.wolverine_incoming_envelopes WHERE message_type = '{WebhookDelivery.MessageType}' AND id = ANY(ARRAY[" +
            string.Join(", ", _factory.Receiver.Received.Where(r => ours(r.EventId)).Select(r => r.EventId).Distinct()
                .Select(id => $"'{IntegrationEventsProjection.DeliveryId("test-receiver", id!)}'::uuid")) + "])"));
        Assert.DoesNotContain(_factory.Receiver.Received, r => r.Body.Contains("tr-refused-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GivenDeliveriesLeftInTheOutboxOfAnEarlierVersion_WhenANodeAdoptsThem_ThenEachIsDelivered_AndTheTableIsGone()
    {
        var (pending, parked) = ("earlier-" + Guid.NewGuid().ToString("N")[..8] + "/1", "earlier-" + Guid.NewGuid().ToString("N")[..8] + "/1");
        // The outbox table as the version before webhooks ran on Wolverine created it, with a delivery still to send and
        // one parked after its attempts.
        await _factory.Database.ExecuteAsync(
            "CREATE TABLE cb.outbox (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event_id text NOT NULL, subscriber text NOT NULL, " +
            "event_type text NOT NULL, payload jsonb NOT NULL, status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'dead')), " +
            "attempts integer NOT NULL DEFAULT 0, available_at timestamptz NOT NULL DEFAULT now(), locked_until timestamptz, owner text, " +
            "lease_token uuid, last_error text, created_at timestamptz NOT NULL DEFAULT now(), UNIQUE (event_id, subscriber)); " +
            "INSERT INTO cb.outbox (event_id, subscriber, event_type, payload, status, attempts) VALUES " +
            $"('{pending}', 'test-receiver', 'CapacityDeposited', '{{\"id\": \"{pending}\", \"type\": \"CapacityDeposited\"}}', 'pending', 2), " +
            $"('{parked}', 'test-receiver', 'CapacityDeposited', '{{\"id\": \"{parked}\", \"type\": \"CapacityDeposited\"}}', 'dead', 150)");
        var outbox = _factory.Services.GetRequiredService<EarlierOutbox>();

        Assert.Equal(2, await outbox.AdoptAsync(CancellationToken.None));

        Assert.Equal(0, await _factory.Database.ScalarAsync<long>("SELECT count(*) FROM pg_tables WHERE schemaname = 'cb' AND tablename = 'outbox'"));
        await Eventually.WaitAsync(
            () => Task.FromResult(_factory.Receiver.Received.Where(r => r.Accepted).Select(r => r.EventId).ToHashSet()),
            received => received.Contains(pending) && received.Contains(parked), "both adopted deliveries to be delivered");
        Assert.All(_factory.Receiver.Received.Where(r => r.EventId == pending || r.EventId == parked), r => Assert.True(r.ValidSignature));
        Assert.Equal(0, await outbox.AdoptAsync(CancellationToken.None));
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

/// <summary>A receiver that never accepts, of deposits only, and two attempts per delivery; every log entry kept.</summary>
public sealed class ParkingWebhookApiFactory() : ReceiverApiFactory(failFirst: int.MaxValue, "down-receiver")
{
    public ConcurrentQueue<(string Category, LogLevel Level, int EventId)> Logged { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureLogging(logging => logging.AddProvider(new CapturingProvider(Logged)));
    }

    private sealed class CapturingProvider(ConcurrentQueue<(string, LogLevel, int)> logged) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Capturing(logged, categoryName);

        public void Dispose()
        {
        }

        private sealed class Capturing(ConcurrentQueue<(string, LogLevel, int)> logged, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                logged.Enqueue((category, logLevel, eventId.Id));
        }
    }

    protected override void AddSettings(IDictionary<string, string?> settings)
    {
        base.AddSettings(settings);
        settings["ComputeBank:Webhooks:Subscribers:0:EventTypes:0"] = "CapacityDeposited";
        settings["ComputeBank:Webhooks:MaxAttempts"] = "2";
    }

    /// <summary>Opens a provider account named <paramref name="prefix"/> plus a random suffix and deposits into it;
    /// returns the id of the deposit's event, the one delivery the receiver gets.</summary>
    public async Task<string> DepositAsync(string prefix)
    {
        var client = new LedgerClient(CreateClient());
        var provider = prefix + Guid.NewGuid().ToString("N")[..8];
        (await client.OpenAsync(provider, "provider")).ShouldBe(HttpStatusCode.Created);
        (await client.DepositAsync("dep-" + provider, provider, "4")).ShouldBe(HttpStatusCode.Created);
        return $"account-{provider}/2";
    }
}

public sealed class WebhookParkingTests(ParkingWebhookApiFactory factory) : IClassFixture<ParkingWebhookApiFactory>
{
    [Fact]
    public async Task GivenASubscriberThatNeverAccepts_ThenADeliveryIsTriedMaxAttemptsTimes_AndParkedInWolverinesDeadLetters()
    {
        var eventId = await factory.DepositAsync("prov-");

        await Eventually.WaitAsync(() => factory.Database.ScalarAsync<long>(WebhookBacklog.Parked), n => n == 1, "the delivery to be parked");
        Assert.Equal(0, await factory.Database.ScalarAsync<long>(WebhookBacklog.Pending));
        var attempts = factory.Receiver.Received.Where(r => r.EventId == eventId).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.All(attempts, r => Assert.False(r.Accepted));
        var letter = await factory.Database.ScalarAsync<string>(
            $"SELECT exception_type FROM wolverine.wolverine_dead_letters WHERE message_type = '{WebhookDelivery.MessageType}'");
        Assert.Equal(typeof(WebhookNotDelivered).FullName, letter);
        // A subscriber that is down is routine: one Information line per failed attempt and a Warning when parked, no
        // error with a stack trace from Wolverine for each attempt.
        var logged = factory.Logged.ToList();
        Assert.Equal(2, logged.Count(l => l.EventId == 2201 && l.Level == LogLevel.Information));
        Assert.Equal(1, logged.Count(l => l.EventId == 2202 && l.Level == LogLevel.Warning));
        Assert.DoesNotContain(logged, l => l.Level >= LogLevel.Error && l.Category.Contains("Webhook", StringComparison.Ordinal));
    }
}

/// <summary>Parked deliveries are Wolverine dead letters, so an operator replays them the way Wolverine offers. Its own
/// host: the subscriber comes back in this test.</summary>
public sealed class WebhookReplayTests(ParkingWebhookApiFactory factory) : IClassFixture<ParkingWebhookApiFactory>
{
    [Fact]
    public async Task GivenAParkedDelivery_WhenAnOperatorMarksItReplayable_ThenWolverineSendsItAgain_AndTheLetterIsGone()
    {
        var eventId = await factory.DepositAsync("replay-");
        var letter = $"SELECT count(*) FROM wolverine.wolverine_dead_letters WHERE message_type = '{WebhookDelivery.MessageType}' " +
                     $"AND id = '{IntegrationEventsProjection.DeliveryId("down-receiver", eventId)}'";
        await Eventually.WaitAsync(() => factory.Database.ScalarAsync<long>(letter), n => n == 1, "the delivery to be parked");

        // The subscriber is back; the operator replays the parked delivery the way Wolverine offers (docs/configuration.md).
        factory.Receiver.AcceptFromNowOn = true;
        await factory.Database.ExecuteAsync(
            $"UPDATE wolverine.wolverine_dead_letters SET replayable = true WHERE message_type = '{WebhookDelivery.MessageType}' " +
            $"AND id = '{IntegrationEventsProjection.DeliveryId("down-receiver", eventId)}'");

        await Eventually.WaitAsync(
            () => Task.FromResult(factory.Receiver.Received.Count(r => r.EventId == eventId && r.Accepted)), n => n == 1, "the replayed delivery to arrive");
        Assert.Equal(0, await factory.Database.ScalarAsync<long>(letter));
        Assert.All(factory.Receiver.Received.Where(r => r.EventId == eventId), r => Assert.True(r.ValidSignature));
    }
}
