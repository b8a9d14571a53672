using System.Threading.Channels;
using ComputeBank.EventStore;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace ComputeBank.Messaging;

/// <summary>
/// The in-process command bus with group commit. Callers <see cref="SendAsync"/> a command (or a batch) and are
/// answered after the transaction that holds it commits. Committer loops take whatever is queued (up to
/// <see cref="CommandBusOptions.MaxBatchSize"/> commands), decide it in arrival order in memory and commit it in one
/// transaction. Concurrency conflicts, deadlocks and lost connections are retried with exponential backoff and full
/// jitter; they never reach the caller as an error of theirs. The units of one submission (the items of a batch) stay
/// together: one committer takes them all and commits them in order, in consecutive group commits where they do not fit
/// in one, so a later item never overtakes an earlier one on another committer. Committers take submissions whose
/// streams no other committer of the node has in flight (<see cref="CommitScheduler"/>), so that they commit side by
/// side instead of queueing on each other's stream locks.
/// </summary>
public sealed partial class CommandBus : IAsyncDisposable
{
    private readonly Channel<WorkUnit[]> _queue;
    private readonly GroupCommit _groupCommit;
    private readonly CommandBusOptions _options;
    private readonly HandlerRegistry _handlers;
    private readonly ILogger _logger;
    private readonly ILogger _commandLog;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task[] _committers;
    private readonly StateCache _cache;
    private readonly CommitScheduler _scheduler = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _queuedUnits;

    public CommandBus(
        MartenEventStore store,
        HandlerRegistry handlers,
        IStreamFolder folder,
        IEnumerable<IStateProjection> projections,
        CommandBusOptions options,
        ILogger<CommandBus> logger,
        ILogger? commandLog = null)
    {
        _options = options;
        _handlers = handlers;
        _logger = logger;
        _commandLog = commandLog ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _cache = new StateCache(options.StateCacheCapacity);
        _groupCommit = new GroupCommit(store, handlers, folder, new OperationLog(store.Schema), new StreamLocks(store.Schema), [.. projections], _cache);
        _queue = Channel.CreateBounded<WorkUnit[]>(new BoundedChannelOptions(Math.Max(1, options.QueueCapacity)) { SingleWriter = false });
        // Committers must not inherit whoever resolved the bus (its trace and log scopes would leak into every commit).
        using (ExecutionContext.SuppressFlow())
        {
            _committers = [.. Enumerable.Range(0, Math.Max(1, options.Committers)).Select(_ => Task.Run(CommitLoopAsync))];
        }
    }

    /// <summary>
    /// The logger category of the one Information line per answered command (operation id, type, outcome, duration);
    /// <c>Logging:LogLevel:ComputeBank.Messaging.Commands</c> = <c>Warning</c> turns those lines off. The host passes a
    /// logger of this category as <c>commandLog</c>; without one nothing is logged per command.
    /// </summary>
    public const string CommandLogCategory = "ComputeBank.Messaging.Commands";

    /// <summary>Units (single commands or atomic batches) queued and not yet taken by a committer.</summary>
    public int QueueDepth => Volatile.Read(ref _queuedUnits);

    /// <summary>Sends one command; the reply comes after its transaction commits (or it was refused).</summary>
    public async Task<CommandReply> SendAsync(CommandEnvelope command, CancellationToken cancellationToken)
    {
        var replies = await SendManyAsync([command], atomic: false, cancellationToken);
        return replies[0];
    }

    /// <summary>
    /// Sends several commands in order. Non-atomic: each takes effect or is refused on its own. Atomic: all take effect
    /// in one transaction or none does (the refused one answers its problem, the others <c>batch_aborted</c>).
    /// </summary>
    public async Task<IReadOnlyList<CommandReply>> SendManyAsync(IReadOnlyList<CommandEnvelope> commands, bool atomic, CancellationToken cancellationToken)
    {
        foreach (var command in commands)
        {
            if (!_handlers.Handles(command.Command.GetType()))
            {
                throw new InvalidOperationException($"No handler is registered for {command.Command.GetType().Name}.");
            }
        }

        if (commands.Count == 0)
        {
            return [];
        }

        var units = atomic
            ? [new WorkUnit(commands, atomic: true, alone: commands.Any(c => _handlers.RunsAlone(c.Command)), ClaimsOf(commands))]
            : commands.Select(c => new WorkUnit([c], atomic: false, alone: _handlers.RunsAlone(c.Command), ClaimsOf([c]))).ToArray();
        Interlocked.Add(ref _queuedUnits, units.Length);
        try
        {
            await _queue.Writer.WriteAsync(units, cancellationToken);
        }
        catch
        {
            Interlocked.Add(ref _queuedUnits, -units.Length);
            throw;
        }

        Signal();

        var replies = new List<CommandReply>(commands.Count);
        foreach (var unit in units)
        {
            replies.AddRange(await unit.Completion.Task.WaitAsync(cancellationToken));
        }

        return replies;
    }

