using ComputeBank.EventStore;

namespace ComputeBank.Messaging;

/// <summary>Commands submitted together: one command, the items of a non-atomic batch (one unit each), or an atomic
/// batch (one unit whose commands all take effect or none does).</summary>
internal sealed class WorkUnit
{
    public WorkUnit(IReadOnlyList<CommandEnvelope> commands, bool atomic, bool alone, IReadOnlyDictionary<string, LockMode>? claims = null)
    {
        (Commands, Spans) = BusTelemetry.StartHandling(commands);
        Atomic = atomic;
        Alone = alone;
        Claims = claims ?? new Dictionary<string, LockMode>();
    }

    /// <summary>The streams its commands ask for in their first load round, with the lock each takes (see <see cref="CommitScheduler"/>).</summary>
    public IReadOnlyDictionary<string, LockMode> Claims { get; }

    /// <summary>Runs in a transaction of its own (see <see cref="ICommandHandler{TCommand}.RunsAlone"/>).</summary>
    public bool Alone { get; }

    /// <summary>The commands, carrying the caller's trace as correlation and causation ids.</summary>
    public IReadOnlyList<CommandEnvelope> Commands { get; }

    public bool Atomic { get; }

    public TaskCompletionSource<CommandReply[]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Handling span per command (null where nobody listens).</summary>
    public System.Diagnostics.Activity?[] Spans { get; }

    public long QueuedAt { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>Attempt of the group commit that answered it, and that commit's size in commands.</summary>
    public int Attempts { get; set; }

    public int BatchSize { get; set; }

    private int _completed;

    /// <summary>Closes the unit's spans, measurements and log lines, then answers the callers (once). In that order:
    /// the caller's own span (the HTTP server's) must not end before the spans under it.</summary>
    public void Complete(CommandReply[] replies, Microsoft.Extensions.Logging.ILogger commandLog)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return;
        }

        try
        {
            BusTelemetry.Complete(this, replies, commandLog);
        }
        finally
        {
            Completion.TrySetResult(replies);
        }
    }
}

