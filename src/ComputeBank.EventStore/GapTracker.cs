using Microsoft.Extensions.Logging;

namespace ComputeBank.EventStore;

/// <summary>
/// What a page's snapshot says about running transactions: the ids in progress below its xmax (<c>pg_snapshot_xip</c>),
/// its xmax (one past the newest finished id: ids at or above it are running or not yet handed out, and are not in the
/// list), and, once fetched after the snapshot, <see cref="Bound"/>: an id handed out later than every id of the snapshot.
/// </summary>
internal readonly record struct FeedSnapshot(long[] InProgress, long Xmax, long? Bound);

/// <summary>
/// Decides whether a reader of the global feed may step over a hole in the sequence (Marten 9.16.1's rule, rebuilt).
/// A hole is a sequence number taken by a transaction that has not committed: it either rolled back (the hole is
/// permanent) or is still running (the event will appear). The append function locks or writes the stream row, which
/// gives the transaction an id, before it takes sequence numbers; so when a page shows a hole below one of its events,
/// the transaction that can fill it had its id before the page's snapshot and was, if still running, either in the
/// snapshot's in-progress list or at or above its xmax, and below a transaction id taken after the snapshot
/// (<see cref="FeedSnapshot.Bound"/>). That is kept as evidence, and the hole is skipped once a snapshot (this one or the
/// one a later page is read from) shows none of those transactions still running: by then a commit would have made the
/// event visible. A leaked open transaction therefore shows up as lag, never as loss.
/// Evidence is kept in memory; a restarted reader records it again.
/// </summary>
internal sealed class GapTracker(ILogger logger)
{
    private const int MaxEvidence = 4096;

    private readonly Lock _lock = new();
    private readonly List<Evidence> _evidence = [];

    /// <summary>
    /// How many events of a page (their <paramref name="sequences"/>, read after <paramref name="after"/>, in order) are below the
    /// high-water mark. <paramref name="unrecorded"/> says the page stops at a hole never seen before while
    /// <paramref name="snapshot"/> has no <see cref="FeedSnapshot.Bound"/> yet: fetch one and ask again.
    /// </summary>
    public int SafePrefix(long after, IReadOnlyList<long> sequences, FeedSnapshot snapshot, out bool unrecorded)
    {
        unrecorded = false;
        var expected = after + 1;
        for (var i = 0; i < sequences.Count; i++)
        {
            var sequence = sequences[i];
            if (sequence != expected && !CanSkip(expected, sequence - 1, snapshot, ref unrecorded))
            {
                return i;
            }

            expected = sequence + 1;
        }

        return sequences.Count;
    }

    private bool CanSkip(long from, long to, FeedSnapshot snapshot, ref bool unrecorded)
    {
        lock (_lock)
        {
            // Every missing number needs evidence recorded while it was already missing, with all its possible
            // fillers finished now. New holes get evidence from this snapshot.
            if (!_evidence.Exists(e => e.From == from && e.To == to))
            {
                if (snapshot.Bound is not { } bound)
                {
                    unrecorded = true;
                    return false;
                }

                if (_evidence.Count == MaxEvidence)
                {
                    _evidence.RemoveAt(0);
                }

                _evidence.Add(new Evidence(from, to, snapshot.InProgress, snapshot.Xmax, bound));
            }

            for (var missing = from; missing <= to;)
            {
                var covering = _evidence.FindLast(e => e.From <= missing && missing <= e.To && e.AllFinishedBy(snapshot));
                if (covering is null)
                {
                    return false;
                }

                missing = covering.To + 1;
            }

            Log.GapSkipped(logger, from, to);
            return true;
        }
    }

    /// <summary>Numbers <see cref="From"/>..<see cref="To"/> were missing from a snapshot; whoever can still fill them
    /// is in <see cref="InProgress"/> or has an id in [<see cref="Xmax"/>, <see cref="Bound"/>).</summary>
    private sealed record Evidence(long From, long To, long[] InProgress, long Xmax, long Bound)
    {
        // A snapshot lists every running id below its xmax; so when its xmax has reached Bound and it lists none of the
        // possible fillers, all of them have finished.
        public bool AllFinishedBy(FeedSnapshot later) =>
            later.Xmax >= Bound && !later.InProgress.Any(x => (x >= Xmax && x < Bound) || InProgress.Contains(x));
    }
}
