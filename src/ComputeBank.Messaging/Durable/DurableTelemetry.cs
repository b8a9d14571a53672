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
        Meter.CreateCounter<long>("computebank.messaging.webhooks.failed", "{delivery}", "Webhook deliveries that failed and will be retried.");

    /// <summary>A span per webhook delivery (a "send" to one subscriber), a child of the relay's "publish" pass.</summary>
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

    public static Activity? Start(string operation, string destination, int count)
    {
        var activity = Source.StartActivity($"{operation} {destination}", ActivityKind.Consumer);
        activity?.SetTag("messaging.system", "postgresql");
        activity?.SetTag("messaging.operation.type", operation);
        activity?.SetTag("messaging.destination.name", destination);
        activity?.SetTag("messaging.batch.message_count", count);
        return activity;
    }
}

/// <summary>An auto-reset signal a notification (or a submission on this node) sets and an idle loop awaits with a timeout.</summary>
internal sealed class WakeSignal
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);

    public void Set()
    {
        try
        {
            _semaphore.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already set: one wake-up covers any number of notifications.
        }
    }

    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await _semaphore.WaitAsync(timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: the loop sees the token.
        }
    }
}

/// <summary>
/// LISTEN on one channel over a dedicated connection, setting <paramref name="signal"/> on every notification (and
/// once after each (re)connect, since notifications sent while disconnected are lost). When the connection breaks it
/// reconnects after <paramref name="retryDelay"/>; meanwhile the loops it wakes fall back to polling.
/// </summary>
internal sealed class ChannelListener(Npgsql.NpgsqlDataSource dataSource, string channel, WakeSignal signal, TimeSpan retryDelay, Action<Exception> onError)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
                connection.Notification += (_, _) => signal.Set();
                await using (var listen = new Npgsql.NpgsqlCommand($"LISTEN \"{channel.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection))
                {
                    await listen.ExecuteNonQueryAsync(cancellationToken);
                }

                signal.Set();
                while (!cancellationToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(cancellationToken);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                onError(ex);
                try
                {
                    await Task.Delay(retryDelay, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
