namespace ComputeBank.EventStore.Tests.Conformance;

public abstract partial class EventStoreConformance
{
    private const int Writers = 16;

    [Fact]
    public async Task GivenSixteenWritersWithSameExpectedVersion_WhenAppendingRoundAfterRound_ThenExactlyOneWinsAndLosersBurnNoSequence()
    {
        var id = NewStreamId("race");
        const int rounds = 25;
        for (var round = 0; round < rounds; round++)
        {
            var expected = round;
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var attempts = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
            {
                await start.Task;
                await using var session = Store.OpenSession();
                session.Append(id, ExpectedVersion.Exactly(expected), [new Deposited(w)]);
                try
                {
                    await session.SaveChangesAsync(Ct);
                    return (Exception?)null;
                }
                catch (ConcurrencyException e)
                {
                    return e;
                }
            })).ToArray();
            start.SetResult();
            var outcomes = await Task.WhenAll(attempts);

            Assert.Single(outcomes, o => o is null);
            foreach (var conflict in outcomes.OfType<ConcurrencyException>())
            {
                Assert.Equal(id, conflict.StreamId);
                Assert.Equal(expected, conflict.ExpectedVersion);
                Assert.Equal(expected + 1, conflict.ActualVersion);
            }
        }

        var events = await Store.ReadStreamAsync(id, 1, Ct);
        Assert.Equal(Enumerable.Range(1, rounds).Select(v => (long)v), events.Select(e => e.Version));
        var sequences = events.Select(e => e.Sequence).ToArray();
        Assert.Equal(sequences[0] + rounds - 1, sequences[^1]);
        Assert.Equal(sequences[^1], await ScalarAsync("SELECT last_value FROM {schema}.mt_events_sequence"));
    }

    // One event per writer goes through the one-event append, two through the one-stream append: both create the
    // stream on a race and chain every append after it.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task GivenSixteenWritersAppendingAnyVersion_WhenTheStreamDoesNotExistYet_ThenAllSucceedInOneUnbrokenChain(int eventsPerWriter)
    {
        var id = NewStreamId("any");
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            await start.Task;
            await using var session = Store.OpenSession();
            session.Append(id, ExpectedVersion.Any, [.. Enumerable.Range(0, eventsPerWriter).Select(i => (object)new Deposited(w + (100 * i)))], "Account");
            return (await session.SaveChangesAsync(Ct)).StreamVersions[id];
        })).ToArray();
        start.SetResult();
        var versions = await Task.WhenAll(writers);

        Assert.Equal(Enumerable.Range(1, Writers).Select(v => (long)v * eventsPerWriter), versions.Order());
        var events = await Store.ReadStreamAsync(id, 1, Ct);
        Assert.Equal(Enumerable.Range(1, Writers * eventsPerWriter).Select(v => (long)v), events.Select(e => e.Version));
        Assert.Empty(await Store.VerifyHashChainsAsync(Ct, id));
    }

    [Fact]
    public async Task GivenExclusiveLock_WhenSixteenWritersFetchAndAppend_ThenTheyQueueUpWithoutConflicts()
    {
        var id = NewStreamId("exclusive");
        await AppendAsync(id, ExpectedVersion.NoStream, new Deposited(0));
        var writes = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 5; i++)
            {
                await using var session = Store.OpenSession();
                var fetched = await session.FetchForWritingAsync([id], LockMode.Exclusive, Ct);
                var stream = fetched[id];
                Assert.Equal(stream.Version, stream.EventsAfterSnapshot.Count);
                session.Append(id, ExpectedVersion.Exactly(stream.Version), [new Deposited(1)]);
                await session.SaveChangesAsync(Ct);
            }
        }));

        await Task.WhenAll(writes);

        var events = await Store.ReadStreamAsync(id, 1, Ct);
        Assert.Equal(Enumerable.Range(1, 1 + (Writers * 5)).Select(v => (long)v), events.Select(e => e.Version));
    }

    [Fact]
    public async Task GivenStreamLockedByAnotherSession_WhenFetchingExclusiveWithLockTimeout_ThenStreamLockTimeoutNotConcurrencyError()
    {
        var id = NewStreamId("locked");
        await AppendAsync(id, ExpectedVersion.NoStream, new Deposited(1));
        var store = CreateStore(lockTimeout: TimeSpan.FromMilliseconds(200));

        await using var holder = store.OpenSession();
        await holder.FetchForWritingAsync([id], LockMode.Exclusive, Ct);

        await using var waiter = store.OpenSession();
        var error = await Assert.ThrowsAsync<StreamLockTimeoutException>(() => waiter.FetchForWritingAsync([id], LockMode.Exclusive, Ct));
        Assert.Contains(id, error.StreamIds);

        await using var reader = store.OpenSession();
        var shared = await reader.FetchForWritingAsync([id], LockMode.None, Ct);
        Assert.Equal(1, shared[id].Version);
    }

    [Fact]
    public async Task GivenSharedLock_WhenAnotherWriterAppends_ThenItWaitsUntilTheSharedLockIsReleased()
    {
        var id = NewStreamId("shared");
        await AppendAsync(id, ExpectedVersion.NoStream, new Deposited(1));
        var reader = Store.OpenSession();
        await reader.FetchForWritingAsync([id], LockMode.Shared, Ct);

        var write = AppendAsync(id, ExpectedVersion.Exactly(1), new Deposited(2));
        await Task.Delay(300, Ct);
        Assert.False(write.IsCompleted);

        await reader.DisposeAsync();
        Assert.Equal(2, (await write).StreamVersions[id]);
    }
}
