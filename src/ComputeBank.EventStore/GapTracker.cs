using Microsoft.Extensions.Logging;

namespace ComputeBank.EventStore;

/// <summary>
/// Decides whether a reader of the global feed may step over a hole in the sequence (Marten 9.16.1's rule, rebuilt).
/// A hole is a sequence number taken by a transaction that has not committed: it either rolled back (the hole is
/// permanent) or is still running (the event will appear). The append function writes the stream row, which gives
/// the transaction an xid, before it takes sequence numbers; so when a page shows a hole, the transaction that can
/// fill it is in that page's snapshot's in-progress list. That list is kept as evidence, and the hole is skipped once
/// a later snapshot (the one the next page is read from) shows none of those transactions still in progress: by then
/// a commit would have made the event visible. A leaked open transaction therefore shows up as lag, never as loss.
/// Evidence is kept in memory; a restarted reader waits one more poll for the same hole.
/// </summary>
internal sealed class GapTracker(ILogger logger)
{
    private const int MaxEvidence = 4096;

    private readonly Lock _lock = new();
    private readonly List<(long From, long To, long[] InProgress)> _evidence = [];

    /// <summary>How many events of <paramref name="page"/> (read after <paramref name="after"/>, in sequence order) are below the high-water mark.</summary>
    public int SafePrefix(long after, IReadOnlyList<StoredEvent> page, long[] inProgress)
    {
        var expected = after + 1;
        for (var i = 0; i < page.Count; i++)
        {
            var sequence = page[i].Sequence;
            if (sequence != expected && !CanSkip(expected, sequence - 1, inProgress))
            {
                return i;
            }

            expected = sequence + 1;
        }

        return page.Count;
    }

    private bool CanSkip(long from, long to, long[] inProgress)
    {
        lock (_lock)
        {
            // Every missing number needs evidence recorded while it was already missing, with all its possible
            // fillers finished now. New holes get evidence from this snapshot (enough at once when nothing is running).
            if (!_evidence.Exists(e => e.From == from && e.To == to))
            {
                if (_evidence.Count == MaxEvidence)
                {
                    _evidence.RemoveAt(0);
                }

                _evidence.Add((from, to, inProgress));
            }

            for (var missing = from; missing <= to;)
            {
                var covering = _evidence.FindLast(e => e.From <= missing && missing <= e.To && !e.InProgress.Intersect(inProgress).Any());
                if (covering.InProgress is null)
                {
                    return false;
                }

                missing = covering.To + 1;
            }

            Log.GapSkipped(logger, from, to);
            return true;
        }
    }
}
