using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ComputeBank.Messaging.Durable;

/// <summary>
/// The worker loop every node runs: claims due commands in small batches (<c>FOR UPDATE SKIP LOCKED</c>, under a lease),
/// hands them to the <see cref="CommandBus"/> together (non-atomic, so they join group commits with live traffic).
/// A final outcome (success or business refusal) is recorded on the queue row by the group commit itself, in the same
/// transaction as the command's events; the worker records only what did not commit (retries, dead letters) and what
/// never reached the bus. A node that dies between the claim and the commit leaves its commands leased; when the lease
/// runs out another node runs them again, and the operation log makes a run that did commit a replay, so each takes
/// effect once. Error policy: replies of 5xx (the bus gave up on a conflict or an outage, an internal error)
/// are retried after a cooldown with jitter; after <see cref="DurableOptions.MaxAttempts"/> the command goes to the
/// dead letters. Business refusals (4xx) are final outcomes, not errors. Idle workers sleep until a NOTIFY, the
/// next scheduled command, or the poll interval, whichever comes first.
/// </summary>
public sealed partial class DurableWorker(
    DurableQueue queue,
    CommandBus bus,
    IQueuedCommandTranslator translator,
    Npgsql.NpgsqlDataSource dataSource,
    DurableOptions options,
    TimeProvider time,
    ILogger<DurableWorker> logger) : IHostedService, IAsyncDisposable
{
    private readonly WakeSignal _signal = new();
    private readonly Lock _gate = new();
    private CancellationTokenSource? _stopping;
    private Task _running = Task.CompletedTask;
    private DateTimeOffset _lastPurge = DateTimeOffset.MinValue;

    /// <summary>This worker's name on the rows it claims.</summary>
    public string Owner { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>Whether the loop is running.</summary>
    public bool IsRunning
    {
        get
        {
            lock (_gate)
            {
                return _stopping is not null;
            }
        }
    }

    /// <summary>Starts the loop (and its LISTEN connection) unless it runs already or workers are switched off on this node.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_stopping is not null || !options.WorkerEnabled)
            {
                return Task.CompletedTask;
            }

            var stopping = _stopping = new CancellationTokenSource();
            var listener = new ChannelListener(dataSource, queue.Channel, _signal, options.PollInterval, ex => LogListenFailed(logger, ex.Message));
            _running = Task.WhenAll(Task.Run(() => LoopAsync(stopping.Token), CancellationToken.None), Task.Run(() => listener.RunAsync(stopping.Token), CancellationToken.None));
        }

        return Task.CompletedTask;
    }

    /// <summary>Stops claiming; the batch in hand is finished (sent and recorded) before this returns.</summary>
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

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);

    /// <summary>Wakes the loop now (a command was queued on this node).</summary>
    public void Wake() => _signal.Set();

    /// <summary>One pass: claims one batch, runs it and records the outcomes. Returns how many commands it claimed.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var claimed = await queue.ClaimAsync(Owner, Math.Max(1, options.BatchSize), options.LeaseDuration, time.GetUtcNow(), cancellationToken);
        if (claimed.Count == 0)
        {
            return 0;
        }

        using var activity = DurableTelemetry.Start("process", queue.Channel, claimed.Count);
        if (options.AfterClaim is { } afterClaim)
        {
            await afterClaim(claimed, cancellationToken);
        }

        // From here the batch is finished even when the node is asked to stop: the bus may commit it regardless.
        var replies = new CommandReply?[claimed.Count];
        var envelopes = new List<(int Index, CommandEnvelope Envelope)>();
        for (var i = 0; i < claimed.Count; i++)
        {
            try
            {
                var (envelope, reply) = translator.Translate(claimed[i]);
                if (envelope is not null && envelope.OperationId != claimed[i].OperationId)
                {
                    reply = CommandReply.Problem(500, "operation_id_mismatch", "Internal error",
                        $"The queued body reads as operation '{envelope.OperationId}', not '{claimed[i].OperationId}'.");
                    envelope = null;
                }

                if (envelope is null)
                {
                    replies[i] = reply ?? CommandReply.Problem(500, "internal_error", "Internal error", "The queued command could not be read.");
                }
                else
                {
                    envelopes.Add((i, envelope with { Queued = new QueueLease(claimed[i].Id, claimed[i].LeaseToken) }));
                }
            }
            catch (Exception ex)
            {
                replies[i] = CommandReply.Problem(500, "internal_error", "Internal error", $"{ex.GetType().Name}: {ex.Message}");
            }
        }

        if (envelopes.Count > 0)
        {
            try
            {
                var sent = await bus.SendManyAsync([.. envelopes.Select(e => e.Envelope)], atomic: false, CancellationToken.None);
                for (var i = 0; i < envelopes.Count; i++)
                {
                    replies[envelopes[i].Index] = sent[i];
                }
            }
            catch (Exception ex)
            {
                LogSendFailed(logger, envelopes.Count, ex);
                foreach (var (index, _) in envelopes)
                {
                    replies[index] = CommandReply.Problem(503, "service_unavailable", "Try again", $"{ex.GetType().Name}: {ex.Message}");
                }
            }

            if (options.AfterSend is { } afterSend)
            {
                await afterSend(claimed, cancellationToken);
            }
        }

        // Final replies of commands the bus ran were recorded in their commit; the rest is recorded here.
        var sentToBus = envelopes.Select(e => e.Index).ToHashSet();
        var now = time.GetUtcNow();
        var completions = claimed.Select((command, i) => Outcome(command, replies[i]!, now)).ToList();
        var toRecord = completions.Where((c, i) => !(sentToBus.Contains(i) && QueueOutcomes.IsFinal(replies[i]!))).ToList();
        var (updated, dead) = await queue.CompleteAsync(claimed[0].LeaseToken, toRecord, now, CancellationToken.None);
        if (updated < toRecord.Count)
        {
            LogLeaseLost(logger, toRecord.Count - updated);
        }

        foreach (var completion in completions)
        {
            switch (completion.Status)
            {
                case "pending":
                    DurableTelemetry.Retried.Add(1);
                    break;
                case "dead":
                    LogDeadLettered(logger, claimed.First(c => c.Id == completion.Id).OperationId, completion.Error ?? "");
                    break;
                default:
                    DurableTelemetry.Processed.Add(1, new KeyValuePair<string, object?>("outcome", completion.Status));
                    break;
            }
        }

        DurableTelemetry.DeadLettered.Add(dead);
        activity?.SetStatus(ActivityStatusCode.Ok);
        return claimed.Count;
    }

    private QueueCompletion Outcome(QueuedCommand command, CommandReply reply, DateTimeOffset now)
    {
        if (reply.Status < 500)
        {
            return new QueueCompletion(command.Id, reply.Succeeded ? "succeeded" : "failed", reply.Status, reply.Body, null, null);
        }

        var error = $"{reply.Status} {(string?)reply.Body["code"]}: {(string?)reply.Body["detail"]}";
        return command.Attempts >= Math.Max(1, options.MaxAttempts)
            ? new QueueCompletion(command.Id, "dead", reply.Status, reply.Body, error, null)
            : new QueueCompletion(command.Id, "pending", null, null, error, now + Cooldown(command.Attempts));
    }

    /// <summary>Exponential cooldown with "equal jitter": at least half the step, so retries neither stampede nor starve.</summary>
    private TimeSpan Cooldown(int attempts)
    {
        var step = Math.Min(options.RetryMaxDelay.TotalMilliseconds, options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempts - 1, 20)));
        return TimeSpan.FromMilliseconds((step / 2) + (Random.Shared.NextDouble() * step / 2));
    }

    private async Task LoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var claimed = 0;
            try
            {
                claimed = await RunOnceAsync(stoppingToken);
                await PurgeAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The claimed batch (if any) stays leased and runs again when the lease runs out.
                LogPassFailed(logger, ex);
            }

            if (claimed >= options.BatchSize)
            {
                continue;
            }

            var wait = options.PollInterval;
            try
            {
                if (await queue.NextDueAsync(stoppingToken) is { } due && due - time.GetUtcNow() < wait)
                {
                    wait = due - time.GetUtcNow();
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogPassFailed(logger, ex);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            await _signal.WaitAsync(wait, stoppingToken);
        }
    }

    private async Task PurgeAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (now - _lastPurge < TimeSpan.FromMinutes(1))
        {
            return;
        }

        _lastPurge = now;
        await queue.PurgeFinishedAsync(now - options.FinishedRetention, cancellationToken);
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Queued command {OperationId} went to the dead letters: {Error}")]
    private static partial void LogDeadLettered(ILogger logger, string operationId, string error);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "A worker pass failed; its claimed commands run again when their lease ends")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "Sending {Commands} queued commands to the bus failed")]
    private static partial void LogSendFailed(ILogger logger, int commands, Exception exception);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Information, Message = "{Commands} outcomes were not recorded: their lease ran out and another worker took them over")]
    private static partial void LogLeaseLost(ILogger logger, long commands);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Debug, Message = "LISTEN connection failed ({Reason}); polling until it is back")]
    private static partial void LogListenFailed(ILogger logger, string reason);
}
