using ComputeBank.EventStore;
using ComputeBank.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace ComputeBank.Messaging.Tests;

/// <summary>The bus against a real PostgreSQL: group commit semantics, retries between nodes, idempotency, isolation.</summary>
public sealed class CommandBusTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private MartenEventStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = MartenEventStore.Create(new EventStoreOptions { ConnectionString = database.ConnectionString + ";Maximum Pool Size=30" }, Counters.Types());
        await _store.MigrateAsync(CancellationToken.None, new MigrationModule("messaging", typeof(CommandBus).Assembly));
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    private CommandBus Bus(int maxBatch = 1000, int committers = 2) =>
        new(_store, Counters.Handlers(), new CounterFolder(), [], new CommandBusOptions { MaxBatchSize = maxBatch, Committers = committers },
            NullLogger<CommandBus>.Instance);

    private static string Id() => Guid.NewGuid().ToString("N");

    private async Task<long> ValueAsync(string counter)
    {
        var events = await _store.ReadStreamAsync(counter, 0, CancellationToken.None);
        return events.Sum(e => ((Added)e.Data).Amount);
    }

    [Fact]
    public async Task CommandsOfOneBatch_SeeEarlierOnesEffects_InArrivalOrder()
    {
        await using var bus = Bus();
        var (a, b) = ("a-" + Id(), "b-" + Id());

        var replies = await bus.SendManyAsync(
        [
            Counters.Envelope(new Add(Id(), a, 5)),
            Counters.Envelope(new Move(Id(), a, b, 3)),
            Counters.Envelope(new Move(Id(), a, b, 3)),
            Counters.Envelope(new Move(Id(), b, a, 1)),
        ], atomic: false, CancellationToken.None);

        Assert.Equal([201, 201, 422, 201], replies.Select(r => r.Status));
        Assert.Equal(3, await ValueAsync(a));
        Assert.Equal(2, await ValueAsync(b));
        Assert.Equal(2L, (long)replies[1].Body["from"]!);
        Assert.Equal(3L, (long)replies[3].Body["to"]!);
    }

    [Fact]
    public async Task ABatchLargerThanAGroupCommit_WithManyCommitters_IsStillAppliedInOrder()
    {
        // Every move needs the add just before it: any item decided before an earlier one is refused. Three commands
        // per group commit and four committers: the batch spans ten group commits that committers would race for.
        await using var bus = Bus(maxBatch: 3, committers: 4);
        for (var round = 0; round < 20; round++)
        {
            var (a, b) = ("a-" + Id(), "b-" + Id());
            var commands = Enumerable.Range(0, 15)
                .SelectMany(_ => new[] { Counters.Envelope(new Add(Id(), a, 1)), Counters.Envelope(new Move(Id(), a, b, 1)) })
                .ToList();

            var replies = await bus.SendManyAsync(commands, atomic: false, CancellationToken.None);

            Assert.All(replies, r => Assert.Equal(201, r.Status));
            Assert.Equal(0, await ValueAsync(a));
            Assert.Equal(15, await ValueAsync(b));
        }
    }

    [Fact]
    public async Task CommandsOnOneStream_FromConcurrentCallers_CommitInTheOrderTheyWereQueued_AcrossCommitters()
    {
        // Four committers, two commands per group commit, three counters: commands on other counters may pass each
        // other, but one counter's commands are taken in queue order, so its events carry the amounts 1, 2, 3, ...
        await using var bus = Bus(maxBatch: 2, committers: 4);
        var counters = Enumerable.Range(0, 3).Select(i => $"o{i}-" + Id()).ToArray();
        var sends = new List<Task<CommandReply>>();
        for (var i = 0; i < 300; i++)
        {
            sends.Add(bus.SendAsync(Counters.Envelope(new Add(Id(), counters[i % 3], (i / 3) + 1)), CancellationToken.None));
        }

        Assert.All(await Task.WhenAll(sends), r => Assert.Equal(201, r.Status));
        foreach (var counter in counters)
        {
            var amounts = (await _store.ReadStreamAsync(counter, 0, CancellationToken.None)).Select(e => ((Added)e.Data).Amount);
            Assert.Equal(Enumerable.Range(1, 100).Select(a => (long)a), amounts);
        }
    }

    [Fact]
    public void GroupCommits_CutUnitsInOrder_AtTheSizeLimit_AndAroundUnitsThatRunAlone()
    {
        WorkUnitStub[] units = [new(2), new(1), new(1, alone: true), new(3), new(4), new(1)];

        var groups = CommandBus.GroupCommits([.. units.Select(u => u.Unit)], maxSize: 4)
            .Select(g => g.Select(u => Array.FindIndex(units, x => x.Unit == u)).ToArray())
            .ToList();

        Assert.Equal([[0, 1], [2], [3], [4], [5]], groups);
    }

    private sealed class WorkUnitStub(int commands, bool alone = false)
    {
        public WorkUnit Unit { get; } = new(
            [.. Enumerable.Range(0, commands).Select(_ => Counters.Envelope(new Add(Id(), "c", 1)))], atomic: false, alone: alone);
    }

    [Fact]
    public async Task AtomicUnit_WithARefusal_LeavesNoTrace_ButItsNeighboursInTheBatchCommit()
    {
        await using var bus = Bus();
        var (a, b) = ("a-" + Id(), "b-" + Id());
        await bus.SendAsync(Counters.Envelope(new Add(Id(), a, 2)), CancellationToken.None);

        var atomic = bus.SendManyAsync([Counters.Envelope(new Move(Id(), a, b, 2)), Counters.Envelope(new Move(Id(), a, b, 1))], atomic: true, CancellationToken.None);
        var single = bus.SendAsync(Counters.Envelope(new Add(Id(), b, 7)), CancellationToken.None);
        var atomicReplies = await atomic;

        Assert.Equal("batch_aborted", (string?)atomicReplies[0].Body["code"]);
        Assert.Equal("insufficient", (string?)atomicReplies[1].Body["code"]);
        Assert.Equal(201, (await single).Status);
        Assert.Equal(2, await ValueAsync(a));
        Assert.Equal(7, await ValueAsync(b));
    }

    [Fact]
    public async Task SameOperationTwiceInOneBatch_TakesEffectOnce_SecondIsAReplay()
    {
        await using var bus = Bus();
        var (a, id) = ("a-" + Id(), Id());

        var replies = await bus.SendManyAsync([Counters.Envelope(new Add(id, a, 4)), Counters.Envelope(new Add(id, a, 4)), Counters.Envelope(new Add(id, a, 5))],
            atomic: false, CancellationToken.None);

        Assert.Equal(201, replies[0].Status);
        Assert.True(replies[1].Replayed);
        Assert.Equal(replies[0].Body.ToJsonString(), replies[1].Body.ToJsonString());
        Assert.Equal("operation_id_conflict", (string?)replies[2].Body["code"]);
        Assert.Equal(4, await ValueAsync(a));
    }

    [Fact]
    public async Task TwoNodes_MovingBetweenTheSameCounters_NeverLoseOrCreate_AndEveryCommandIsAnswered()
    {
        await using var node1 = Bus(maxBatch: 50);
        await using var node2 = Bus(maxBatch: 50);
        var counters = Enumerable.Range(0, 5).Select(i => $"c{i}-{Id()}").ToArray();
        foreach (var counter in counters)
        {
            await node1.SendAsync(Counters.Envelope(new Add(Id(), counter, 100)), CancellationToken.None);
        }

        var random = new Random(42);
        var moves = Enumerable.Range(0, 400).Select(i =>
        {
            var from = counters[random.Next(counters.Length)];
            var to = counters[(Array.IndexOf(counters, from) + 1 + random.Next(counters.Length - 1)) % counters.Length];
            var bus = i % 2 == 0 ? node1 : node2;
            return bus.SendAsync(Counters.Envelope(new Move(Id(), from, to, random.Next(1, 40))), CancellationToken.None);
        }).ToList();
        var replies = await Task.WhenAll(moves);

        Assert.All(replies, r => Assert.True(r.Status is 201 or 422, r.Body.ToJsonString()));
        var values = await Task.WhenAll(counters.Select(ValueAsync));
        Assert.Equal(500, values.Sum());
        Assert.All(values, v => Assert.True(v >= 0));
        var written = await database.ScalarAsync<long>(
            $"SELECT count(*) FROM cb.events WHERE stream_id IN ({string.Join(", ", counters.Select(c => $"'{c}'"))})");
        Assert.Equal(replies.Count(r => r.Status == 201) * 2 + 5, written);
    }

    [Fact]
    public async Task SameOperationOnTwoNodesAtOnce_TakesEffectOnce()
    {
        await using var node1 = Bus();
        await using var node2 = Bus();
        var a = "a-" + Id();
        var ids = Enumerable.Range(0, 30).Select(_ => Id()).ToList();

        var replies = await Task.WhenAll(ids.SelectMany(id => new[]
        {
            node1.SendAsync(Counters.Envelope(new Add(id, a, 1)), CancellationToken.None),
            node2.SendAsync(Counters.Envelope(new Add(id, a, 1)), CancellationToken.None),
        }));

        Assert.All(replies, r => Assert.Equal(201, r.Status));
        Assert.Equal(30, replies.Count(r => r.Replayed));
        Assert.Equal(30, await ValueAsync(a));
    }

    [Fact]
    public async Task APoisonedCommand_FailsAlone_ItsBatchNeighboursCommit()
    {
        await using var bus = Bus(committers: 1);
        var a = "a-" + Id();

        var replies = await bus.SendManyAsync(
            [Counters.Envelope(new Add(Id(), a, 1)), Counters.Envelope(new Explode(Id(), a)), Counters.Envelope(new Add(Id(), a, 2))],
            atomic: false, CancellationToken.None);

        Assert.Equal([201, 500, 201], replies.Select(r => r.Status));
        Assert.Equal("internal_error", (string?)replies[1].Body["code"]);
        Assert.Equal(3, await ValueAsync(a));
    }

    [Fact]
    public async Task ValidationRefusal_IsNotRemembered_ButABusinessRefusalIs()
    {
        await using var bus = Bus();
        var (a, b, bad, poor) = ("a-" + Id(), "b-" + Id(), Id(), Id());

        var invalid = await bus.SendAsync(Counters.Envelope(new Add(bad, a, 0)), CancellationToken.None);
        var refused = await bus.SendAsync(Counters.Envelope(new Move(poor, a, b, 1)), CancellationToken.None);
        await bus.SendAsync(Counters.Envelope(new Add(Id(), a, 10)), CancellationToken.None);
        var corrected = await bus.SendAsync(Counters.Envelope(new Add(bad, a, 0) with { Amount = 0 }), CancellationToken.None);
        var retried = await bus.SendAsync(Counters.Envelope(new Move(poor, a, b, 1)), CancellationToken.None);

        Assert.Equal(400, invalid.Status);
        Assert.False(corrected.Replayed);
        Assert.Equal(422, retried.Status);
        Assert.True(retried.Replayed);
        Assert.Equal(refused.Body.ToJsonString(), retried.Body.ToJsonString());
    }

    [Fact]
    public async Task SnapshotsKeepUp_SoALongStreamLoadsFromItsSnapshot()
    {
        await using var bus = Bus();
        var a = "a-" + Id();
        for (var i = 0; i < 20; i++)
        {
            await bus.SendAsync(Counters.Envelope(new Add(Id(), a, 1)), CancellationToken.None);
        }

        await using var session = _store.OpenSession();
        var fetched = await session.FetchForWritingAsync([a], LockMode.None, CancellationToken.None);

        Assert.Equal(20, fetched[a].Version);
        Assert.Equal(20, fetched[a].SnapshotVersion);
        Assert.Equal(new CounterState(20), fetched[a].Snapshot);
        Assert.Empty(fetched[a].EventsAfterSnapshot);
    }

    [Fact]
    public async Task StatesCachedBetweenCommits_AreUsedInsteadOfTheSnapshot_AndANodeWithoutThemReadsTheSnapshot()
    {
        await using var cached = Bus();
        var a = "a-" + Id();
        await cached.SendAsync(Counters.Envelope(new Add(Id(), a, 5)), CancellationToken.None);
        // Tamper with the snapshot behind the bus's back: a full read would now believe the counter holds 100.
        await database.ExecuteAsync($"UPDATE cb.snapshots SET data = '{{\"value\":100}}' WHERE stream_id = '{a}'");

        var fromCache = await cached.SendAsync(Counters.Envelope(new Move(Id(), a, "sink-" + Id(), 50)), CancellationToken.None);
        await using var cold = new CommandBus(
            _store, Counters.Handlers(), new CounterFolder(), [], new CommandBusOptions { StateCacheCapacity = 0 }, NullLogger<CommandBus>.Instance);
        var fromSnapshot = await cold.SendAsync(Counters.Envelope(new Move(Id(), a, "sink-" + Id(), 50)), CancellationToken.None);

        Assert.Equal(422, fromCache.Status);
        Assert.Equal(201, fromSnapshot.Status);
    }

    [Fact]
    public async Task AStateCachedOnOneNode_WhenAnotherNodeWritesTheStream_ThenTheFirstFoldsInTheNewEvents()
    {
        await using var one = Bus();
        await using var two = Bus();
        var (a, b) = ("a-" + Id(), "b-" + Id());
        await one.SendAsync(Counters.Envelope(new Add(Id(), a, 5)), CancellationToken.None);
        await one.SendAsync(Counters.Envelope(new Move(Id(), a, b, 1)), CancellationToken.None);

        for (var i = 0; i < 3; i++)
        {
            await two.SendAsync(Counters.Envelope(new Add(Id(), a, 10)), CancellationToken.None);
        }

        var moved = await one.SendAsync(Counters.Envelope(new Move(Id(), a, b, 34)), CancellationToken.None);
        var tooMuch = await one.SendAsync(Counters.Envelope(new Move(Id(), a, b, 1)), CancellationToken.None);

        Assert.Equal(201, moved.Status);
        Assert.Equal(6L, (long)moved.Body["from"]!);
        Assert.Equal(422, tooMuch.Status);
        Assert.Equal(0, await ValueAsync(a));
        Assert.Equal(35, await ValueAsync(b));
    }
}
