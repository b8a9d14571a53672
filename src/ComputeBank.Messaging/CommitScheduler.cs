using ComputeBank.EventStore;

namespace ComputeBank.Messaging;

/// <summary>
/// Hands queued submissions to the committers of one node so that two of them do not take commands on the same stream
/// at once, where the second would only wait for the first one's stream locks and the committers would run one after
/// the other. A committer takes, in arrival order, submissions whose streams no group commit in flight claims; it skips
/// one that conflicts, and every later one that shares a stream with a skipped one, so that submissions on one stream
/// still start in arrival order (and none waits for ever: it is first in line once the claim is released).
/// <para>
/// Only an optimisation: the stream locks in the database still decide, across nodes too. The claims are the streams a
/// handler asks for in its first load round (a stream found only from another stream's state is not claimed), with the
/// handler's lock mode: shared claims (every deposit of a period reads the period) do not exclude each other.
/// </para>
/// </summary>
internal sealed class CommitScheduler
{
    private readonly List<Submission> _pending = [];
    private readonly Dictionary<string, Holders> _busy = new(StringComparer.Ordinal);
    private int _pendingCommands;

    /// <summary>Commands taken from the queue and not yet handed to a committer.</summary>
    public int PendingCommands => _pendingCommands;

    public bool HasPending => _pending.Count > 0;

    public void Add(WorkUnit[] units)
    {
        var submission = new Submission(units);
        _pending.Add(submission);
        _pendingCommands += submission.Size;
    }

    /// <summary>
    /// The submissions a committer takes now (null: none can start), at most <paramref name="maxSize"/> commands unless
    /// the first is bigger; their claims hold until <see cref="Release"/>.
    /// </summary>
    public Taken? TryTake(int maxSize)
    {
        List<Submission>? taken = null;
        Dictionary<string, LockMode>? skipped = null;
        var size = 0;
        foreach (var submission in _pending)
        {
            if (size >= maxSize || (size > 0 && size + submission.Size > maxSize))
            {
                break;
            }

            if (ConflictsWithBusy(submission.Claims) || (skipped is not null && Conflicts(submission.Claims, skipped)))
            {
                skipped ??= new Dictionary<string, LockMode>(StringComparer.Ordinal);
                Merge(skipped, submission.Claims);
                continue;
            }

            submission.Taken = true;
            (taken ??= []).Add(submission);
            size += submission.Size;
        }

        if (taken is null)
        {
            return null;
        }

        // One pass: removing each taken submission where it stood would shift the list once per submission.
        _pending.RemoveAll(s => s.Taken);
        _pendingCommands -= size;
        var claims = new Dictionary<string, LockMode>(StringComparer.Ordinal);
        foreach (var submission in taken)
        {
            Merge(claims, submission.Claims);
        }

        foreach (var (id, mode) in claims)
        {
            var holders = _busy.GetValueOrDefault(id);
            _busy[id] = mode == LockMode.Exclusive ? holders with { Exclusive = holders.Exclusive + 1 } : holders with { Shared = holders.Shared + 1 };
        }

        return new Taken([.. taken.SelectMany(s => s.Units)], claims);
    }

    /// <summary>Gives back the claims of <paramref name="taken"/> once its group commits are done.</summary>
    public void Release(Taken taken)
    {
        foreach (var (id, mode) in taken.Claims)
        {
            var holders = _busy[id];
            holders = mode == LockMode.Exclusive ? holders with { Exclusive = holders.Exclusive - 1 } : holders with { Shared = holders.Shared - 1 };
            if (holders is { Exclusive: 0, Shared: 0 })
            {
                _busy.Remove(id);
            }
            else
            {
                _busy[id] = holders;
            }
        }
    }

    private bool ConflictsWithBusy(IReadOnlyDictionary<string, LockMode> claims)
    {
        foreach (var (id, mode) in claims)
        {
            if (_busy.TryGetValue(id, out var holders) && (holders.Exclusive > 0 || mode == LockMode.Exclusive))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Conflicts(IReadOnlyDictionary<string, LockMode> claims, Dictionary<string, LockMode> others)
    {
        foreach (var (id, mode) in claims)
        {
            if (others.TryGetValue(id, out var other) && (other == LockMode.Exclusive || mode == LockMode.Exclusive))
            {
                return true;
            }
        }

        return false;
    }

    private static void Merge(Dictionary<string, LockMode> into, IReadOnlyDictionary<string, LockMode> claims)
    {
        foreach (var (id, mode) in claims)
        {
            Claim(into, id, mode);
        }
    }

    /// <summary>Adds a claim on <paramref name="id"/>; of two claims on one stream the stronger lock stays.</summary>
    public static void Claim(Dictionary<string, LockMode> claims, string id, LockMode mode)
    {
        if (!claims.TryGetValue(id, out var existing) || StreamSlots.Stronger(mode, existing))
        {
            claims[id] = mode;
        }
    }

    /// <summary>What a committer took: the units, in arrival order, and the streams they claim.</summary>
    public sealed record Taken(IReadOnlyList<WorkUnit> Units, IReadOnlyDictionary<string, LockMode> Claims);

    private readonly record struct Holders(int Shared, int Exclusive);

    private sealed class Submission
    {
        public Submission(WorkUnit[] units)
        {
            Units = units;
            var claims = new Dictionary<string, LockMode>(StringComparer.Ordinal);
            foreach (var unit in units)
            {
                Size += unit.Commands.Count;
                Merge(claims, unit.Claims);
            }

            Claims = claims;
        }

        public WorkUnit[] Units { get; }

        public int Size { get; }

        public IReadOnlyDictionary<string, LockMode> Claims { get; }

        public bool Taken { get; set; }
    }
}
