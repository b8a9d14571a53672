using Npgsql;

namespace ComputeBank.EventStore.Tests.Conformance;

public abstract partial class EventStoreConformance
{
    private static readonly ProjectionDaemonOptions FastDaemon = new()
    {
        PollInterval = TimeSpan.FromMilliseconds(50),
        LeadershipRetry = TimeSpan.FromMilliseconds(100),
    };

    [Fact]
    public async Task GivenRolledBackTransactionLeftAGap_WhenDaemonRuns_ThenItSkipsTheGapAndProjectsTheRest()
    {
        var projection = await RecordingProjectionAsync("gap-skip");
        var before = NewStreamId("before");
        var after = NewStreamId("after");
        var first = await AppendAsync(before, ExpectedVersion.NoStream, new Deposited(1));
        await using (var doomed = Store.OpenSession())
        {
            doomed.StartStream(NewStreamId("doomed"), "Account", [new Deposited(2), new Deposited(3)]);
            doomed.Enqueue(new NpgsqlBatchCommand("SELECT 1 / 0"));
            await Assert.ThrowsAsync<PostgresException>(() => doomed.SaveChangesAsync(Ct));
        }

        var last = await AppendAsync(after, ExpectedVersion.NoStream, new Deposited(4));
        Assert.Equal(first.Events[0].Sequence + 3, last.Events[0].Sequence);

        await using var daemon = Track(new ProjectionDaemon(Store, [projection], FastDaemon));
        daemon.Start();

        await EventuallyAsync(async () => await projection.TimesAsync(last.Events[0].Sequence) == 1, "the event after the gap is projected");
        Assert.Equal(1, await projection.TimesAsync(first.Events[0].Sequence));
        Assert.Equal(0, await projection.TimesAsync(first.Events[0].Sequence + 1));
    }

    [Fact]
    public async Task GivenOpenTransactionHoldsALowerSequence_WhenDaemonRuns_ThenItWaitsAndProjectsTheEventOnceCommitted()
    {
        var projection = await RecordingProjectionAsync("gap-wait");
        await using var daemon = Track(new ProjectionDaemon(Store, [projection], FastDaemon));
        daemon.Start();
        // Caught up first: gaps left by earlier facts are behind us, so only the open transaction can hold it back.
        var marker = await AppendAsync(NewStreamId("marker"), ExpectedVersion.NoStream, new Deposited(6));
        await EventuallyAsync(async () => await projection.TimesAsync(marker.Events[0].Sequence) == 1, "the daemon catches up");

        await using var connection = await Database.OpenAsync(Ct);
        await using var transaction = await connection.BeginTransactionAsync(Ct);
        var slowSequence = await AppendRawAsync(connection, transaction, NewStreamId("slow"));

        var later = await AppendAsync(NewStreamId("fast"), ExpectedVersion.NoStream, new Deposited(8));
        Assert.Equal(slowSequence + 1, later.Events[0].Sequence);
        await Task.Delay(TimeSpan.FromSeconds(1), Ct);

        Assert.Equal(0, await projection.TimesAsync(later.Events[0].Sequence));
        Assert.Equal(marker.Events[0].Sequence, await ScalarAsync($"SELECT last_sequence FROM {{schema}}.projection_progress WHERE name = '{projection.Name}'"));

        await transaction.CommitAsync(Ct);

        await EventuallyAsync(async () => await projection.TimesAsync(later.Events[0].Sequence) == 1, "the later event is projected after the commit");
        Assert.Equal(1, await projection.TimesAsync(slowSequence));
    }

    [Fact]
    public async Task GivenCommittedTransactionAroundAnOpenOne_WhenDaemonRuns_ThenItProjectsNoneOfTheCommitUntilTheGapIsDecided()
    {
        var projection = await RecordingProjectionAsync("whole-commit");
        await using var daemon = Track(new ProjectionDaemon(Store, [projection], FastDaemon));
        daemon.Start();
        var marker = await AppendAsync(NewStreamId("marker"), ExpectedVersion.NoStream, new Deposited(9));
        await EventuallyAsync(async () => await projection.TimesAsync(marker.Events[0].Sequence) == 1, "the daemon catches up");

        // One committed transaction takes the numbers on both sides of one an open transaction holds.
        await using var around = await Database.OpenAsync(Ct);
        await using var aroundTx = await around.BeginTransactionAsync(Ct);
        await using var open = await Database.OpenAsync(Ct);
        await using var openTx = await open.BeginTransactionAsync(Ct);
        var first = await AppendRawAsync(around, aroundTx, NewStreamId("around"));
        var middle = await AppendRawAsync(open, openTx, NewStreamId("open"));
        var second = await AppendRawAsync(around, aroundTx, NewStreamId("around"));
        Assert.Equal([first + 1, first + 2], [middle, second]);
        await aroundTx.CommitAsync(Ct);
        await Task.Delay(TimeSpan.FromSeconds(1), Ct);

        Assert.Equal(0, await projection.TimesAsync(first));
        await openTx.CommitAsync(Ct);

        await EventuallyAsync(async () => await projection.TimesAsync(second) == 1, "the whole commit is projected once the gap is filled");
        Assert.Equal(1, await projection.TimesAsync(first));
        Assert.Equal(1, await projection.TimesAsync(middle));
    }