/// <summary>
/// One attempt at a group commit: every stream the units touch is loaded and locked in one round-trip per load round,
/// the operation log is read, commands are decided in arrival order against the in-memory states, and all events,
/// snapshots and operation records are written in one batch and one commit. Nothing is answered before the commit.
/// </summary>
internal sealed class GroupCommit(
    MartenEventStore store, HandlerRegistry handlers, IStreamFolder folder, OperationLog log, StreamLocks locks,
    IReadOnlyList<IStateProjection> projections, StateCache cache)
{
    private readonly Durable.QueueOutcomes _queueOutcomes = new(store.Schema);

    public async Task<CommandReply[][]> ExecuteAsync(IReadOnlyList<WorkUnit> units, CancellationToken cancellationToken)
    {
        await using var session = store.OpenSession();
        var slots = new StreamSlots(session, folder, handlers, locks, cache);
        await slots.EnsureLoadedAsync(units.SelectMany(u => u.Commands), cancellationToken);

        // Read after the stream locks are held, so that a node that committed the same operation id is seen.
        var operationIds = units.SelectMany(u => u.Commands).Select(c => c.OperationId).ToHashSet(StringComparer.Ordinal);
        var known = await log.FindAsync(session.Connection, session.Transaction, operationIds, cancellationToken);

        var outcomes = new Outcome[units.Count][];
        var seen = new Dictionary<string, Outcome>(StringComparer.Ordinal);
        for (var u = 0; u < units.Count; u++)
        {
            outcomes[u] = await DecideUnitAsync(units[u], slots, known, seen, cancellationToken);
        }

        var eventCount = slots.WriteTo(session);
        var touched = slots.Touched();
        foreach (var projection in projections)
        {
            foreach (var statement in projection.Project(touched))
            {
                session.Enqueue(statement);
            }
        }

        var appended = eventCount > 0 ? await session.FlushAsync(cancellationToken) : null;
        var (replies, records, queued) = Replies(units, outcomes, appended);
        if (records.Count > 0)
        {
            session.Enqueue(log.Insert(records));
        }
        else if (eventCount == 0 && outcomes.Any(u => u.Any(o => o is Replayed)))
        {
            // Only stored answers, and the first attempt may have been committed on the primary alone
            // (ReplicationUnconfirmedException): replay them only through a COMMIT that waits for the standby.
            session.Enqueue(new Npgsql.NpgsqlBatchCommand(SynchronousReplication.WaitForStandbyStatement));
        }

        if (_queueOutcomes.Record(queued) is { } queueOutcomes)
        {
            session.Enqueue(queueOutcomes);
        }

        await session.CommitAsync(cancellationToken);
        cache.Put(slots.States());
        return replies;
    }

    /// <summary>The answer to every command, once the events are flushed (their versions and sequence numbers known);
    /// with the answers that go into the operation log and those of commands taken from the durable queue.</summary>
    private static (CommandReply[][] Replies, List<(CommandEnvelope, CommandReply)> Records, List<(CommandEnvelope, CommandReply)> Queued) Replies(
        IReadOnlyList<WorkUnit> units, Outcome[][] outcomes, AppendResult? appended)
    {
        var committedAt = appended?.Timestamp ?? DateTimeOffset.UtcNow;
        var replies = new CommandReply[units.Count][];
        var records = new List<(CommandEnvelope, CommandReply)>();
        var queued = new List<(CommandEnvelope, CommandReply)>();
        for (var u = 0; u < units.Count; u++)
        {
            replies[u] = new CommandReply[units[u].Commands.Count];
            for (var i = 0; i < replies[u].Length; i++)
            {
                var outcome = outcomes[u][i];
                replies[u][i] = outcome.Reply(appended, committedAt);
                if (units[u].Commands[i].Queued is not null)
                {
                    queued.Add((units[u].Commands[i], replies[u][i]));
                }

                if (outcome.Recorded)
                {
                    records.Add((units[u].Commands[i], replies[u][i]));
                }
            }
        }

        return (replies, records, queued);
    }

    private async Task<Outcome[]> DecideUnitAsync(
        WorkUnit unit, StreamSlots slots, Dictionary<string, OperationRecord> known, Dictionary<string, Outcome> seen, CancellationToken cancellationToken)
    {
        var mark = slots.Mark();
        var outcomes = new Outcome[unit.Commands.Count];
        var added = new List<string>();
        for (var i = 0; i < outcomes.Length; i++)
        {
            var envelope = unit.Commands[i];
            outcomes[i] = await DecideAsync(envelope, slots, known, seen, cancellationToken);
            if (outcomes[i] is not Conflicting && seen.TryAdd(envelope.OperationId, outcomes[i]))
            {
                added.Add(envelope.OperationId);
            }

            if (unit.Atomic && !outcomes[i].Succeeds)
            {
                // All or nothing: undo the unit's effects; the refused command keeps its answer, the others are aborted.
                slots.RollbackTo(mark);
                added.ForEach(id => seen.Remove(id));
                var refused = outcomes[i] is Decided { Rejected: { Remember: true } } ? outcomes[i] : outcomes[i].Unrecorded();
                if (refused.Recorded)
                {
                    seen[envelope.OperationId] = refused;
                }

                return [.. Enumerable.Range(0, outcomes.Length).Select(k => k == i ? refused : new Aborted(i))];
            }
        }

        return outcomes;
    }

    private async Task<Outcome> DecideAsync(
        CommandEnvelope envelope, StreamSlots slots, Dictionary<string, OperationRecord> known, Dictionary<string, Outcome> seen, CancellationToken cancellationToken)
    {
        if (known.TryGetValue(envelope.OperationId, out var record))
        {
            return record.Fingerprint == envelope.Fingerprint
                ? new Replayed(CommandReply.FromJson(record.Status, record.Response, replayed: true))
                : new Conflicting(envelope.OperationId);
        }

        if (seen.TryGetValue(envelope.OperationId, out var earlier))
        {
            return earlier.Fingerprint == envelope.Fingerprint ? new SameAs(earlier) : new Conflicting(envelope.OperationId);
        }

        var handler = handlers.For(envelope.Command);
        if (handler.RunsAlone)
        {
            envelope = envelope with { Command = await handler.PrepareAsync(envelope.Command, slots.Session, cancellationToken) };
        }

        // A command whose streams depend on an earlier command of this batch (a hold placed, then captured) loads late.
        await slots.EnsureLoadedAsync([envelope], cancellationToken);
        var decision = handler.Decide(envelope.Command, slots);
        return decision switch
        {
            HandlerAccepted accepted => new Decided(envelope.Fingerprint, accepted, null, slots.Apply(accepted.Changes, envelope)),
            HandlerRejected rejected => new Decided(envelope.Fingerprint, null, rejected, null),
            _ => throw new InvalidOperationException($"Unknown decision {decision.GetType().Name}."),
        };
    }

    /// <summary>What happened to one command in this attempt; its reply is built after the events are flushed.</summary>
    private abstract record Outcome
    {
        public virtual string? Fingerprint => null;

        public virtual bool Succeeds => false;

        /// <summary>Whether the answer goes into the operation log.</summary>
        public virtual bool Recorded => false;

        public abstract CommandReply Reply(AppendResult? appended, DateTimeOffset committedAt);

        public virtual Outcome Unrecorded() => this;
    }

    private sealed record Decided(string FingerprintOf, HandlerAccepted? Accepted, HandlerRejected? Rejected, Dictionary<string, long>? Versions) : Outcome
    {
        private CommandReply? _reply;

        public override string Fingerprint => FingerprintOf;

        public override bool Succeeds => Accepted is not null;

        public override bool Recorded => Accepted is not null || Rejected!.Remember;

        public override CommandReply Reply(AppendResult? appended, DateTimeOffset committedAt)
        {
            if (_reply is not null)
            {
                return _reply;
            }

            if (Rejected is not null)
            {
                return _reply = Rejected.Reply;
            }

            var lastSequence = 0L;
            foreach (var (streamId, version) in Versions!)
            {
                lastSequence = Math.Max(lastSequence, appended!.SequenceOf(streamId, version));
            }

            return _reply = Accepted!.Respond(new CommittedOperation(Versions, lastSequence, committedAt));
        }

        public override Outcome Unrecorded() => Rejected is { Remember: true } ? this with { Rejected = Rejected with { Remember = false } } : this;
    }

    private sealed record Replayed(CommandReply Stored) : Outcome
    {
        public override bool Succeeds => Stored.Succeeded;

        public override CommandReply Reply(AppendResult? appended, DateTimeOffset committedAt) => Stored;
    }

    /// <summary>The same operation id twice in one batch: the second answers as a replay of the first.</summary>
    private sealed record SameAs(Outcome First) : Outcome
    {
        public override bool Succeeds => First.Succeeds;

        public override CommandReply Reply(AppendResult? appended, DateTimeOffset committedAt) =>
            First.Reply(appended, committedAt) with { Replayed = true };
    }

    private sealed record Conflicting(string OperationId) : Outcome
    {
        public override CommandReply Reply(AppendResult? appended, DateTimeOffset committedAt) =>
            CommandReply.Problem(409, "operation_id_conflict", "Operation id reused with other fields",
                $"Operation '{OperationId}' was already submitted with different fields; use a new operation id.");
    }

    private sealed record Aborted(int RefusedIndex) : Outcome
    {
        public override CommandReply Reply(AppendResult? appended, DateTimeOffset committedAt) =>
            CommandReply.Problem(422, "batch_aborted", "Atomic batch aborted",
                $"Not applied: command {RefusedIndex} of the atomic batch was refused, so none of the batch took effect.");
    }
}
