using ComputeBank.EventStore;
using ComputeBank.Testing;

namespace ComputeBank.Messaging.Tests;

/// <summary>Which queued submissions a committer may take while others are in flight (no database involved).</summary>
public sealed class CommitSchedulerTests
{
    private static WorkUnit[] Submission(params (string Stream, LockMode Mode)[] claims) =>
        [new WorkUnit([Counters.Envelope(new Add(Guid.NewGuid().ToString("N"), "c", 1))], atomic: false, alone: false,
            claims.ToDictionary(c => c.Stream, c => c.Mode, StringComparer.Ordinal))];

    private static IReadOnlyList<WorkUnit> UnitsOf(params WorkUnit[][] submissions) => [.. submissions.SelectMany(s => s)];

    [Fact]
    public void ASecondCommitter_TakesWhatTheFirstDoesNotTouch_AndLeavesTheRestInArrivalOrder()
    {
        var scheduler = new CommitScheduler();
        var onA = Submission(("a", LockMode.Exclusive));
        var onAAndB = Submission(("a", LockMode.Exclusive), ("b", LockMode.Exclusive));
        var onB = Submission(("b", LockMode.Exclusive));
        var onC = Submission(("c", LockMode.Exclusive));
        scheduler.Add(onA);

        var first = scheduler.TryTake(maxSize: 1)!;
        scheduler.Add(onAAndB);
        scheduler.Add(onB);
        scheduler.Add(onC);

        // onAAndB waits for "a"; onB must not overtake it on "b"; onC is free.
        var second = scheduler.TryTake(maxSize: 10)!;
        Assert.Equal(UnitsOf(onC), second.Units);
        Assert.Null(scheduler.TryTake(maxSize: 10));

        scheduler.Release(first);
        var third = scheduler.TryTake(maxSize: 10)!;
        Assert.Equal(UnitsOf(onAAndB, onB), third.Units);
        Assert.False(scheduler.HasPending);
    }

    [Fact]
    public void SharedClaims_DoNotExcludeEachOther_ButAnExclusiveOneExcludesBoth()
    {
        var scheduler = new CommitScheduler();
        scheduler.Add(Submission(("period", LockMode.Shared), ("x", LockMode.Exclusive)));
        var reader = scheduler.TryTake(maxSize: 1)!;

        scheduler.Add(Submission(("period", LockMode.Shared), ("y", LockMode.Exclusive)));
        var otherReader = scheduler.TryTake(maxSize: 1);
        Assert.NotNull(otherReader);

        var closing = Submission(("period", LockMode.Exclusive));
        scheduler.Add(closing);
        Assert.Null(scheduler.TryTake(maxSize: 1));

        scheduler.Release(reader);
        Assert.Null(scheduler.TryTake(maxSize: 1));
        scheduler.Release(otherReader!);
        Assert.Equal(UnitsOf(closing), scheduler.TryTake(maxSize: 1)!.Units);

        // While the exclusive claim is out, a shared one waits.
        scheduler.Add(Submission(("period", LockMode.Shared)));
        Assert.Null(scheduler.TryTake(maxSize: 1));
    }

    [Fact]
    public void ATake_StopsAtTheSizeLimit_ButTheFirstSubmissionIsTakenWhateverItsSize()
    {
        var scheduler = new CommitScheduler();
        WorkUnit[] big = [.. Enumerable.Range(0, 5).SelectMany(i => Submission(($"s{i}", LockMode.Exclusive)))];
        var next = Submission(("t", LockMode.Exclusive));
        scheduler.Add(big);
        scheduler.Add(next);

        Assert.Equal(big, scheduler.TryTake(maxSize: 3)!.Units);
        Assert.Equal(1, scheduler.PendingCommands);
        Assert.Equal(UnitsOf(next), scheduler.TryTake(maxSize: 3)!.Units);
    }
}

/// <summary>The stream locks a group commit takes when commands of one group lock the same stream differently.</summary>
public sealed class StreamLockUpgradeTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private MartenEventStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = MartenEventStore.Create(new EventStoreOptions { ConnectionString = database.ConnectionString }, Counters.Types());
        await _store.MigrateAsync(CancellationToken.None, new MigrationModule("messaging", typeof(CommandBus).Assembly));
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AReaderThenAWriterOfOneStream_HoldTheExclusiveLock(bool inOneLoadRound)
    {
        var handlers = Counters.Handlers().Register(new PeekHandler());
        var counter = "c-" + Guid.NewGuid().ToString("N");
        var peek = new CommandEnvelope("peek-" + counter, "peek", counter, new Peek(counter));
        var add = Counters.Envelope(new Add("add-" + counter, counter, 1));
        await using var session = _store.OpenSession();
        var slots = new StreamSlots(session, new CounterFolder(), handlers, new StreamLocks(_store.Schema), new StateCache(0));

        if (inOneLoadRound)
        {
            await slots.EnsureLoadedAsync([peek, add], CancellationToken.None);
        }
        else
        {
            await slots.EnsureLoadedAsync([peek], CancellationToken.None);
            await slots.EnsureLoadedAsync([add], CancellationToken.None);
        }

        await using var locks = new Npgsql.NpgsqlCommand(
            "SELECT array_agg(mode ORDER BY mode) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()",
            session.Connection, session.Transaction);
        var modes = (string[])(await locks.ExecuteScalarAsync())!;
        Assert.Contains("ExclusiveLock", modes);
    }

    private sealed record Peek(string Counter);

    private sealed class PeekHandler : ICommandHandler<Peek>
    {
        public IReadOnlyCollection<string> StreamsToLoad(Peek command, IReadOnlyDictionary<string, object?> loaded) => [command.Counter];

        public HandlerDecision Decide(Peek command, IReadOnlyDictionary<string, object?> states) =>
            throw new InvalidOperationException("only loaded in this test");

        public LockMode LockFor(Peek command, string streamId) => LockMode.Shared;
    }
}
