namespace ComputeBank.EventStore.Tests.Conformance;

public abstract partial class EventStoreConformance
{
    [Fact]
    public async Task GivenNewStream_WhenStartingAndAppending_ThenReadStreamReturnsEventsWithVersionsMetadataAndChain()
    {
        var id = NewStreamId("account");
        await using (var session = Store.OpenSession(new EventMetadata { CorrelationId = "corr-1", CausationId = "cmd-1", User = "alice", Headers = new Dictionary<string, string> { ["k"] = "v" } }))
        {
            session.StartStream(id, "Account", [new Deposited(10), new Deposited(5)]);
            var started = await session.SaveChangesAsync(Ct);
            Assert.Equal(2, started.StreamVersions[id]);
            Assert.Equal([1L, 2L], started.Events.Select(e => e.Version));
            Assert.True(started.Events[1].Sequence > started.Events[0].Sequence);
        }

        var appended = await AppendAsync(id, ExpectedVersion.Exactly(2), new Withdrawn(3));
        Assert.Equal(3, appended.StreamVersions[id]);

        var events = await Store.ReadStreamAsync(id, 1, Ct);
        Assert.Equal([1L, 2L, 3L], events.Select(e => e.Version));
        Assert.Equal(["V1.Deposited", "V1.Deposited", "V1.Withdrawn"], events.Select(e => e.TypeName));
        Assert.Equal(new Withdrawn(3), events[2].Data);
        Assert.Equal("corr-1", events[0].Metadata.CorrelationId);
        Assert.Equal("alice", events[0].Metadata.User);
        Assert.Equal("v", events[0].Metadata.Headers!["k"]);
        Assert.Null(events[0].PreviousHash);
        Assert.Equal(events[0].Hash, events[1].PreviousHash);
        Assert.Equal(events[1].Hash, events[2].PreviousHash);
        Assert.Equal(64, events[2].Hash.Length);
        Assert.Equal("Account", await Database.ScalarAsync<string>($"SELECT type FROM {Schema}.mt_streams WHERE id = '{id}'", Ct));

        var fromTwo = await Store.ReadStreamAsync(id, 2, Ct);
        Assert.Equal([2L, 3L], fromTwo.Select(e => e.Version));
    }

