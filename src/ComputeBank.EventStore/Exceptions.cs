namespace ComputeBank.EventStore;

/// <summary>An append's expected version did not match the stream. Nothing of the transaction was written.</summary>
public sealed class ConcurrencyException : Exception
{
    public ConcurrencyException(string streamId, long expectedVersion, long actualVersion, Exception? inner = null)
        : base($"Concurrency conflict on stream '{streamId}': expected version {Describe(expectedVersion)}, actual version {actualVersion}.", inner)
    {
        StreamId = streamId;
        ExpectedVersion = expectedVersion;
        ActualVersion = actualVersion;
    }

    /// <summary>The stream whose version did not match.</summary>
    public string StreamId { get; }

    /// <summary>What the append expected (0 = no stream).</summary>
    public long ExpectedVersion { get; }

    /// <summary>The stream's version when the append was checked (0 = no stream).</summary>
    public long ActualVersion { get; }

    private static string Describe(long expected) => new ExpectedVersion(expected).ToString();
}

/// <summary>
/// Waiting for a stream row lock ran past <c>lock_timeout</c> (SQLSTATE 55P03). Not a version conflict: nobody
/// changed the stream yet, someone holds it. The transaction is rolled back.
/// </summary>
public sealed class StreamLockTimeoutException(IReadOnlyCollection<string> streamIds, Exception inner)
    : Exception($"Timed out waiting for the lock on stream(s) {string.Join(", ", streamIds)}.", inner)
{
    /// <summary>The streams the session was locking or appending to.</summary>
    public IReadOnlyCollection<string> StreamIds { get; } = streamIds;
}

/// <summary>
/// The COMMIT returned, but its wait for the synchronous standby was cancelled (a client-side command timeout sends a
/// cancel request while the standby is away): PostgreSQL keeps such a commit on the primary alone and reports it with
/// a WARNING notice (SQLSTATE 01000, "canceling wait for synchronous replication"), not an error. The transaction is
/// committed locally and may or may not survive a failover, so whatever it did must not be acknowledged yet.
/// </summary>
public sealed class ReplicationUnconfirmedException(string notice)
    : Exception($"The transaction committed on the primary, but its synchronous standby did not confirm it: {notice}")
{
}
