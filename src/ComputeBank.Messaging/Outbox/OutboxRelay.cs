using System.Text;
using ComputeBank.Messaging.Durable;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ComputeBank.Messaging.Outbox;

/// <summary>
/// Relays outbox rows to their webhook subscribers after the transaction that wrote them commits: claims due rows in
/// small batches under a lease, POSTs each (JSON body, <see cref="WebhookSignature"/> headers, the stable event id),
/// deletes it on a 2xx, and otherwise reschedules it with exponential backoff and jitter. Delivery is at least once:
/// a relay that dies after sending but before deleting leaves the row to be sent again when its lease runs out (the
/// recovery sweep is the claim's own predicate), and subscribers de-duplicate by the event id.
/// </summary>
public sealed partial class OutboxRelay(
    OutboxStore store, Npgsql.NpgsqlDataSource dataSource, WebhookOptions options, TimeProvider time, ILogger<OutboxRelay> logger)
    : IHostedService, IAsyncDisposable
{
    private readonly WakeSignal _signal = new();
    private readonly Lock _gate = new();
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = options.RequestTimeout };
    private CancellationTokenSource? _stopping;
    private Task _running = Task.CompletedTask;

    public string Owner { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_stopping is not null || options.Subscribers.Count == 0)
            {
                return Task.CompletedTask;
            }

            var stopping = _stopping = new CancellationTokenSource();
            var listener = new ChannelListener(dataSource, store.Channel, _signal, options.PollInterval, ex => LogListenFailed(logger, ex.Message));
            _running = Task.WhenAll(Task.Run(() => LoopAsync(stopping.Token), CancellationToken.None), Task.Run(() => listener.RunAsync(stopping.Token), CancellationToken.None));
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        CancellationTokenSource? stopping;
        Task running;
        lock (_gate)
        {
            (stopping, _stopping, running) = (_stopping, null, _running);
        }

        if (stopping is null)
        {
            return;
        }

        await stopping.CancelAsync();
        await running.WaitAsync(cancellationToken);
        stopping.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        _http.Dispose();
    }

    /// <summary>One pass: claims a batch, delivers it in parallel, records the outcomes. Returns how many rows it claimed.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var claimed = await store.ClaimAsync(Owner, Math.Max(1, options.BatchSize), options.LeaseDuration, time.GetUtcNow(), cancellationToken);
        if (claimed.Count == 0)
        {
            return 0;
        }

        using var activity = DurableTelemetry.Start("publish", store.Channel, claimed.Count);
        var subscribers = options.Subscribers.ToDictionary(s => s.Key, StringComparer.Ordinal);
        var results = await Task.WhenAll(claimed.Select(d => DeliverAsync(d, subscribers.GetValueOrDefault(d.Subscriber), cancellationToken)));
        var now = time.GetUtcNow();
        var delivered = claimed.Where((_, i) => results[i] is null).Select(d => d.Id).ToList();
        var failed = claimed.Select((d, i) => (Delivery: d, Error: results[i])).Where(r => r.Error is not null)
            .Select(r => (r.Delivery.Id, Dead: r.Delivery.Attempts >= options.MaxAttempts, RetryAt: now + Backoff(r.Delivery.Attempts), r.Error!))
            .ToList();
        await store.DeliveredAsync(claimed[0].LeaseToken, delivered, CancellationToken.None);
        await store.FailedAsync(claimed[0].LeaseToken, failed, CancellationToken.None);
        DurableTelemetry.WebhooksDelivered.Add(delivered.Count);
        DurableTelemetry.WebhooksFailed.Add(failed.Count);
        foreach (var failure in failed)
        {
            LogDeliveryFailed(logger, claimed.First(c => c.Id == failure.Id).EventId, failure.Item4, failure.Dead);
        }

        return claimed.Count;
    }

    /// <summary>Null when delivered, else the error.</summary>
    private async Task<string?> DeliverAsync(OutboxDelivery delivery, WebhookSubscriber? subscriber, CancellationToken cancellationToken)
    {
        if (subscriber is null)
        {
            return $"subscriber '{delivery.Subscriber}' is no longer configured";
        }

        using var activity = DurableTelemetry.StartDelivery(subscriber.Key, delivery.EventId, delivery.EventType, delivery.Attempts);
        try
        {
            var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
            using var request = new HttpRequestMessage(HttpMethod.Post, subscriber.Url)
            {
                Content = new StringContent(delivery.Payload, Encoding.UTF8, "application/json"),
            };
            request.Headers.Add(WebhookSignature.Header, WebhookSignature.Sign(subscriber.Secret, timestamp, delivery.Payload));
            request.Headers.Add(WebhookSignature.EventIdHeader, delivery.EventId);
            request.Headers.Add(WebhookSignature.EventTypeHeader, delivery.EventType);
            request.Headers.Add("ComputeBank-Delivery-Attempt", delivery.Attempts.ToString(System.Globalization.CultureInfo.InvariantCulture));
            // The delivery's trace context (W3C traceparent by default), so a subscriber's own spans join its trace.
            System.Diagnostics.DistributedContextPropagator.Current.Inject(activity, request.Headers,
                static (carrier, name, value) => ((System.Net.Http.Headers.HttpRequestHeaders)carrier!).TryAddWithoutValidation(name, value));

            using var response = await _http.SendAsync(request, cancellationToken);
            activity?.SetTag("http.response.status_code", (int)response.StatusCode);
            if (response.IsSuccessStatusCode)
            {
                activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Ok);
                return null;
            }

            var error = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
            activity?.SetTag("error.type", ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, error);
            return error;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or OperationCanceledException)
        {
            activity?.SetTag("error.type", ex.GetType().FullName);
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, ex.Message);
            return $"{ex.GetType().Name}: {ex.Message}";
        }
    }

    private TimeSpan Backoff(int attempts)
    {
        var step = Math.Min(options.RetryMaxDelay.TotalMilliseconds, options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempts - 1, 20)));
        return TimeSpan.FromMilliseconds((step / 2) + (Random.Shared.NextDouble() * step / 2));
    }

    private async Task LoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var claimed = 0;
            var wait = options.PollInterval;
            try
            {
                claimed = await RunOnceAsync(stoppingToken);
                if (claimed < options.BatchSize && await store.NextDueAsync(stoppingToken) is { } due && due - time.GetUtcNow() < wait)
                {
                    wait = due - time.GetUtcNow();
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogPassFailed(logger, ex);
            }

            if (claimed < options.BatchSize)
            {
                await _signal.WaitAsync(wait, stoppingToken);
            }
        }
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Webhook delivery of event {EventId} failed ({Error}); parked: {Parked}")]
    private static partial void LogDeliveryFailed(ILogger logger, string eventId, string error, bool parked);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Warning, Message = "An outbox relay pass failed; its claimed rows are retried when their lease ends")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Debug, Message = "Outbox LISTEN connection failed ({Reason}); polling until it is back")]
    private static partial void LogListenFailed(ILogger logger, string reason);
}
