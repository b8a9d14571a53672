using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ComputeBank.Messaging.Durable;

/// <summary>
/// The one ActivitySource and Meter of durable messaging, named "ComputeBank.Messaging.Durable". Span and attribute names
/// follow the OpenTelemetry messaging semantic conventions (<c>messaging.system</c>, <c>messaging.operation.type</c>,
/// <c>messaging.destination.name</c>, <c>messaging.batch.message_count</c>).
/// </summary>
public static class DurableTelemetry
{
    public const string Name = "ComputeBank.Messaging.Durable";

    public static readonly ActivitySource Source = new(Name);
    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> Processed =
        Meter.CreateCounter<long>("computebank.messaging.queue.processed", "{message}", "Queued commands finished, by outcome.");

    public static readonly Counter<long> Retried =
        Meter.CreateCounter<long>("computebank.messaging.queue.retried", "{message}", "Queued commands put back for another attempt.");

    public static readonly Counter<long> DeadLettered =
        Meter.CreateCounter<long>("computebank.messaging.queue.dead_lettered", "{message}", "Queued commands moved to the dead letters.");

    public static readonly Counter<long> WebhooksDelivered =
        Meter.CreateCounter<long>("computebank.messaging.webhooks.delivered", "{delivery}", "Integration events delivered to a subscriber.");

    public static readonly Counter<long> WebhooksFailed =
        Meter.CreateCounter<long>("computebank.messaging.webhooks.failed", "{delivery}", "Webhook delivery attempts that failed.");

    public static readonly Counter<long> WebhooksParked =
        Meter.CreateCounter<long>("computebank.messaging.webhooks.parked", "{delivery}", "Webhook deliveries parked in the dead letters after their attempts.");

    /// <summary>A span per webhook delivery (a "send" to one subscriber), a child of Wolverine's span of the delivery message.</summary>
    public static Activity? StartDelivery(string subscriber, string eventId, string eventType, int attempt)
    {
        var activity = Source.StartActivity($"send {subscriber}", ActivityKind.Producer);
        activity?.SetTag("messaging.system", "webhook");
        activity?.SetTag("messaging.operation.type", "send");
        activity?.SetTag("messaging.destination.name", subscriber);
        activity?.SetTag("messaging.message.id", eventId);
        activity?.SetTag("computebank.event.type", eventType);
        activity?.SetTag("computebank.delivery.attempt", attempt);
        return activity;
    }
}
