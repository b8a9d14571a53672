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
    private readonly Lock _gate = new();
    private (DateTime At, IReadOnlyList<ProjectionLag> Lags) _lag = (DateTime.MinValue, []);
    private (DateTime At, MessagingBacklog? Backlog) _backlog = (DateTime.MinValue, null);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var meter = meters.Create(MeterName);
        var bus = services.GetRequiredService<CommandBus>();
        meter.CreateObservableGauge("computebank.bus.queue.depth", () => bus.QueueDepth, "{unit}",
            "Command units (single commands or atomic batches) waiting for a committer.");
        if (services.GetService<ProjectionDaemon>() is { } daemon)
        {
            meter.CreateObservableGauge("computebank.projection.lag", () => Lags(daemon).Select(l =>
                new Measurement<long>(l.Events, new KeyValuePair<string, object?>("computebank.projection", l.Projection))), "{event}",
                "Events in the feed an async projection has not applied yet.");
            meter.CreateObservableGauge("computebank.projection.lag.duration", () => Lags(daemon).Select(l =>
                new Measurement<double>(l.Age.TotalSeconds, new KeyValuePair<string, object?>("computebank.projection", l.Projection))), "s",
                "How long the oldest event an async projection has not applied yet has waited.");
        }

        if (services.GetService<MessagingBacklogReader>() is { } backlog)
        {
            meter.CreateObservableGauge("computebank.messaging.queue.pending", () => Backlog(backlog, b => b.QueuedPending), "{message}",
                "Commands on the durable queue not finished yet: due, scheduled for later, or waiting for a retry.");
            meter.CreateObservableGauge("computebank.messaging.dead_letters", () => Backlog(backlog, b => b.DeadLetters), "{message}",
                "Dead letters that have not been replayed.");
            meter.CreateObservableGauge("computebank.messaging.outbox.pending", () => Backlog(backlog, b => b.OutboxPending), "{delivery}",
                "Webhook deliveries written by committed commands and not delivered yet.");
            meter.CreateObservableGauge("computebank.messaging.outbox.parked", () => Backlog(backlog, b => b.OutboxParked), "{delivery}",
                "Webhook deliveries that gave up after their attempts and wait for an operator.");
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // The four backlog gauges are collected together: one statement serves them. An unreachable database reports none.
    private IEnumerable<Measurement<long>> Backlog(MessagingBacklogReader reader, Func<MessagingBacklog, long> pick)
    {
        MessagingBacklog? backlog;
        lock (_gate)
        {
            if (DateTime.UtcNow - _backlog.At >= CacheFor)
            {
                try
                {
                    using var timeout = new CancellationTokenSource(ReadTimeout);
                    _backlog = (DateTime.UtcNow, reader.ReadAsync(timeout.Token).GetAwaiter().GetResult());
                }
                catch (Exception ex) when (ex is Npgsql.NpgsqlException or OperationCanceledException or TimeoutException)
                {
                    _backlog = (DateTime.UtcNow, null);
                }
            }

            backlog = _backlog.Backlog;
        }

        return backlog is null ? [] : [new Measurement<long>(pick(backlog))];
    }

    // Both lag gauges are collected together: one query serves both. A collection is synchronous; the read is bounded.
    private IReadOnlyList<ProjectionLag> Lags(ProjectionDaemon daemon)
    {
        lock (_gate)
        {
            if (DateTime.UtcNow - _lag.At < CacheFor)
            {
                return _lag.Lags;
            }

            try
            {
                using var timeout = new CancellationTokenSource(ReadTimeout);
                _lag = (DateTime.UtcNow, daemon.ReadLagAsync(timeout.Token).GetAwaiter().GetResult());
            }
            catch (Exception ex) when (ex is Npgsql.NpgsqlException or OperationCanceledException or TimeoutException)
            {
                // An unreachable database reports no lag rather than a stale one; readiness says why.
                _lag = (DateTime.UtcNow, []);
            }

            return _lag.Lags;
        }
    }
}
