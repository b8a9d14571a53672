using System.Diagnostics;
using System.Net;
using ComputeBank.Api.Tests.Durable;
using OpenTelemetry.Metrics;

namespace ComputeBank.Api.Tests.Observability;

/// <summary>The telemetry host with durable messaging switched to short delays, one dead letter's worth of attempts,
/// and a webhook receiver on 127.0.0.1 that fails its first two deliveries.</summary>
public sealed class MessagingTelemetryApiFactory : TelemetryApiFactory
{
    public const string Subscriber = "telemetry-receiver";

    public MessagingTelemetryApiFactory()
    {
        Settings["ComputeBank:Durable:RetryBaseDelay"] = "00:00:00.050";
        Settings["ComputeBank:Durable:RetryMaxDelay"] = "00:00:00.100";
        Settings["ComputeBank:Durable:MaxAttempts"] = "2";
        Settings["ComputeBank:Webhooks:Subscribers:0:Name"] = Subscriber;
        Settings["ComputeBank:Webhooks:Subscribers:0:Url"] = Receiver.Url;
        Settings["ComputeBank:Webhooks:Subscribers:0:Secret"] = WebhookApiFactory.Secret;
        Settings["ComputeBank:Webhooks:RetryBaseDelay"] = "00:00:00.050";
        Settings["ComputeBank:Webhooks:RetryMaxDelay"] = "00:00:00.200";
        Receiver.Start();
    }

    public WebhookReceiver Receiver { get; } = new(failFirst: 2);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Receiver.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>Durable messaging as an operator sees it: spans of every webhook delivery under Wolverine's span of its message, and
/// gauges of what the queue, the dead letters and the outbox have not finished.</summary>
[Collection(SerialMetricsCollection.Name)]
public sealed class MessagingTelemetryTests(MessagingTelemetryApiFactory factory) : IClassFixture<MessagingTelemetryApiFactory>
{
    private readonly LedgerClient _client = new(factory.CreateClient());

    [Fact]
    public async Task GivenReceiverFailingItsFirstDeliveries_ThenEachDeliveryIsASendSpanUnderWolverinesSpan_WithItsOutcome_AndCarriesTheTrace()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        await _client.FundAsync("tel-provider-" + suffix, "tel-consumer-" + suffix, "5");

        await Eventually.WaitAsync(() => factory.Database.ScalarAsync<long>(WebhookBacklog.Pending), n => n == 0, "every delivery to be handled");
        await Eventually.WaitAsync(() => Task.FromResult(Sends().Count(s => s.Status == ActivityStatusCode.Ok)), n => n > 0, "a delivered span to be exported");

        var sends = Sends();
        var failed = sends.Where(s => s.Status == ActivityStatusCode.Error).ToList();
        var delivered = sends.Where(s => s.Status == ActivityStatusCode.Ok).ToList();
        Assert.Equal(2, failed.Count);
        Assert.All(failed, s => Assert.Equal(500, s.GetTagItem("http.response.status_code")));
        Assert.All(delivered, s => Assert.Equal(200, s.GetTagItem("http.response.status_code")));
        Assert.All(sends, s =>
        {
            Assert.Equal(ActivityKind.Producer, s.Kind);
            Assert.Equal("send", s.GetTagItem("messaging.operation.type"));
            Assert.False(string.IsNullOrEmpty(s.GetTagItem("messaging.message.id") as string));
            var parent = Assert.Single(factory.SpansOf(s.TraceId), p => p.SpanId == s.ParentSpanId);
            // Wolverine's span of the delivery message it ran from the queue 'webhooks'.
            Assert.Equal("Wolverine", parent.Source.Name);
        });
        var retried = failed.Select(s => s.GetTagItem("messaging.message.id")).ToHashSet();
        Assert.All(retried, id => Assert.Contains(delivered, s => Equals(s.GetTagItem("messaging.message.id"), id) && (int)s.GetTagItem("computebank.delivery.attempt")! > 1));
        // Every request carried the trace context of its send span: sampled, and since OpenTelemetry 1.21 also marked
        // as having a random trace id (W3C Trace Context level 2, flags 03).
        var traceParents = factory.Receiver.TraceParents.ToHashSet();
        Assert.All(sends, s => Assert.True(s.ActivityTraceFlags.HasFlag(ActivityTraceFlags.Recorded)));
        Assert.All(sends, s => Assert.Contains($"00-{s.TraceId.ToHexString()}-{s.SpanId.ToHexString()}-{(int)s.ActivityTraceFlags:x2}", traceParents));
    }

