using Npgsql;

namespace ComputeBank.EventStore;

/// <summary>
/// A unit of work on the event store: one PostgreSQL transaction, begun on first use. Appends, snapshots and
/// enqueued commands wait in memory until <see cref="SaveChangesAsync"/> sends them in one batch and commits.
/// A session is single-use: after <see cref="SaveChangesAsync"/> (or a failure) open a new one.
/// </summary>
public interface IEventSession : IAsyncDisposable
{
    /// <summary>The session's connection; reading it opens the connection and begins the transaction if needed.</summary>
    NpgsqlConnection Connection { get; }

    /// <summary>The session's transaction, for extra queries that must commit or roll back with the events.</summary>
    NpgsqlTransaction Transaction { get; }

    /// <summary>
    /// In ONE round-trip, reads for every id the stream row (version, aggregate type), the latest snapshot and the
    /// events after it. <paramref name="mode"/> takes row locks in stream id order first (<c>FOR UPDATE</c> /
    /// <c>FOR SHARE</c>); missing streams come back with version 0. Lock waits honour
    /// <see cref="EventStoreOptions.LockTimeout"/> and end in <see cref="StreamLockTimeoutException"/>.
    /// </summary>
    Task<IReadOnlyDictionary<string, FetchedStream>> FetchForWritingAsync(IReadOnlyCollection<string> streamIds, LockMode mode, CancellationToken ct);

    /// <summary>
    /// As <see cref="FetchForWritingAsync(IReadOnlyCollection{string}, LockMode, CancellationToken)"/>, for a caller
    /// that already holds the state of some streams at a known version (a cache of committed states): such a stream
    /// comes back with <see cref="FetchedStream.FromKnownVersion"/>, no snapshot, and only the events after that
    /// version (none when it is current). A known version above the stream's is ignored (the stream is read in full).
    /// </summary>
    Task<IReadOnlyDictionary<string, FetchedStream>> FetchForWritingAsync(
        IReadOnlyCollection<string> streamIds, LockMode mode, IReadOnlyDictionary<string, long>? knownVersions, CancellationToken ct);

    /// <summary>Starts a new stream; the commit fails with <see cref="ConcurrencyException"/> if it exists.</summary>
    void StartStream(string streamId, string aggregateType, IReadOnlyList<object> events);

    /// <summary>Appends events to a stream if it is at <paramref name="expected"/> at commit time. One append per stream per session.</summary>
    void Append(string streamId, ExpectedVersion expected, IReadOnlyList<object> events, string? aggregateType = null);

    /// <summary>Like <see cref="Append(string, ExpectedVersion, IReadOnlyList{object}, string?)"/>, with metadata per event
    /// (a group commit writes events of many commands, each with its own correlation and causation).</summary>
    void Append(string streamId, ExpectedVersion expected, IReadOnlyList<object> events, string? aggregateType, IReadOnlyList<EventMetadata> metadata);

    /// <summary>
    /// Stores <paramref name="state"/> as the stream's snapshot at <paramref name="version"/> in the same batch. The
    /// state's CLR type must be registered in the <see cref="EventTypeRegistry"/>; its name is stored with the row so
    /// <see cref="FetchForWritingAsync(IReadOnlyCollection{string}, LockMode, CancellationToken)"/> can deserialise it. An older snapshot never replaces a newer one.
    /// </summary>
    void StoreSnapshot(string streamId, long version, object state);

    /// <summary>Adds a command (idempotency record, read model row) to the commit batch, after the appends.</summary>
    void Enqueue(NpgsqlBatchCommand command);

    /// <summary>
    /// Runs <paramref name="action"/> once the session's transaction has committed: after a confirmed commit, and also
    /// after one PostgreSQL committed without the standby's confirmation (<see cref="ReplicationUnconfirmedException"/>,
    /// whose rows exist on the primary), before that exception reaches the caller. Not run when nothing committed. For
    /// work that must follow rows of the commit, such as handing messages stored with it to a local queue; the action
    /// must not throw (the commit it follows cannot be undone).
    /// </summary>
    void AfterCommit(Func<Task> action);

    /// <summary>
    /// Runs inline projections, then sends all appends (one function call), snapshots and enqueued commands in ONE
    /// <see cref="NpgsqlBatch"/> and commits. Throws <see cref="ConcurrencyException"/> when an expected version does
    /// not match and <see cref="StreamLockTimeoutException"/> on a lock timeout; either way nothing is written.
    /// </summary>
    Task<AppendResult> SaveChangesAsync(CancellationToken ct);

    /// <summary>
    /// Sends everything pending in one batch inside the session's transaction WITHOUT committing, and returns what was
    /// appended (versions, sequences). Statements enqueued afterwards go with <see cref="CommitAsync"/>: a caller can
    /// write rows that depend on the sequence numbers (an operation log's answers) in the same transaction.
    /// </summary>
    Task<AppendResult> FlushAsync(CancellationToken ct);

    /// <summary>Sends what is still pending (one batch) and commits the session's transaction.</summary>
    Task CommitAsync(CancellationToken ct);
}

/// <summary>A projection that runs inside the append's transaction and adds its writes to the commit batch via <see cref="IEventSession.Enqueue"/>.</summary>
public interface IInlineProjection
{
    /// <summary>Called once per commit with every pending event of the session, in append order.</summary>
    void Apply(IEventSession session, IReadOnlyList<PendingEvent> events);
}

/// <summary>A projection run by the <see cref="ProjectionDaemon"/> behind the global feed's high-water mark.</summary>
public interface IAsyncProjection
{
    /// <summary>Stable name; the key of its checkpoint and of its leadership lock.</summary>
    string Name { get; }

    /// <summary>Applies a page of events in the daemon's transaction; the checkpoint commits with it.</summary>
    Task ApplyAsync(NpgsqlConnection c, NpgsqlTransaction tx, IReadOnlyList<ProjectedEvent> page, CancellationToken ct);

    /// <summary>Deletes the read model before a rebuild, in the transaction that resets the checkpoint to zero.</summary>
    Task ResetAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct);
}
