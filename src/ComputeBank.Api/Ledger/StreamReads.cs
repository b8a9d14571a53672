using ComputeBank.EventStore;

namespace ComputeBank.Api.Ledger;

/// <summary>The current state of one stream for a query: its inline snapshot plus any later events, folded by the
/// ledger's own <see cref="Domain.Ledger.Evolve"/>, without taking a lock.</summary>
public static class StreamReads
{
    /// <summary>The state and version of <paramref name="streamId"/>; (null, 0) when it has no events.</summary>
    public static async Task<(object? State, long Version)> CurrentAsync(this MartenEventStore store, string streamId, CancellationToken ct)
    {
        await using var session = store.OpenSession();
        var fetched = await session.FetchForWritingAsync([streamId], LockMode.None, ct);
        if (!fetched.TryGetValue(streamId, out var stream) || stream.Version == 0)
        {
            return (null, 0);
        }

        return (stream.EventsAfterSnapshot.Aggregate(stream.Snapshot, (s, e) => Domain.Ledger.Evolve(streamId, s, e.Data)), stream.Version);
    }
}