    [Fact]
    public async Task GivenADeadLetterAndAPendingCommand_ThenTheBacklogGaugesCountThem_AndAReplayTakesTheLetterOff()
    {
        var dead = "tel-dead-" + Guid.NewGuid().ToString("N")[..8];
        var later = "tel-later-" + Guid.NewGuid().ToString("N")[..8];
        // A pending row whose message is elsewhere (it names an envelope, so it is not adopted), as one waiting for a retry.
        await factory.Database.ExecuteAsync(
            "INSERT INTO cb.command_queue (operation_id, command_type, fingerprint, body, available_at, envelope_id) VALUES " +
            $"('{later}', 'from-a-newer-node', '', '{{}}', now(), gen_random_uuid())");
        await factory.QueueAsAnEarlierVersionAsync(factory.Database, dead, "from-a-newer-node", "{}");
        await Eventually.WaitAsync(
            () => factory.Database.ScalarAsync<long>($"SELECT count(*) FROM cb.dead_letters WHERE operation_id = '{dead}'"), n => n == 1, "the dead letter");
        var letters = await factory.Database.ScalarAsync<long>("SELECT count(*) FROM cb.dead_letters WHERE replayed_at IS NULL");
        var pending = await factory.Database.ScalarAsync<long>("SELECT count(*) FROM cb.command_queue WHERE status = 'pending'");

        var metrics = await CollectFreshAsync();
        Assert.Equal(letters, Gauge(metrics, "computebank.messaging.dead_letters"));
        Assert.True(letters >= 1);
        Assert.Equal(pending, Gauge(metrics, "computebank.messaging.queue.pending"));
        Assert.True(pending >= 1, "the command waiting for its message is pending");
        Assert.Equal(await factory.Database.ScalarAsync<long>(WebhookBacklog.Pending), Gauge(metrics, "computebank.messaging.outbox.pending"));
        Assert.Equal(0, Gauge(metrics, "computebank.messaging.outbox.parked"));

        var letterId = await factory.Database.ScalarAsync<long>($"SELECT id FROM cb.dead_letters WHERE operation_id = '{dead}'");
        // The replay fails again (the type is still unknown) and goes back to the dead letters as a new letter: the gauge
        // counts letters not replayed, so it ends where it was, while the replayed letter is marked.
        (await _client.PostAsync($"/api/v1/dead-letters/{letterId}/replay", null)).ShouldBe(HttpStatusCode.Accepted);
        await Eventually.WaitAsync(
            () => factory.Database.ScalarAsync<long>($"SELECT count(*) FROM cb.dead_letters WHERE operation_id = '{dead}'"), n => n == 2, "the second dead letter");
        Assert.Equal(letters, Gauge(await CollectFreshAsync(), "computebank.messaging.dead_letters"));
        await factory.Database.ExecuteAsync($"UPDATE cb.dead_letters SET replayed_at = now() WHERE operation_id = '{dead}'");
        Assert.Equal(letters - 1, Gauge(await CollectFreshAsync(), "computebank.messaging.dead_letters"));
    }

    private List<Activity> Sends()
    {
        lock (factory.Spans)
        {
            return [.. factory.Spans.Where(s => s.DisplayName == $"send {MessagingTelemetryApiFactory.Subscriber}")];
        }
    }

    // The gauges read the tables at most once a second: wait past that so a collection sees the current rows.
    private async Task<IReadOnlyList<Metric>> CollectFreshAsync()
    {
        await Task.Delay(TimeSpan.FromMilliseconds(1100));
        return factory.CollectMetrics();
    }

    private static long Gauge(IReadOnlyList<Metric> metrics, string name)
    {
        var metric = Assert.Single(metrics, m => m.Name == name);
        var values = new List<long>();
        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            values.Add(point.GetGaugeLastValueLong());
        }

        return Assert.Single(values);
    }
}
