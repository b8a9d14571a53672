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
