using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using ComputeBank.Api.Hosting;
using ComputeBank.Messaging.Durable;
using Wolverine;
using Wolverine.Attributes;
using Wolverine.ErrorHandling;
using Wolverine.Runtime;
using Wolverine.Runtime.Handlers;

namespace ComputeBank.Api.Features.PublishingIntegrationEvents;

/// <summary>One integration event for one subscriber: a Wolverine message stored in the transaction of the commit that
/// wrote the event (<see cref="IntegrationEventsProjection"/>). <paramref name="EventId"/> is stable (the same event
/// always has the same id, on every retry), so a subscriber de-duplicates by it; <paramref name="Payload"/> is the exact
/// JSON body that is signed and sent.</summary>
[MessageIdentity(MessageType)]
public sealed record WebhookDelivery(string EventId, string Subscriber, string EventType, string Payload)
{
    /// <summary>Its message type in Wolverine's envelope tables (stable across renames of the class).</summary>
    public const string MessageType = "computebank.webhook-delivery";
}

/// <summary>
/// Delivers webhooks: Wolverine runs each <see cref="WebhookDelivery"/> from the durable local queue <c>webhooks</c>
/// (persisted with the events, recovered from a node that died), the handler POSTs it once (<see cref="WebhookSender"/>),
/// and a failed delivery is retried by Wolverine's error policy after a cooldown that grows with the attempts; after
/// <see cref="WebhookOptions.MaxAttempts"/> it is parked in Wolverine's dead letters for an operator. Delivery is at
/// least once: a node that dies after sending but before Wolverine marks the message handled sends it again.
/// </summary>
public static partial class WebhookDeliveryHandler
{
    /// <summary>The durable local queue deliveries run on.</summary>
    public const string Queue = "webhooks";

    public static void Route(WolverineOptions options, WebhookOptions webhooks)
    {
        options.PublishMessage<WebhookDelivery>().ToLocalQueue(Queue);
        options.LocalQueue(Queue).UseDurableInbox().MaximumParallelMessages(Math.Max(1, webhooks.Parallelism));
    }

    /// <summary>Wolverine calls this once for the handler's chain: every failure is retried after a cooldown, and parked
    /// once the attempts are used up.</summary>
    public static void Configure(HandlerChain chain) =>
        chain.OnAnyException().CustomActionIndefinitely(RetryOrParkAsync, "retry after a cooldown, park after MaxAttempts");

    public static async Task Handle(WebhookDelivery delivery, Envelope envelope, WebhookSender sender, ILogger<WebhookSender> logger, CancellationToken cancellationToken)
    {
        var attempt = Math.Max(1, envelope.Attempts);
        var error = await sender.SendAsync(delivery, attempt, cancellationToken);
        if (error is null)
        {
            DurableTelemetry.WebhooksDelivered.Add(1);
            return;
        }

        DurableTelemetry.WebhooksFailed.Add(1);
        LogDeliveryFailed(logger, delivery.EventId, delivery.Subscriber, attempt, error);
        throw new WebhookNotDelivered(delivery.EventId, delivery.Subscriber, error);
    }

    /// <summary>The error policy's action: park the delivery once it has had its attempts, else another attempt after
    /// <see cref="WebhookOptions.Cooldown"/>.</summary>
    private static async ValueTask RetryOrParkAsync(IWolverineRuntime runtime, IEnvelopeLifecycle lifecycle, Exception exception)
    {
        var options = runtime.Services.GetRequiredService<WebhookOptions>();
        var logger = runtime.Services.GetRequiredService<ILogger<WebhookSender>>();
        var attempts = lifecycle.Envelope?.Attempts ?? 1;
        var eventId = (lifecycle.Envelope?.Message as WebhookDelivery)?.EventId;
        if (exception is not WebhookNotDelivered)
        {
            // Wolverine's own error line for this message type is off by default (appsettings.json): a subscriber that
            // is down is routine and logged by Handle; anything else is ours to report.
            LogUnexpected(logger, eventId, exception);
        }

        if (attempts >= Math.Max(1, options.MaxAttempts))
        {
            LogParked(logger, eventId, attempts);
            DurableTelemetry.WebhooksParked.Add(1);
            await lifecycle.MoveToDeadLetterQueueAsync(exception);
            return;
        }

        await WolverineRetries.LaterAsync(lifecycle, options.Cooldown(attempts));
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Webhook delivery of event {EventId} to {Subscriber} failed at attempt {Attempt}: {Error}")]
    private static partial void LogDeliveryFailed(ILogger logger, string eventId, string subscriber, int attempt, string error);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Error, Message = "Webhook delivery of event {EventId} failed unexpectedly; it is retried")]
    private static partial void LogUnexpected(ILogger logger, string? eventId, Exception exception);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Warning, Message = "Webhook delivery of event {EventId} parked in the dead letters after {Attempts} attempts")]
    private static partial void LogParked(ILogger logger, string? eventId, int attempts);
}

/// <summary>A delivery the subscriber did not accept (an answer other than 2xx, a timeout, a connection refused).</summary>
public sealed class WebhookNotDelivered(string eventId, string subscriber, string error)
    : Exception($"Event {eventId} was not delivered to {subscriber}: {error}");

/// <summary>
/// Sends one delivery: POST of its JSON payload with <see cref="WebhookSignature"/> headers, the stable event id, the
/// attempt and the trace context of its span (a "send" to the subscriber, under Wolverine's span of the message).
/// </summary>
public sealed class WebhookSender(WebhookOptions options, TimeProvider time) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = options.RequestTimeout };
    private readonly Dictionary<string, WebhookSubscriber> _subscribers = options.Subscribers.ToDictionary(s => s.Key, StringComparer.Ordinal);

    /// <summary>Null when the subscriber accepted it (2xx), else what went wrong.</summary>
    public async Task<string?> SendAsync(WebhookDelivery delivery, int attempt, CancellationToken cancellationToken)
    {
        if (!_subscribers.TryGetValue(delivery.Subscriber, out var subscriber))
        {
            return $"subscriber '{delivery.Subscriber}' is no longer configured";
        }

        using var activity = DurableTelemetry.StartDelivery(subscriber.Key, delivery.EventId, delivery.EventType, attempt);
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
            request.Headers.Add("ComputeBank-Delivery-Attempt", attempt.ToString(CultureInfo.InvariantCulture));
            // The delivery's trace context (W3C traceparent by default), so a subscriber's own spans join its trace.
            DistributedContextPropagator.Current.Inject(activity, request.Headers,
                static (carrier, name, value) => ((HttpRequestHeaders)carrier!).TryAddWithoutValidation(name, value));

            using var response = await _http.SendAsync(request, cancellationToken);
            activity?.SetTag("http.response.status_code", (int)response.StatusCode);
            if (response.IsSuccessStatusCode)
            {
                activity?.SetStatus(ActivityStatusCode.Ok);
                return null;
            }

            var error = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
            activity?.SetTag("error.type", ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
            activity?.SetStatus(ActivityStatusCode.Error, error);
            return error;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or OperationCanceledException)
        {
            activity?.SetTag("error.type", ex.GetType().FullName);
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            return $"{ex.GetType().Name}: {ex.Message}";
        }
    }

    public void Dispose() => _http.Dispose();
}
