using System.Diagnostics.Metrics;
using ComputeBank.EventStore;
using ComputeBank.Messaging;
using ComputeBank.Messaging.Durable;

namespace ComputeBank.Api.Observability;

/// <summary>
/// Gauges that read the node's state when a metric reader collects (Meter "ComputeBank.Operations", created through
/// <see cref="IMeterFactory"/> so that it lives and dies with this host): the command queue's depth, and, when a
/// projection daemon runs, each projection's lag in events and in seconds (read from the tables, so every node reports
/// the same whichever leads), and durable messaging's backlog: queued commands not finished, dead letters not replayed,
/// webhook deliveries pending and parked.
/// </summary>
internal sealed class OperationsMetrics(IMeterFactory meters, IServiceProvider services) : IHostedService
{
    public const string MeterName = "ComputeBank.Operations";
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var meter = meters.Create(MeterName);
        var bus = services.GetRequiredService<CommandBus>();
        meter.CreateObservableGauge("computebank.bus.queue.depth", () => bus.QueueDepth, "{unit}",
            "Command units (single commands or atomic batches) waiting for a committer.");
        if (services.GetService<ProjectionDaemon>() is { } daemon)
        {
            // An unreachable database reports no lag rather than a stale one; readiness says why.
            var lags = new SharedReading<IReadOnlyList<ProjectionLag>>(daemon.ReadLagAsync, []);
            meter.CreateObservableGauge("computebank.projection.lag", () => lags.Value.Select(l =>
                new Measurement<long>(l.Events, new KeyValuePair<string, object?>("computebank.projection", l.Projection))), "{event}",
                "Events in the feed an async projection has not applied yet.");
            meter.CreateObservableGauge("computebank.projection.lag.duration", () => lags.Value.Select(l =>
                new Measurement<double>(l.Age.TotalSeconds, new KeyValuePair<string, object?>("computebank.projection", l.Projection))), "s",
                "How long the oldest event an async projection has not applied yet has waited.");
        }

        if (services.GetService<MessagingBacklogReader>() is { } reader)
        {
            var backlog = new SharedReading<MessagingBacklog?>(async ct => await reader.ReadAsync(ct), null);
            IEnumerable<Measurement<long>> Count(Func<MessagingBacklog, long> pick) =>
                backlog.Value is { } value ? [new Measurement<long>(pick(value))] : [];
            meter.CreateObservableGauge("computebank.messaging.queue.pending", () => Count(b => b.QueuedPending), "{message}",
                "Commands on the durable queue not finished yet: due, scheduled for later, or waiting for a retry.");
            meter.CreateObservableGauge("computebank.messaging.dead_letters", () => Count(b => b.DeadLetters), "{message}",
                "Dead letters that have not been replayed.");
            meter.CreateObservableGauge("computebank.messaging.outbox.pending", () => Count(b => b.OutboxPending), "{delivery}",
                "Webhook deliveries written by committed commands and not delivered yet.");
            meter.CreateObservableGauge("computebank.messaging.outbox.parked", () => Count(b => b.OutboxParked), "{delivery}",
                "Webhook deliveries that gave up after their attempts and wait for an operator.");
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// One database read shared by the gauges collected together (the two lag gauges, the four backlog gauges), taken
    /// at most once per <see cref="CacheFor"/>. A collection is synchronous, so the read is bounded by
    /// <see cref="ReadTimeout"/>; an unreachable database gives <paramref name="unreachable"/>.
    /// </summary>
    private sealed class SharedReading<T>(Func<CancellationToken, Task<T>> read, T unreachable)
    {
        private readonly Lock _gate = new();
        private (DateTime At, T Value) _last = (DateTime.MinValue, unreachable);

        public T Value
        {
            get
            {
                lock (_gate)
                {
                    if (DateTime.UtcNow - _last.At >= CacheFor)
                    {
                        try
                        {
                            using var timeout = new CancellationTokenSource(ReadTimeout);
                            _last = (DateTime.UtcNow, read(timeout.Token).GetAwaiter().GetResult());
                        }
                        catch (Exception ex) when (ex is Npgsql.NpgsqlException or OperationCanceledException or TimeoutException)
                        {
                            _last = (DateTime.UtcNow, unreachable);
                        }
                    }

                    return _last.Value;
                }
            }
        }
    }
}