    [Fact]
    public async Task GivenACommitLargerThanAPage_WhenDaemonRuns_ThenEveryPageEndsWhereACommitEnds()
    {
        var projection = new PageRecordingProjection("pages-" + Guid.NewGuid().ToString("N")[..8]);
        await using var daemon = Track(new ProjectionDaemon(Store, [projection], FastDaemon with { PageRows = 10 }));
        var start = await ScalarAsync("SELECT coalesce(max(seq_id), 0) FROM {schema}.mt_events");
        var commits = new List<AppendResult>();
        foreach (var size in new[] { 5, 35, 3, 24, 10 })
        {
            commits.Add(await AppendAsync(NewStreamId("pages"), ExpectedVersion.NoStream, [.. Enumerable.Range(0, size).Select(i => new Deposited(i))]));
        }

        daemon.Start();
        var ends = commits.Select(c => c.Events[^1].Sequence).ToHashSet();
        var all = commits.SelectMany(c => c.Events.Select(e => e.Sequence)).ToList();
        await EventuallyAsync(() => Task.FromResult(projection.Pages.Sum(p => p.Count(s => s > start)) >= all.Count), "every event is projected");

        var pages = projection.Pages.Where(p => p[^1] > start).ToList();
        Assert.Equal(all, pages.SelectMany(p => p).Where(s => s > start));
        Assert.All(pages, page => Assert.Contains(page[^1], ends));
        var large = commits[1].Events.Select(e => e.Sequence).ToList();
        Assert.Contains(pages, page => page.Contains(large[0]) && page.Contains(large[^1]));
    }

    /// <summary>Keeps the sequences of every page it is given, in order.</summary>
    private sealed class PageRecordingProjection(string name) : IAsyncProjection
    {
        public string Name { get; } = name;

        public System.Collections.Concurrent.ConcurrentQueue<long[]> Pages { get; } = new();

        public Task ApplyAsync(NpgsqlConnection c, NpgsqlTransaction tx, IReadOnlyList<ProjectedEvent> page, CancellationToken ct)
        {
            Pages.Enqueue([.. page.Select(e => e.Sequence)]);
            return Task.CompletedTask;
        }