    [Fact]
    public async Task GivenExistingStream_WhenStartingItAgain_ThenConcurrencyExceptionNamesStreamAndVersions()
    {
        var id = NewStreamId("dup");
        await AppendAsync(id, ExpectedVersion.NoStream, new Deposited(1), new Deposited(2));

        var error = await Assert.ThrowsAsync<ConcurrencyException>(() => AppendAsync(id, ExpectedVersion.NoStream, new Deposited(3)));

        Assert.Equal(id, error.StreamId);
        Assert.Equal(0, error.ExpectedVersion);
        Assert.Equal(2, error.ActualVersion);
        Assert.Contains(id, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAnyExpectedVersion_WhenAppending_ThenStreamIsCreatedOrExtended()
    {
        var id = NewStreamId("any");
        await AppendAsync(id, ExpectedVersion.Any, new Deposited(1));
        var result = await AppendAsync(id, ExpectedVersion.Any, new Deposited(2), new Deposited(3));

        Assert.Equal(3, result.StreamVersions[id]);
        Assert.Equal([2L, 3L], result.Events.Select(e => e.Version));
        Assert.Equal(6, (await Store.AggregateStreamAsync<Balance>(id, TestTypes.Evolve, Ct))!.Total);
    }

    // The store has three append statements: one event to one stream (append_one), several events to one stream
    // (append_stream), several streams (append_events). Each keeps the same rules, checked here form by form.
    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 3)]
    [InlineData(2, 1)]
    [InlineData(2, 2)]
    public async Task GivenEachAppendForm_WhenExpectedVersionsHitOrMiss_ThenTheRulesAreTheSame(int streams, int eventsPerStream)
    {
        var ids = Enumerable.Range(0, streams).Select(_ => NewStreamId("form")).ToArray();
        Task<AppendResult> Append(ExpectedVersion expected) => AppendAllAsync(ids, expected, eventsPerStream);
        var sequence = await ScalarAsync("SELECT last_value FROM {schema}.mt_events_sequence");

        var missing = await Assert.ThrowsAsync<ConcurrencyException>(() => Append(ExpectedVersion.Exactly(3)));
        Assert.Contains(missing.StreamId, ids);
        Assert.Equal((3L, 0L), (missing.ExpectedVersion, missing.ActualVersion));
        Assert.Equal(sequence, await ScalarAsync("SELECT last_value FROM {schema}.mt_events_sequence"));

        var started = await Append(ExpectedVersion.NoStream);
        Assert.All(ids, id => Assert.Equal(eventsPerStream, started.StreamVersions[id]));
        Assert.Equal(streams * eventsPerStream, started.Events.Count);
        Assert.Equal(started.Events.Select(e => e.Sequence).Order(), started.Events.Select(e => e.Sequence));
        Assert.Equal("Account", await Database.ScalarAsync<string>($"SELECT type FROM {Schema}.mt_streams WHERE id = '{ids[0]}'", Ct));
        sequence = await ScalarAsync("SELECT last_value FROM {schema}.mt_events_sequence");

        var again = await Assert.ThrowsAsync<ConcurrencyException>(() => Append(ExpectedVersion.NoStream));
        Assert.Equal((0L, (long)eventsPerStream), (again.ExpectedVersion, again.ActualVersion));
        var stale = await Assert.ThrowsAsync<ConcurrencyException>(() => Append(ExpectedVersion.Exactly(eventsPerStream + 1)));
        Assert.Equal(eventsPerStream, stale.ActualVersion);
        Assert.Equal(sequence, await ScalarAsync("SELECT last_value FROM {schema}.mt_events_sequence"));

        var exact = await Append(ExpectedVersion.Exactly(eventsPerStream));
        var any = await Append(ExpectedVersion.Any);
        Assert.All(ids, id => Assert.Equal(3 * eventsPerStream, any.StreamVersions[id]));
        Assert.Equal(Enumerable.Range(2 * eventsPerStream + 1, eventsPerStream).Select(v => (long)v), any.Events.Where(e => e.StreamId == ids[0]).Select(e => e.Version));
        Assert.True(any.Events[0].Sequence > exact.Events[^1].Sequence);
        foreach (var id in ids)
        {
            var events = await Store.ReadStreamAsync(id, 1, Ct);
            Assert.Equal(Enumerable.Range(1, 3 * eventsPerStream).Select(v => (long)v), events.Select(e => e.Version));
            Assert.Empty(await Store.VerifyHashChainsAsync(Ct, id));
        }
    }

    private async Task<AppendResult> AppendAllAsync(string[] ids, ExpectedVersion expected, int eventsPerStream)
    {
        await using var session = Store.OpenSession();
        foreach (var id in ids)
        {
            session.Append(id, expected, [.. Enumerable.Range(1, eventsPerStream).Select(i => (object)new Deposited(i))], "Account");
        }

        return await session.SaveChangesAsync(Ct);
    }

    [Fact]
    public async Task GivenSecondStreamConflicts_WhenAppendingToTwoStreams_ThenNothingIsWrittenAndNoSequenceIsTaken()
    {
        var fresh = NewStreamId("multi-a");
        var existing = NewStreamId("multi-b");
        await AppendAsync(existing, ExpectedVersion.NoStream, new Deposited(1));
        var sequenceBefore = await ScalarAsync("SELECT last_value FROM {schema}.mt_events_sequence");

        await using var session = Store.OpenSession();
        session.StartStream(fresh, "Account", [new Deposited(5)]);
        session.Append(existing, ExpectedVersion.Exactly(7), [new Withdrawn(1)]);
        var error = await Assert.ThrowsAsync<ConcurrencyException>(() => session.SaveChangesAsync(Ct));

        Assert.Equal(existing, error.StreamId);
        Assert.Equal(7, error.ExpectedVersion);
        Assert.Equal(1, error.ActualVersion);
        Assert.Empty(await Store.ReadStreamAsync(fresh, 1, Ct));
        Assert.Equal(0, await ScalarAsync($"SELECT count(*) FROM {{schema}}.mt_streams WHERE id = '{fresh}'"));
        Assert.Single(await Store.ReadStreamAsync(existing, 1, Ct));
        Assert.Equal(sequenceBefore, await ScalarAsync("SELECT last_value FROM {schema}.mt_events_sequence"));
    }

