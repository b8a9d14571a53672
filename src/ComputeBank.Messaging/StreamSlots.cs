using System.Collections;
using ComputeBank.EventStore;

namespace ComputeBank.Messaging;

/// <summary>
/// The streams one group commit touches: loaded once (locked, in one round-trip per round), then kept current in
/// memory as commands are decided in arrival order, so later commands see earlier ones' effects. An undo journal lets an
/// atomic unit roll its effects back without touching the database.
/// </summary>
internal sealed class StreamSlots(IEventSession session, IStreamFolder folder, HandlerRegistry handlers, StreamLocks locks, StateCache cache)
    : IReadOnlyDictionary<string, object?>
{
    private const int MaxLoadRounds = 6;

    public IEventSession Session => session;

    private readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private readonly List<Slot> _order = [];
    private readonly Stack<(Slot Slot, object? State, int PendingCount, string? AggregateType)> _journal = new();

    /// <summary>
    /// Locks and loads every stream the commands ask for, in as few round-trips as their handlers allow. Locks are
    /// transaction-scoped advisory locks on the stream ids, taken in one sorted statement per round, so that they also
    /// cover streams that do not exist yet (two nodes opening one account) and can be shared (every deposit of a period
    /// shares the period's lock; only closing the period takes it exclusively).
    /// </summary>
    public async Task EnsureLoadedAsync(IEnumerable<CommandEnvelope> commands, CancellationToken cancellationToken)
    {
        var list = commands as IReadOnlyList<CommandEnvelope> ?? commands.ToList();
        for (var round = 0; round < MaxLoadRounds; round++)
        {
            var wanted = new SortedDictionary<string, LockMode>(StringComparer.Ordinal);
            foreach (var envelope in list)
            {
                var handler = handlers.For(envelope.Command);
                foreach (var id in handler.StreamsToLoad(envelope.Command, this))
                {
                    var mode = handler.LockFor(envelope.Command, id);
                    var held = _slots.TryGetValue(id, out var slot) ? slot.Lock : LockMode.None;
                    if (Stronger(mode, held) && (!wanted.TryGetValue(id, out var already) || Stronger(mode, already)))
                    {
                        wanted[id] = mode;
                    }
                }
            }

            if (wanted.Count == 0)
            {
                return;
            }

            await locks.AcquireAsync(session, wanted, cancellationToken);
            var missing = wanted.Keys.Where(id => !_slots.ContainsKey(id)).ToList();
            var cached = cache.Find(missing);
            var fetched = missing.Count == 0
                ? new Dictionary<string, FetchedStream>()
                : await session.FetchForWritingAsync(
                    missing, LockMode.None, cached.Count == 0 ? null : cached.ToDictionary(c => c.Key, c => c.Value.Version, StringComparer.Ordinal), cancellationToken);
            foreach (var (id, mode) in wanted)
            {
                if (_slots.TryGetValue(id, out var upgraded))
                {
                    upgraded.Lock = mode;
                    continue;
                }

                var slot = fetched.TryGetValue(id, out var stream) && stream.Version > 0
                    ? new Slot(id, stream.Version, stream.AggregateType, Fold(id, stream, stream.FromKnownVersion ? cached[id].State : stream.Snapshot))
                    : new Slot(id, 0, null, null);
                slot.Lock = mode;
                _slots.Add(id, slot);
                _order.Add(slot);
            }
        }

        throw new InvalidOperationException($"The handlers kept asking for new streams after {MaxLoadRounds} rounds.");
    }

    /// <summary>Whether <paramref name="mode"/> locks more than <paramref name="than"/>: none, then shared, then exclusive
    /// (the enum's order is not that: a shared lock held must still be raised to exclusive for a later writer).</summary>
    internal static bool Stronger(LockMode mode, LockMode than) => Strength(mode) > Strength(than);

    private static int Strength(LockMode mode) => mode switch
    {
        LockMode.None => 0,
        LockMode.Shared => 1,
        LockMode.Exclusive => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, null),
    };

    /// <summary>Applies accepted events to the in-memory states; returns, per stream, the version after this command.</summary>
    public Dictionary<string, long> Apply(IReadOnlyList<StreamAppend> changes, CommandEnvelope envelope)
    {
        var versions = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var change in changes)
        {
            if (!_slots.TryGetValue(change.StreamId, out var slot))
            {
                throw new InvalidOperationException(
                    $"The handler of {envelope.Command.GetType().Name} wrote to stream '{change.StreamId}' without asking to load it.");
            }

            _journal.Push((slot, slot.State, slot.Pending.Count, slot.AggregateType));
            slot.AggregateType ??= change.AggregateType;
            foreach (var @event in change.Events)
            {
                slot.State = folder.Evolve(slot.StreamId, slot.State, @event);
                slot.Pending.Add(new PendingWrite(@event, envelope));
            }

            versions[slot.StreamId] = slot.LoadedVersion + slot.Pending.Count;
        }

        return versions;
    }

    /// <summary>A point to roll back to.</summary>
    public int Mark() => _journal.Count;

    /// <summary>Undoes every <see cref="Apply"/> since <paramref name="mark"/>.</summary>
    public void RollbackTo(int mark)
    {
        while (_journal.Count > mark)
        {
            var (slot, state, pendingCount, aggregateType) = _journal.Pop();
            slot.State = state;
            slot.AggregateType = aggregateType;
            slot.Pending.RemoveRange(pendingCount, slot.Pending.Count - pendingCount);
        }
    }

    /// <summary>Queues every stream's new events (with its expected version) and its new snapshot on the session.</summary>
    public int WriteTo(IEventSession target)
    {
        var events = 0;
        var metadataOf = new Dictionary<CommandEnvelope, EventMetadata>(ReferenceEqualityComparer.Instance);
        foreach (var slot in _order)
        {
            if (slot.Pending.Count == 0)
            {
                continue;
            }

            var expected = slot.LoadedVersion == 0 ? ExpectedVersion.NoStream : ExpectedVersion.Exactly(slot.LoadedVersion);
            var metadata = new List<EventMetadata>(slot.Pending.Count);
            foreach (var pending in slot.Pending)
            {
                if (!metadataOf.TryGetValue(pending.Envelope, out var shared))
                {
                    metadataOf[pending.Envelope] = shared = Metadata(pending.Envelope);
                }

                metadata.Add(shared);
            }

            target.Append(slot.StreamId, expected, slot.Pending.Select(p => p.Event).ToList(), slot.AggregateType, metadata);
            if (slot.State is not null)
            {
                target.StoreSnapshot(slot.StreamId, slot.LoadedVersion + slot.Pending.Count, slot.State);
            }

            events += slot.Pending.Count;
        }

        return events;
    }

    /// <summary>Every loaded stream that exists, with its version and state as this transaction leaves them (to cache
    /// once it has committed).</summary>
    public IEnumerable<(string StreamId, StateCache.Entry Entry)> States() =>
        _order.Where(s => s.State is not null).Select(s => (s.StreamId, new StateCache.Entry(s.LoadedVersion + s.Pending.Count, s.AggregateType, s.State!)));

    /// <summary>The streams this transaction writes, with their new version and state.</summary>
    public IReadOnlyList<(string StreamId, long Version, object State)> Touched() =>
        [.. _order.Where(s => s.Pending.Count > 0 && s.State is not null).Select(s => (s.StreamId, s.LoadedVersion + s.Pending.Count, s.State!))];

    private static EventMetadata Metadata(CommandEnvelope envelope) => new()
    {
        CorrelationId = envelope.CorrelationId,
        CausationId = envelope.CausationId ?? envelope.OperationId,
        User = envelope.UserId,
        Headers = new Dictionary<string, string>(StringComparer.Ordinal) { ["operationId"] = envelope.OperationId },
    };

    private object? Fold(string streamId, FetchedStream stream, object? start)
    {
        var state = start;
        foreach (var stored in stream.EventsAfterSnapshot)
        {
            state = folder.Evolve(streamId, state, stored.Data);
        }

        return state;
    }

    public object? this[string key] => _slots[key].State;

    public IEnumerable<string> Keys => _slots.Keys;

    public IEnumerable<object?> Values => _slots.Values.Select(s => s.State);

    public int Count => _slots.Count;

    public bool ContainsKey(string key) => _slots.ContainsKey(key);

    public bool TryGetValue(string key, out object? value)
    {
        if (_slots.TryGetValue(key, out var slot))
        {
            value = slot.State;
            return true;
        }

        value = null;
        return false;
    }

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() =>
        _slots.Select(s => new KeyValuePair<string, object?>(s.Key, s.Value.State)).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private sealed class Slot(string streamId, long loadedVersion, string? aggregateType, object? state)
    {
        public string StreamId { get; } = streamId;

        public long LoadedVersion { get; } = loadedVersion;

        public string? AggregateType { get; set; } = aggregateType;

        public object? State { get; set; } = state;

        public List<PendingWrite> Pending { get; } = [];

        public LockMode Lock { get; set; }
    }

    private sealed record PendingWrite(object Event, CommandEnvelope Envelope);
}