        public Task ResetAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct) => Task.CompletedTask;
    }

    [Fact]
    public async Task GivenTwoDaemonNodes_WhenEventsArriveAndTheLeaderStops_ThenEveryEventIsProjectedExactlyOnce()
    {
        var name = "exactly-once-" + Guid.NewGuid().ToString("N")[..8];
        var nodeA = new RecordingProjection(name, Schema);
        var nodeB = new RecordingProjection(name, Schema);
        await nodeA.CreateTableAsync(Store, Ct);
        var otherStore = CreateStore();
        var daemonA = Track(new ProjectionDaemon(Store, [nodeA], FastDaemon));
        var daemonB = Track(new ProjectionDaemon(otherStore, [nodeB], FastDaemon));
        daemonA.Start();
        daemonB.Start();

        var streams = Enumerable.Range(0, 4).Select(_ => NewStreamId("once")).ToArray();
        var writers = streams.Select(id => Task.Run(async () =>
        {
            await AppendAsync(id, ExpectedVersion.NoStream, new Deposited(0));
            for (var v = 1; v < 40; v++)
            {
                await AppendAsync(id, ExpectedVersion.Exactly(v), new Deposited(v));
            }
        })).ToArray();

        await EventuallyAsync(() => Task.FromResult(daemonA.IsLeader(name) || daemonB.IsLeader(name)), "one node leads");
        Assert.False(daemonA.IsLeader(name) && daemonB.IsLeader(name));
        await Task.Delay(200, Ct);
        await (daemonA.IsLeader(name) ? daemonA : daemonB).StopAsync(Ct);
        await Task.WhenAll(writers);

        var max = await ScalarAsync("SELECT max(seq_id) FROM {schema}.mt_events");
        await EventuallyAsync(async () => await nodeA.TimesAsync(max) == 1, "the surviving node projects everything");
        Assert.Equal(0, await ScalarAsync($"SELECT count(*) FROM {{schema}}_projected WHERE projection = '{name}' AND times <> 1"));
        Assert.Equal(
            await ScalarAsync("SELECT count(*) FROM {schema}.mt_events"),
            await ScalarAsync($"SELECT count(*) FROM {{schema}}_projected WHERE projection = '{name}'"));
    }

    [Fact]
    public async Task GivenProjectedEvents_WhenRebuilding_ThenReadModelIsReplayedFromZeroWithProgress()
    {
        var projection = await RecordingProjectionAsync("rebuild");
        var stream = NewStreamId("rebuild");
        for (var commit = 0; commit < 12; commit++)
        {
            await AppendAsync(stream, ExpectedVersion.Exactly(commit * 100), [.. Enumerable.Range(0, 100).Select(i => new Deposited(i))]);
        }

        var max = await ScalarAsync("SELECT max(seq_id) FROM {schema}.mt_events");
        await using var daemon = Track(new ProjectionDaemon(Store, [projection], FastDaemon with { PageRows = 250 }));
        daemon.Start();
        await EventuallyAsync(async () => await projection.TimesAsync(max) == 1, "projected once");
        await ExecuteAsync($"UPDATE {{schema}}_projected SET times = 99 WHERE projection = '{projection.Name}'");

        var reports = new List<RebuildProgress>();
        await daemon.RebuildAsync(projection.Name, new SynchronousProgress(reports.Add), Ct);

        Assert.Equal(0, await ScalarAsync($"SELECT count(*) FROM {{schema}}_projected WHERE projection = '{projection.Name}' AND times <> 1"));
        Assert.Equal(await ScalarAsync("SELECT count(*) FROM {schema}.mt_events"), reports[^1].EventsProcessed);
        Assert.True(reports.Count >= 3, $"expected a report per page of 250 rows, got {reports.Count}");
        Assert.Equal(max, reports[^1].LastSequence);
        Assert.All(reports, r => Assert.Equal(max, r.TargetSequence));
    }

    private async Task<RecordingProjection> RecordingProjectionAsync(string name)
    {
        var projection = new RecordingProjection(name + "-" + Guid.NewGuid().ToString("N")[..8], Schema);
        await projection.CreateTableAsync(Store, Ct);
        return projection;
    }

    private sealed class SynchronousProgress(Action<RebuildProgress> report) : IProgress<RebuildProgress>
    {
        public void Report(RebuildProgress value) => report(value);
    }

    /// <summary>Counts how often each event was applied: a unique key per event, and a counter to catch repeats.</summary>
    private sealed class RecordingProjection(string name, string schema) : IAsyncProjection
    {
        private NpgsqlDataSource? _dataSource;

        public string Name { get; } = name;

        public async Task CreateTableAsync(MartenEventStore store, CancellationToken ct)
        {
            _dataSource = store.DataSource;
            await using var command = store.DataSource.CreateCommand(
                $"CREATE TABLE IF NOT EXISTS {schema}_projected (projection text, seq bigint, times int NOT NULL, PRIMARY KEY (projection, seq))");
            await command.ExecuteNonQueryAsync(ct);
        }

        public async Task ApplyAsync(NpgsqlConnection c, NpgsqlTransaction tx, IReadOnlyList<ProjectedEvent> page, CancellationToken ct)
        {
            await using var command = new NpgsqlCommand(
                $"INSERT INTO {schema}_projected AS p (projection, seq, times) SELECT $1, unnest($2::bigint[]), 1 " +
                "ON CONFLICT (projection, seq) DO UPDATE SET times = p.times + 1",
                c,
                tx);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
            command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. page.Select(e => e.Sequence)] });
            await command.ExecuteNonQueryAsync(ct);
        }

        public async Task ResetAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct)
        {
            await using var command = new NpgsqlCommand($"DELETE FROM {schema}_projected WHERE projection = $1", c, tx);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
            await command.ExecuteNonQueryAsync(ct);
        }

        public async Task<long> TimesAsync(long sequence)
        {
            await using var command = _dataSource!.CreateCommand($"SELECT coalesce((SELECT times FROM {schema}_projected WHERE projection = $1 AND seq = $2), 0)");
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = sequence });
            return (int)(await command.ExecuteScalarAsync())!;
        }
    }
}