    [Fact]
    public async Task GivenTwoStreams_WhenAppendingInOneSession_ThenBothCommitTogether()
    {
        var a = NewStreamId("pair-a");
        var b = NewStreamId("pair-b");
        await using var session = Store.OpenSession();
        session.StartStream(b, "Account", [new Deposited(1), new Deposited(2)]);
        session.StartStream(a, "Account", [new Deposited(3)]);
        var result = await session.SaveChangesAsync(Ct);

        Assert.Equal(2, result.StreamVersions[b]);
        Assert.Equal(1, result.StreamVersions[a]);
        Assert.Equal([b, b, a], result.Events.Select(e => e.StreamId));
        Assert.Equal(3, result.Events.Select(e => e.Sequence).Distinct().Count());
    }

    [Fact]
    public async Task GivenSnapshot_WhenFetchingForWriting_ThenSnapshotAndOnlyLaterEventsComeBack()
    {
        var id = NewStreamId("snap");
        var missing = NewStreamId("missing");
        await AppendAsync(id, ExpectedVersion.NoStream, new Deposited(10), new Deposited(20));
        await using (var session = Store.OpenSession())
        {
            session.Append(id, ExpectedVersion.Exactly(2), [new Withdrawn(5)]);
            session.StoreSnapshot(id, 3, new Balance(25));
            await session.SaveChangesAsync(Ct);
        }

        await AppendAsync(id, ExpectedVersion.Exactly(3), new Deposited(1));

        await using var reader = Store.OpenSession();
        var fetched = await reader.FetchForWritingAsync([id, missing], LockMode.None, Ct);

        var stream = fetched[id];
        Assert.Equal(4, stream.Version);
        Assert.Null(stream.AggregateType);
        Assert.Equal(new Balance(25), stream.Snapshot);
        Assert.Equal(3, stream.SnapshotVersion);
        Assert.Equal([4L], stream.EventsAfterSnapshot.Select(e => e.Version));
        var none = fetched[missing];
        Assert.Equal(0, none.Version);
        Assert.Null(none.Snapshot);
        Assert.Empty(none.EventsAfterSnapshot);
    }

    [Fact]
    public async Task GivenKnownVersions_WhenFetchingForWriting_ThenNoSnapshotAndOnlyTheEventsAfterEach()
    {
        var (behind, current, ahead, unknown) = (NewStreamId("behind"), NewStreamId("current"), NewStreamId("ahead"), NewStreamId("unknown"));
        foreach (var id in new[] { behind, current, ahead, unknown })
        {
            await using var session = Store.OpenSession();
            session.Append(id, ExpectedVersion.NoStream, [new Deposited(1), new Deposited(2), new Deposited(3)]);
            session.StoreSnapshot(id, 2, new Balance(3));
            await session.SaveChangesAsync(Ct);
        }

        await using var reader = Store.OpenSession();
        var fetched = await reader.FetchForWritingAsync(
            [behind, current, ahead, unknown], LockMode.None, new Dictionary<string, long> { [behind] = 1, [current] = 3, [ahead] = 7 }, Ct);

        Assert.True(fetched[behind].FromKnownVersion);
        Assert.Null(fetched[behind].Snapshot);
        Assert.Equal(1, fetched[behind].SnapshotVersion);
        Assert.Equal([2L, 3L], fetched[behind].EventsAfterSnapshot.Select(e => e.Version));
        Assert.True(fetched[current].FromKnownVersion);
        Assert.Empty(fetched[current].EventsAfterSnapshot);
        Assert.Equal(3, fetched[current].Version);
        // A known version the stream never reached (a cache from another database) is ignored: a full read.
        foreach (var full in new[] { fetched[ahead], fetched[unknown] })
        {
            Assert.False(full.FromKnownVersion);
            Assert.Equal(new Balance(3), full.Snapshot);
            Assert.Equal(2, full.SnapshotVersion);
            Assert.Equal([3L], full.EventsAfterSnapshot.Select(e => e.Version));
        }
    }

