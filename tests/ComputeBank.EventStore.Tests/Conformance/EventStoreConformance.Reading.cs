namespace ComputeBank.EventStore.Tests.Conformance;

public abstract partial class EventStoreConformance
{
    [Fact]
    public async Task GivenHistory_WhenAggregatingAtAVersionOrTimestamp_ThenStateIsAsItWasThen()
    {
        var id = NewStreamId("travel");
        await AppendAsync(id, ExpectedVersion.NoStream, new Deposited(100));
        var second = await AppendAsync(id, ExpectedVersion.Exactly(1), new Withdrawn(30));
        await Task.Delay(20, Ct);
        await AppendAsync(id, ExpectedVersion.Exactly(2), new Deposited(5));

        Assert.Equal(75, (await Store.AggregateStreamAsync<Balance>(id, TestTypes.Evolve, Ct))!.Total);
        Assert.Equal(100, (await Store.AggregateStreamAsync<Balance>(id, TestTypes.Evolve, Ct, version: 1))!.Total);
        Assert.Equal(70, (await Store.AggregateStreamAsync<Balance>(id, TestTypes.Evolve, Ct, version: 2))!.Total);
        Assert.Equal(70, (await Store.AggregateStreamAsync<Balance>(id, TestTypes.Evolve, Ct, timestamp: second.Events[0].Timestamp))!.Total);
        Assert.Null(await Store.AggregateStreamAsync<Balance>(id, TestTypes.Evolve, Ct, timestamp: second.Events[0].Timestamp.AddYears(-1)));

        var stored = await Store.ReadStreamAsync(id, 1, Ct);
        Assert.Equal(second.Events[0].Timestamp, stored[1].Timestamp);
        Assert.Equal(second.Events[0].Sequence, stored[1].Sequence);
    }

    [Fact]
    public async Task GivenV1EventInTheTable_WhenReading_ThenUpcasterTurnsItIntoV2AndHashStillVerifies()
    {
        var id = NewStreamId("upcast");
        await AppendRawAsync(id, "V1.Renamed", """{"name":"Ada"}""");

        var events = await Store.ReadStreamAsync(id, 1, Ct);

        var e = Assert.Single(events);
        Assert.Equal("V2.Renamed", e.TypeName);
        Assert.Equal(new Renamed("Ada", "upcast from V1"), e.Data);
        Assert.Empty(await Store.VerifyHashChainsAsync(Ct, id));
    }

    [Fact]
    public async Task GivenUnknownStoredType_WhenReading_ThenClearErrorNamesIt()
    {
        var id = NewStreamId("unknown");
        await AppendRawAsync(id, "V9.Mystery", "{}");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Store.ReadStreamAsync(id, 1, Ct));
        Assert.Contains("V9.Mystery", error.Message, StringComparison.Ordinal);
        await ExecuteAsync($"DELETE FROM {{schema}}.event_hashes WHERE stream_id = '{id}'; DELETE FROM {{schema}}.mt_events WHERE stream_id = '{id}'; DELETE FROM {{schema}}.mt_streams WHERE id = '{id}'");
    }

    [Fact]
    public async Task GivenEventsWithAndWithoutMetadata_WhenReadingTheGlobalFeed_ThenEachCarriesTheSameMetadataAsItsStream()
    {
        var start = await ScalarAsync("SELECT coalesce(max(seq_id), 0) FROM {schema}.mt_events");
        var (full, bare) = (NewStreamId("feed-meta"), NewStreamId("feed-bare"));
        await using (var session = Store.OpenSession(new EventMetadata
        {
            CorrelationId = "corr-f", CausationId = "cmd-f", User = "bob", Headers = new Dictionary<string, string> { ["operationId"] = "op-f", ["b"] = "2" },
        }))
        {
            session.StartStream(full, "Account", [new Deposited(1)]);
            await session.SaveChangesAsync(Ct);
        }

        await AppendAsync(bare, ExpectedVersion.NoStream, [new Deposited(2)]);

        var feed = (await Store.ReadAllAsync(start, 100, Ct)).Where(e => e.StreamId == full || e.StreamId == bare).ToDictionary(e => e.StreamId);
        foreach (var id in new[] { full, bare })
        {
            // Both read it through the events view's event_metadata; a reader that builds it another way must agree.
            var fromStream = (await Store.ReadStreamAsync(id, 1, Ct)).Single().Metadata;
            var fromFeed = feed[id].Metadata;
            Assert.Equal((fromStream.CorrelationId, fromStream.CausationId, fromStream.User), (fromFeed.CorrelationId, fromFeed.CausationId, fromFeed.User));
            Assert.Equal(fromStream.Headers?.OrderBy(h => h.Key), fromFeed.Headers?.OrderBy(h => h.Key));
        }

        Assert.Equal("op-f", feed[full].Metadata.Headers!["operationId"]);
        Assert.Equal("bob", feed[full].Metadata.User);
    }

    [Fact]
    public async Task GivenEvents_WhenReadingTheGlobalFeed_ThenPagesFollowTheSequenceAndStreamAllSeesEverything()
    {
        var start = await ScalarAsync("SELECT coalesce(max(seq_id), 0) FROM {schema}.mt_events");
        var id = NewStreamId("feed");
        await AppendAsync(id, ExpectedVersion.NoStream, [.. Enumerable.Range(1, 25).Select(i => new Deposited(i))]);

        var first = await Store.ReadAllAsync(start, 10, Ct);
        var second = await Store.ReadAllAsync(first[^1].Sequence, 10, Ct);
        Assert.Equal(10, first.Count);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => new Deposited(i)), first.Select(e => e.Data));
        Assert.Equal(Enumerable.Range(11, 10).Select(i => new Deposited(i)), second.Select(e => e.Data));

        var all = new List<ProjectedEvent>();
        await foreach (var e in Store.StreamAllAsync(start, Ct))
        {
            all.Add(e);
        }

        Assert.Equal(Enumerable.Range(1, 25).Select(i => (long)i), all.Where(e => e.StreamId == id).Select(e => e.Version));
        Assert.True(all.Select(e => e.Sequence).SequenceEqual(all.Select(e => e.Sequence).Order()));
    }
}
