namespace ComputeBank.EventStore;

/// <summary>Who and what caused an event; stored beside it as <c>metadata jsonb</c> and covered by its hash.</summary>
public sealed record EventMetadata
{
    /// <summary>The same for every event caused by one original request.</summary>
    public string? CorrelationId { get; init; }

    /// <summary>The id of the command or message that caused the event.</summary>
    public string? CausationId { get; init; }

    /// <summary>The user or party on whose behalf the event was written.</summary>
    public string? User { get; init; }

    /// <summary>Free-form headers (trace context, client ids).</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>No metadata.</summary>
    public static EventMetadata Empty { get; } = new();
}

/// <summary>What an append expects the stream's version to be.</summary>
/// <param name="Value">-1 any, 0 no stream yet, n exactly n.</param>
public readonly record struct ExpectedVersion(long Value)
{
    /// <summary>Append whatever the version is; creates the stream if missing.</summary>
    public static ExpectedVersion Any { get; } = new(-1);

    /// <summary>The stream must not exist yet.</summary>
    public static ExpectedVersion NoStream { get; } = new(0);

    /// <summary>The stream must be at exactly <paramref name="version"/> (0 means it must not exist).</summary>
    public static ExpectedVersion Exactly(long version) =>
        version >= 0 ? new(version) : throw new ArgumentOutOfRangeException(nameof(version), version, "A stream version is never negative.");

    /// <inheritdoc />
    public override string ToString() => Value switch { -1 => "any", 0 => "no stream", _ => Value.ToString(System.Globalization.CultureInfo.InvariantCulture) };
}

/// <summary>How <see cref="IEventSession.FetchForWritingAsync(IReadOnlyCollection{string}, LockMode, CancellationToken)"/> locks the stream rows it reads.</summary>
public enum LockMode
{
    /// <summary>No lock: optimistic, conflicts surface at append as <see cref="ConcurrencyException"/>.</summary>
    None,

    /// <summary><c>SELECT ... FOR UPDATE</c> in stream id order: writers of the same stream queue up instead of conflicting.</summary>
    Exclusive,

    /// <summary><c>SELECT ... FOR SHARE</c>: the streams cannot change until this transaction ends, others may read-lock too.</summary>
    Shared,
}

/// <summary>An event as stored, after upcasting. <see cref="Version"/> is its position in its stream (1-based).</summary>
public sealed record StoredEvent(
    long Sequence, string StreamId, long Version, string TypeName, object Data, EventMetadata Metadata,
    DateTimeOffset Timestamp, string Hash, string? PreviousHash);

/// <summary>
/// An event as a projection folds it: its place in the global feed and in its stream, and its data. Read without the
/// metadata and the hash link, which no read model needs and which cost more to read than the rest of the row.
/// </summary>
public sealed record ProjectedEvent(long Sequence, string StreamId, long Version, string TypeName, object Data, DateTimeOffset Timestamp);

/// <summary>An event as a replay needs it: its version, when it was stored, its data.</summary>
public sealed record ReplayedEvent(long Version, DateTimeOffset Timestamp, object Data);

/// <summary>
/// A stream as read for writing: its version (0 = no stream), the latest snapshot at or below that version (null,
/// <see cref="SnapshotVersion"/> 0 when none) and the events after the snapshot up to <see cref="Version"/>.
/// </summary>
public sealed record FetchedStream(
    string StreamId, long Version, string? AggregateType, object? Snapshot, long SnapshotVersion,
    IReadOnlyList<StoredEvent> EventsAfterSnapshot)
{
    /// <summary>True when the caller's known version was used: <see cref="Snapshot"/> is null, <see cref="SnapshotVersion"/>
    /// is that known version, and <see cref="EventsAfterSnapshot"/> are the events after it.</summary>
    public bool FromKnownVersion { get; init; }
}

/// <summary>An event waiting in a session, as inline projections see it.</summary>
/// <param name="StreamId">The stream it is appended to.</param>
/// <param name="Version">Its stream version, known unless the append used <see cref="ExpectedVersion.Any"/>.</param>
/// <param name="TypeName">Its registered name.</param>
/// <param name="Data">The event object.</param>
/// <param name="Metadata">The session's metadata.</param>
public sealed record PendingEvent(string StreamId, long? Version, string TypeName, object Data, EventMetadata Metadata);

/// <summary>An event written by <see cref="IEventSession.SaveChangesAsync"/>.</summary>
public sealed record AppendedEvent(long Sequence, string StreamId, long Version, string TypeName, object Data, DateTimeOffset Timestamp);

/// <summary>The outcome of a commit: every stream's new version and every event in append order.</summary>
public sealed record AppendResult(IReadOnlyDictionary<string, long> StreamVersions, IReadOnlyList<AppendedEvent> Events)
{
    internal static AppendResult Nothing { get; } = new(new Dictionary<string, long>(), []);

    /// <summary>The commit timestamp the events were stamped with (null when nothing was appended).</summary>
    public DateTimeOffset? Timestamp => Events.Count > 0 ? Events[0].Timestamp : null;

    /// <summary>The global sequence of the event at <paramref name="version"/> of <paramref name="streamId"/>; 0 when it
    /// was not appended by this call.</summary>
    public long SequenceOf(string streamId, long version)
    {
        _index ??= Events.ToDictionary(e => (e.StreamId, e.Version), e => e.Sequence);
        return _index.GetValueOrDefault((streamId, version));
    }

    private Dictionary<(string, long), long>? _index;
}

/// <summary>What kind of damage the hash-chain verifier found.</summary>
public enum ChainBreakKind
{
    /// <summary>The stored hash does not match the event's content: data, metadata, type or timestamp was edited.</summary>
    ContentAltered,

    /// <summary>Versions jump (an event in the middle or at the start was deleted).</summary>
    EventMissing,

    /// <summary>The event's previous-hash is not the hash of the event before it.</summary>
    PreviousHashMismatch,

    /// <summary>The stream row's version or last hash is not the last event's: events at the end were deleted (or added around the store).</summary>
    TailMismatch,
}

/// <summary>The first broken link of one stream's hash chain.</summary>
/// <param name="StreamId">The damaged stream.</param>
/// <param name="Kind">What is wrong.</param>
/// <param name="Detail">A human-readable description.</param>
/// <param name="Version">The first version at which the chain is broken (for a tail mismatch: the stream row's version).</param>
public sealed record ChainBreak(string StreamId, long Version, ChainBreakKind Kind, string Detail);

/// <summary>A module whose schema lives beside the store's: its name (the key its versions are recorded under) and the
/// assembly that embeds its <c>Scripts/NNNN_name.sql</c> files, in which <c>__schema__</c> stands for the store's schema.</summary>
public sealed record MigrationModule(string Name, System.Reflection.Assembly Assembly);

/// <summary>What <see cref="MartenEventStore.ConvertLayoutBeforeMartenAsync"/> carried over.</summary>
/// <param name="Events">Events now in <c>mt_events</c>, each with its link in <c>event_hashes</c>.</param>
/// <param name="Streams">Streams now in <c>mt_streams</c>.</param>
/// <param name="Snapshots">Snapshots kept.</param>
/// <param name="Checkpoints">Projection checkpoints kept.</param>
/// <param name="LastSequence">The highest sequence number; the next append takes the one after it.</param>
public sealed record LayoutConversion(long Events, long Streams, long Snapshots, long Checkpoints, long LastSequence);