    /// <summary>Stops taking commands and finishes those already queued.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        Signal();
        await Task.WhenAll(_committers);
        _stopping.Dispose();
    }

    private async Task CommitLoopAsync()
    {
        while (await TakeAsync() is { } taken)
        {
            try
            {
                foreach (var group in GroupCommits(taken.Units, _options.MaxBatchSize))
                {
                    await ExecuteWithRetriesAsync(group);
                }
            }
            finally
            {
                lock (_scheduler)
                {
                    _scheduler.Release(taken);
                }

                Signal();
            }
        }
    }

    /// <summary>
    /// Waits until this committer can take submissions (whole ones, in arrival order, on streams no other committer of
    /// this node has in flight) and takes them; null once the bus is disposed and everything queued is done.
    /// </summary>
    private async Task<CommitScheduler.Taken?> TakeAsync()
    {
        var lingered = _options.Window <= TimeSpan.Zero;
        while (true)
        {
            Task changed;
            lock (_scheduler)
            {
                // The queue stays the bound on what callers may submit: only a few group commits' worth leave it early.
                while (_scheduler.PendingCommands < 2 * _options.MaxBatchSize * Math.Max(1, _options.Committers) && _queue.Reader.TryRead(out var submission))
                {
                    _scheduler.Add(submission);
                }

                if (_scheduler.HasPending && (lingered || _scheduler.PendingCommands >= _options.MaxBatchSize))
                {
                    if (_scheduler.TryTake(_options.MaxBatchSize) is { } taken)
                    {
                        Interlocked.Add(ref _queuedUnits, -taken.Units.Count);
                        return taken;
                    }
                }
                else if (!_scheduler.HasPending && _queue.Reader.Completion.IsCompleted)
                {
                    return null;
                }

                changed = _changed.Task;
            }

            if (!lingered && _scheduler.HasPending)
            {
                // Linger once for more commands to share the group commit.
                await Task.Delay(_options.Window);
                lingered = true;
                continue;
            }

            await changed;
        }
    }

    /// <summary>Wakes the committers: something was queued or released, or the bus is closing.</summary>
    private void Signal()
    {
        TaskCompletionSource woken;
        lock (_scheduler)
        {
            woken = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        woken.TrySetResult();
    }

    /// <summary>The streams <paramref name="commands"/> ask for in their first load round, and how they lock them.</summary>
    private Dictionary<string, LockMode> ClaimsOf(IReadOnlyList<CommandEnvelope> commands)
    {
        var claims = new Dictionary<string, LockMode>(StringComparer.Ordinal);
        var nothingLoaded = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var envelope in commands)
        {
            var handler = _handlers.For(envelope.Command);
            IReadOnlyCollection<string> streams;
            try
            {
                streams = handler.StreamsToLoad(envelope.Command, nothingLoaded);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Claims only steer the scheduling; the group commit asks again and answers the failure.
                continue;
            }

            foreach (var id in streams)
            {
                CommitScheduler.Claim(claims, id, handler.LockFor(envelope.Command, id));
            }
        }

        return claims;
    }

    /// <summary>Cuts the taken units, in order, into group commits of at most <paramref name="maxSize"/> commands (a
    /// unit bigger than that is one group commit of its own), with every unit that runs alone in a group of its own.</summary>
    internal static IEnumerable<IReadOnlyList<WorkUnit>> GroupCommits(IReadOnlyList<WorkUnit> units, int maxSize)
    {
        var group = new List<WorkUnit>();
        var size = 0;
        foreach (var unit in units)
        {
            var startsNew = group.Count > 0 && (unit.Alone || group[0].Alone || size + unit.Commands.Count > maxSize);
            if (startsNew)
            {
                yield return group;
                group = [];
                size = 0;
            }

            group.Add(unit);
            size += unit.Commands.Count;
        }

        if (group.Count > 0)
        {
            yield return group;
        }
    }

    private async Task ExecuteWithRetriesAsync(IReadOnlyList<WorkUnit> batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var replies = await BusTelemetry.TraceGroupCommitAsync(batch, attempt, () => _groupCommit.ExecuteAsync(batch, CancellationToken.None));
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Complete(replies[i], _commandLog);
                }

                return;
            }
            catch (ReplicationUnconfirmedException ex)
            {
                // Committed on the primary alone: neither retried here (a retry would replay the stored answer) nor
                // acknowledged. A retry by the client replays it only through a commit the standby confirms.
                LogUnconfirmed(_logger, batch.Sum(u => u.Commands.Count), ex.Message);
                Fail(batch, CommandReply.Problem(503, "service_unavailable", "Try again",
                    "The command reached the primary, but its synchronous standby did not confirm it in time, so it is not acknowledged; retry with the same operation id."));
                return;
            }
            catch (Exception ex) when (IsTransient(ex) && attempt < _options.MaxAttempts)
            {
                if (ex is not (ConcurrencyException or StreamLockTimeoutException))
                {
                    // A lost connection or a database restart (a failover, perhaps): trust no cached state.
                    _cache.Clear();
                }

                LogRetry(_logger, batch.Sum(u => u.Commands.Count), attempt, ex.GetType().Name, ex.Message);
                BusTelemetry.RecordRetry(ex);
                await Task.Delay(Backoff(attempt));
            }
            catch (Exception ex) when (IsTransient(ex))
            {
                LogGaveUp(_logger, batch.Sum(u => u.Commands.Count), attempt, ex);
                Fail(batch, CommandReply.Problem(503, "service_unavailable", "Try again",
                    "The ledger could not commit the command after several attempts (contention or a database outage); retry with the same operation id."));
                return;
            }
            catch (Exception ex) when (batch.Count > 1)
            {
                // Not a conflict: isolate the unit that causes it, so that one poisoned command does not fail its neighbours.
                LogIsolating(_logger, batch.Count, ex);
                foreach (var unit in batch)
                {
                    await ExecuteWithRetriesAsync([unit]);
                }

                return;
            }
            catch (Exception ex)
            {
                LogFailed(_logger, ex);
                Fail(batch, CommandReply.Problem(500, "internal_error", "Internal error",
                    "The command could not be processed because of an internal error; nothing was written. Retry with the same operation id."));
                return;
            }
        }
    }

    private void Fail(IReadOnlyList<WorkUnit> batch, CommandReply reply)
    {
        foreach (var unit in batch)
        {
            unit.Complete([.. unit.Commands.Select(_ => reply)], _commandLog);
        }
    }

    private TimeSpan Backoff(int attempt)
    {
        var ceiling = _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 10));
        return TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * ceiling);
    }

    /// <summary>Conflicts between writers, lost connections and a database failing over: worth retrying (the bus retries
    /// the batch from a fresh load; the HTTP host answers 503 to a query that meets one).</summary>
    public static bool IsTransient(Exception ex) => ex switch
    {
        // ReplicationUnconfirmedException: worth a retry by the client (the bus itself answers it with 503 first).
        ConcurrencyException or StreamLockTimeoutException or ReplicationUnconfirmedException => true,
        // 40001 serialization failure, 40P01 deadlock, 23505 unique violation (a stream or an operation id created by
        // another node at the same moment), 55P03 lock not available, 57P01 admin shutdown, 57P02 crash shutdown,
        // 57P03 cannot connect now (starting up, or still in recovery during a promotion), 25006 read-only
        // transaction (a pooled connection to a server that is no longer the primary).
        PostgresException pg => pg.SqlState is "40001" or "40P01" or "23505" or "55P03" or "57P01" or "57P02" or "57P03" or "25006" || pg.IsTransient,
        NpgsqlException npgsql => npgsql.IsTransient || IsFailover(npgsql),
        TimeoutException => true,
        _ => ex.InnerException is not null && IsTransient(ex.InnerException),
    };

    /// <summary>
    /// What a multi-host connection string (<c>Host=a:p1,b:p2;Target Session Attributes=primary</c>) reports while the
    /// primary fails over: every host refused ("Unable to connect to a suitable host", the hosts' errors aggregated),
    /// or none is a primary yet ("No suitable host was found": the old one is down, the standby not promoted, or
    /// Npgsql still remembers it as a standby until <c>Host Recheck Seconds</c> pass). Npgsql marks neither as
    /// transient and gives no error code, so the second is recognised by its message.
    /// </summary>
    private static bool IsFailover(NpgsqlException ex) => ex switch
    {
        { InnerException: AggregateException hosts } => hosts.InnerExceptions.Count > 0 && hosts.InnerExceptions.All(IsTransient),
        { InnerException: null } and not PostgresException => ex.Message.StartsWith("No suitable host", StringComparison.Ordinal),
        _ => false,
    };

    [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "Group commit of {Commands} commands conflicted (attempt {Attempt}, {Error}: {Reason}); retrying")]
    private static partial void LogRetry(ILogger logger, int commands, int attempt, string error, string reason);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Group commit of {Commands} commands gave up after {Attempts} attempts")]
    private static partial void LogGaveUp(ILogger logger, int commands, int attempts, Exception exception);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Group commit of {Units} units failed; retrying each unit alone to isolate the cause")]
    private static partial void LogIsolating(ILogger logger, int units, Exception exception);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "Command failed with an internal error")]
    private static partial void LogFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Group commit of {Commands} commands was not confirmed by the synchronous standby; answering 503 ({Reason})")]
    private static partial void LogUnconfirmed(ILogger logger, int commands, string reason);
}
