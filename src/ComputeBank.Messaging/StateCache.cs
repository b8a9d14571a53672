using System.Collections.Concurrent;

namespace ComputeBank.Messaging;

/// <summary>
/// Committed stream states this node has seen, kept between group commits so that a stream the bus wrote a moment ago
/// is not read back and deserialised again: the next load asks the store only for the events after the cached
/// version (none, usually), under the same locks, so a write by another node is still folded in. Only states of
/// committed transactions go in (states are immutable values); an older version never replaces a newer one. Bounded:
/// past <see cref="Capacity"/> entries (checked per commit) the cache starts over, which costs one full read per stream, never correctness.
/// </summary>
internal sealed class StateCache(int capacity)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public int Capacity { get; } = capacity;

    public int Count => _entries.Count;

    /// <summary>The cached entries of <paramref name="streamIds"/> (taken now: later puts do not change them).</summary>
    public Dictionary<string, Entry> Find(IEnumerable<string> streamIds)
    {
        var found = new Dictionary<string, Entry>(StringComparer.Ordinal);
        if (Capacity <= 0)
        {
            return found;
        }

        foreach (var id in streamIds)
        {
            if (_entries.TryGetValue(id, out var entry))
            {
                found[id] = entry;
            }
        }

        return found;
    }

    /// <summary>Remembers committed states.</summary>
    public void Put(IEnumerable<(string StreamId, Entry Entry)> committed)
    {
        if (Capacity <= 0)
        {
            return;
        }

        // Count takes every lock of the dictionary: checked once per commit (the bound may be passed by one commit's
        // streams), not once per stream, which made the committers queue on those locks.
        if (_entries.Count >= Capacity)
        {
            _entries.Clear();
        }

        foreach (var (streamId, entry) in committed)
        {
            _entries.AddOrUpdate(streamId, entry, (_, existing) => existing.Version >= entry.Version ? existing : entry);
        }
    }

    /// <summary>Forgets everything (after an outage: the database may not be the one the states came from).</summary>
    public void Clear() => _entries.Clear();

    /// <summary>A stream's state at <paramref name="Version"/>.</summary>
    public sealed record Entry(long Version, string? AggregateType, object State);
}