    [Fact]
    public async Task GivenInlineProjection_WhenAppending_ThenItsRowsCommitWithTheEventsAndRollBackWithThem()
    {
        await ExecuteAsync("CREATE TABLE IF NOT EXISTS public.inline_totals (stream_id text PRIMARY KEY, total int NOT NULL)");
        var projection = new TotalsInlineProjection();
        var store = CreateStore(inline: projection);
        var id = NewStreamId("inline");

        await using (var session = store.OpenSession())
        {
            session.StartStream(id, "Account", [new Deposited(7), new Deposited(8)]);
            await session.SaveChangesAsync(Ct);
        }

        Assert.Equal(15, await ScalarAsync($"SELECT total FROM public.inline_totals WHERE stream_id = '{id}'"));
        Assert.Equal([1L, 2L], projection.SeenVersions);

        await using (var session = store.OpenSession())
        {
            session.Append(id, ExpectedVersion.Exactly(1), [new Deposited(100)]);
            await Assert.ThrowsAsync<ConcurrencyException>(() => session.SaveChangesAsync(Ct));
        }

        Assert.Equal(15, await ScalarAsync($"SELECT total FROM public.inline_totals WHERE stream_id = '{id}'"));
    }

    [Fact]
    public async Task GivenEnqueuedCommandFails_WhenSaving_ThenEventsAreRolledBack()
    {
        var id = NewStreamId("enqueue");
        await using var session = Store.OpenSession();
        session.StartStream(id, "Account", [new Deposited(1)]);
        session.Enqueue(new Npgsql.NpgsqlBatchCommand("SELECT 1 / 0"));

        await Assert.ThrowsAsync<Npgsql.PostgresException>(() => session.SaveChangesAsync(Ct));

        Assert.Empty(await Store.ReadStreamAsync(id, 1, Ct));
    }

    [Fact]
    public async Task GivenAfterCommitActions_ThenTheyRunOnceTheRowsAreCommitted_AndNotWhenTheCommitFails()
    {
        var (committed, refused, failed) = (NewStreamId("after-ok"), NewStreamId("after-conflict"), NewStreamId("after-error"));
        var seen = new List<string>();
        await using (var session = Store.OpenSession())
        {
            session.StartStream(committed, "Account", [new Deposited(1)]);
            // What the action sees is committed: another connection reads the stream.
            session.AfterCommit(async () => seen.Add($"{committed}:{(await Store.ReadStreamAsync(committed, 1, Ct)).Count}"));
            await session.SaveChangesAsync(Ct);
        }

        await using (var session = Store.OpenSession())
        {
            session.StartStream(committed, "Account", [new Deposited(2)]);
            session.AfterCommit(() => { seen.Add(refused); return Task.CompletedTask; });
            await Assert.ThrowsAsync<ConcurrencyException>(() => session.SaveChangesAsync(Ct));
        }

        await using (var session = Store.OpenSession())
        {
            session.StartStream(failed, "Account", [new Deposited(3)]);
            session.AfterCommit(() => { seen.Add(failed); return Task.CompletedTask; });
            await session.FlushAsync(Ct);
            session.Enqueue(new Npgsql.NpgsqlBatchCommand("SELECT 1 / 0"));
            await Assert.ThrowsAsync<Npgsql.PostgresException>(() => session.CommitAsync(Ct));
        }

        Assert.Equal([$"{committed}:1"], seen);
    }

    [Fact]
    public async Task GivenUnregisteredEventType_WhenAppending_ThenClearErrorNamesTheType()
    {
        await using var session = Store.OpenSession();
        var error = Assert.Throws<InvalidOperationException>(() => session.Append(NewStreamId("x"), ExpectedVersion.Any, [new Uri("http://x")]));
        Assert.Contains("System.Uri", error.Message, StringComparison.Ordinal);
        Assert.Contains("not registered", error.Message, StringComparison.Ordinal);
    }

    private sealed class TotalsInlineProjection : IInlineProjection
    {
        public List<long> SeenVersions { get; } = [];

        public void Apply(IEventSession session, IReadOnlyList<PendingEvent> events)
        {
            foreach (var group in events.GroupBy(e => e.StreamId))
            {
                SeenVersions.AddRange(group.Select(e => e.Version ?? -1));
                var command = new Npgsql.NpgsqlBatchCommand(
                    "INSERT INTO public.inline_totals (stream_id, total) VALUES ($1, $2) ON CONFLICT (stream_id) DO UPDATE SET total = inline_totals.total + excluded.total");
                command.Parameters.Add(new Npgsql.NpgsqlParameter<string> { TypedValue = group.Key });
                command.Parameters.Add(new Npgsql.NpgsqlParameter<int> { TypedValue = group.Sum(e => e.Data is Deposited d ? d.Amount : 0) });
                session.Enqueue(command);
            }
        }
    }
}
