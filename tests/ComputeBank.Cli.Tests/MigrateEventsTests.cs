using System.Net;
using ComputeBank.Api.Ledger;
using ComputeBank.Api.Tests;
using ComputeBank.Api.Tests.ReadSide;
using ComputeBank.Cli.Tests.OldLayout;
using ComputeBank.Domain;
using ComputeBank.Domain.Accounts;
using ComputeBank.EventStore;
using ComputeBank.Testing;
using Npgsql;

namespace ComputeBank.Cli.Tests;

/// <summary>
/// A ledger written by the build before Marten, converted by <c>migrate-events</c>. The scripted ledger day runs on
/// this build (<see cref="MigrateEventsFixture.Source"/>); its events are then appended one by one, with the same
/// sequence numbers, through the OLD scripts' <c>append_events</c> into a database of the old layout, and its read
/// models, snapshots and checkpoints are copied beside them: what a deployment of the old build held. That database is
/// converted once for the class; each test checks one promise of the conversion.
/// </summary>
public sealed class MigrateEventsTests(MigrateEventsFixture fixture) : IClassFixture<MigrateEventsFixture>
{
    private const string Events = "SELECT seq_id, stream_id, version, type, data::text, metadata::text, timestamp, hash, previous_hash FROM cb.events";

    [Fact]
    public void GivenOldLayout_WhenMigratingEvents_ThenExitZeroAndEverythingCounted()
    {
        Assert.True(fixture.Conversion.Code == CliApp.Ok, fixture.Conversion.Error);
        Assert.Equal(
            $"converted schema cb: 23 events in 6 streams, {fixture.SnapshotsBefore.Count} snapshots, {fixture.CheckpointsBefore.Count} projection checkpoints " +
            $"carried over and compared; the next event takes sequence {fixture.LastSequenceBefore + 1}\n",
            fixture.Conversion.Output);
        Assert.NotEmpty(fixture.CheckpointsBefore);
        Assert.NotEmpty(fixture.SnapshotsBefore);
    }

    [Fact]
    public async Task GivenConverted_ThenEveryEventKeepsSequenceVersionTypeDataMetadataTimestampAndHashes()
    {
        await using var connection = await fixture.Old.OpenAsync();
        var after = await OldLayoutDatabase.RowsAsync(connection, $"{Events} WHERE seq_id <= {fixture.LastSequenceBefore} ORDER BY seq_id");
        Assert.Equal(23, fixture.EventsBefore.Count);
        Assert.Equal(fixture.EventsBefore, after);

        // Metadata sits in Marten's columns, and each event has the .NET type Marten itself recorded for the same event.
        Assert.Equal(
            await OldLayoutDatabase.RowsAsync(fixture.SourceConnection, "SELECT seq_id, correlation_id, causation_id, user_name, headers::text, mt_dotnet_type FROM cb.mt_events ORDER BY seq_id"),
            await OldLayoutDatabase.RowsAsync(connection, $"SELECT seq_id, correlation_id, causation_id, user_name, headers::text, mt_dotnet_type FROM cb.mt_events WHERE seq_id <= {fixture.LastSequenceBefore} ORDER BY seq_id"));
        Assert.Contains(fixture.EventsBefore, row => row.Contains("correlationId", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GivenConverted_ThenStreamsSnapshotsAndCheckpointsCarriedOverAndOldTablesGone()
    {
        await using var connection = await fixture.Old.OpenAsync();
        Assert.Equal(fixture.StreamsBefore, fixture.StreamsAfter);
        Assert.Equal(fixture.SnapshotsBefore, fixture.SnapshotsAfter);
        Assert.Equal(fixture.CheckpointsBefore, fixture.CheckpointsAfter);
        Assert.Equal(
            ["1 0001_event_store.sql", "2 0002_append_streams.sql", "r mt_events", "r mt_streams", "v events"],
            await OldLayoutDatabase.RowsAsync(connection, """
                SELECT v FROM (SELECT version || ' ' || script AS v FROM cb.schema_versions
                               UNION ALL SELECT c.relkind::text || ' ' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                               WHERE n.nspname = 'cb' AND (c.relname IN ('events', 'streams', 'mt_events', 'mt_streams', 'event_sequence')
                                                           OR c.relname LIKE '%before_marten%')) x ORDER BY v
                """));
        Assert.Empty(await OldLayoutDatabase.RowsAsync(connection,
            "SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'cb' AND proname IN ('append_events', 'append_stream', 'append_one', 'stream_conflict')"));
    }

    [Fact]
    public async Task GivenConverted_WhenTheStoreReads_ThenItSeesTheOldEventsAndEveryChainChecksOut()
    {
        await using var store = MartenEventStore.Create(
            new EventStoreOptions { ConnectionString = fixture.Old.ConnectionString, Schema = "cb", Json = DomainJson.Options }, LedgerTypes.Registry());
        var alice = await store.ReadStreamAsync("account-alice", 1, default, toVersion: fixture.AliceVersionBefore);
        Assert.Equal(
            fixture.EventsBefore.Select(r => r.Split(" | ")).Where(p => p[1] == "account-alice").Select(p => string.Join(" | ", p[0], p[1], p[2], p[3], p[7], p[8])),
            alice.Select(e => string.Join(" | ", e.Sequence, e.StreamId, e.Version, e.TypeName, e.Hash, e.PreviousHash ?? "<null>")));
        Assert.Equal(
            fixture.EventsBefore.Select(r => r.Split(" | ")).Where(p => p[1] == "account-alice").Select(p => DateTimeOffset.Parse(p[6], System.Globalization.CultureInfo.InvariantCulture)),
            alice.Select(e => e.Timestamp));
        Assert.IsType<AccountOpened>(alice[0].Data);
        Assert.Equal(fixture.LastSequenceBefore, (await store.ReadAllAsync(0, 1000, default)).Where(e => e.Sequence <= fixture.LastSequenceBefore).Max(e => e.Sequence));
        Assert.Empty(await store.VerifyHashChainsAsync(default));
    }

    [Fact]
    public async Task GivenConverted_WhenRunAgain_ThenRefusedClearlyAndNothingChanged()
    {
        await using var connection = await fixture.Old.OpenAsync();
        var before = await OldLayoutDatabase.RowsAsync(connection, $"{Events} ORDER BY seq_id");

        var (code, output, error) = await MigrateEventsFixture.RunCliAsync(fixture.Old.ConnectionString, "migrate-events");

        Assert.Equal(CliApp.Failed, code);
        Assert.Equal("", output);
        Assert.Contains("error: Nothing to convert: cb.events is already the view over Marten's cb.mt_events", error, StringComparison.Ordinal);
        Assert.Equal(before, await OldLayoutDatabase.RowsAsync(connection, $"{Events} ORDER BY seq_id"));
    }

    [Fact]
    public async Task GivenConverted_WhenTheServiceStartsAndAppends_ThenEachStreamsChainContinuesAndAuditVerifyIsClean()
    {
        await using var service = new ApiFactory { ConnectionStringOverride = fixture.Old.ConnectionString };
        var client = new LedgerClient(service.CreateClient());
        (await client.DepositAsync("dep-after-conversion", LedgerScenario.Provider, "7", period: "2026-12")).ShouldBe(HttpStatusCode.Created);
        (await client.TransferAsync("tr-after-conversion", LedgerScenario.Alice, LedgerScenario.Bob, "1", period: "2026-12")).ShouldBe(HttpStatusCode.Created);

        await using var connection = await fixture.Old.OpenAsync();
        foreach (var stream in new[] { "account-prov-1", "account-alice", "account-bob" })
        {
            var (oldVersion, oldHead) = fixture.Heads[stream];
            var next = await OldLayoutDatabase.RowsAsync(connection,
                $"SELECT version, previous_hash, seq_id > {fixture.LastSequenceBefore} FROM cb.events WHERE stream_id = '{stream}' AND version = {oldVersion + 1}");
            Assert.Equal([$"{oldVersion + 1} | {oldHead} | True"], next);
        }

        var (code, output, error) = await MigrateEventsFixture.RunCliAsync(fixture.Old.ConnectionString, "audit", "verify");
        Assert.True(code == CliApp.Ok, output + error);
        Assert.StartsWith("OK: 26 events in 6 streams replayed; 0 discrepancies", output, StringComparison.Ordinal);
    }
}

/// <summary>The old-layout ledger of <see cref="MigrateEventsTests"/>, what it held, and its one conversion.</summary>
public sealed class MigrateEventsFixture : IAsyncLifetime
{
    private const string Snapshots = "SELECT stream_id, version, type, data::text, created_at FROM cb.snapshots ORDER BY stream_id";
    private const string Checkpoints = "SELECT name, last_sequence, updated_at FROM cb.projection_progress ORDER BY name";

    /// <summary>The scripted ledger day on this build: where the events and read models come from.</summary>
    public ApiFactory Source { get; } = new();

    /// <summary>The same ledger in the layout before Marten, converted in <see cref="InitializeAsync"/>.</summary>
    public PostgresDatabase Old { get; } = new();

    public NpgsqlConnection SourceConnection { get; private set; } = null!;

    public List<string> EventsBefore { get; private set; } = [];

    public List<string> StreamsBefore { get; private set; } = [];

    public List<string> SnapshotsBefore { get; private set; } = [];

    /// <summary>The streams right after the conversion (before any test appends), in the form of <see cref="StreamsBefore"/>.</summary>
    public List<string> StreamsAfter { get; private set; } = [];

    public List<string> SnapshotsAfter { get; private set; } = [];

    public List<string> CheckpointsAfter { get; private set; } = [];

    public List<string> CheckpointsBefore { get; private set; } = [];

    public Dictionary<string, (long Version, string Hash)> Heads { get; } = new(StringComparer.Ordinal);

    public long LastSequenceBefore { get; private set; }

    public long AliceVersionBefore => Heads["account-alice"].Version;

    public (int Code, string Output, string Error) Conversion { get; private set; }

    public async Task InitializeAsync()
    {
        await Source.InitializeAsync();
        var scenario = new LedgerScenario(new LedgerClient(Source.CreateClient()));
        await scenario.RunAsync();
        await scenario.WaitForPoolsAsync();
        SourceConnection = await Source.Database.OpenAsync();

        await Old.InitializeAsync();
        await using var old = await Old.OpenAsync();
        await OldLayoutDatabase.CreateAsync(old, LedgerTypes.Modules);
        await using (var events = new NpgsqlCommand(
            "SELECT e.seq_id, e.stream_id, s.type, e.type, e.data::text, e.metadata::text FROM cb.events e JOIN cb.mt_streams s ON s.id = e.stream_id ORDER BY e.seq_id",
            SourceConnection))
        await using (var reader = await events.ExecuteReaderAsync())
        {
            var rows = new List<(long, string, string?, string, string, string)>();
            while (await reader.ReadAsync())
            {
                rows.Add((reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5)));
            }

            await reader.CloseAsync();
            foreach (var (seq, stream, aggregate, type, data, metadata) in rows)
            {
                await OldLayoutDatabase.AppendAsync(old, stream, aggregate, type, data, metadata, seq);
            }
        }

        await CopyReadSideAsync(old);

        EventsBefore = await OldLayoutDatabase.RowsAsync(old, "SELECT seq_id, stream_id, version, type, data::text, metadata::text, timestamp, hash, previous_hash FROM cb.events ORDER BY seq_id");
        StreamsBefore = await OldLayoutDatabase.RowsAsync(old, "SELECT id, aggregate_type, version, created_at, updated_at, archived, last_hash FROM cb.streams ORDER BY id");
        SnapshotsBefore = await OldLayoutDatabase.RowsAsync(old, Snapshots);
        CheckpointsBefore = await OldLayoutDatabase.RowsAsync(old, Checkpoints);
        foreach (var row in await OldLayoutDatabase.RowsAsync(old, "SELECT id, version, last_hash FROM cb.streams"))
        {
            var parts = row.Split(" | ");
            Heads[parts[0]] = (long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), parts[2]);
        }

        LastSequenceBefore = await Old.ScalarAsync<long>("SELECT max(seq_id) FROM cb.events");
        Conversion = await RunCliAsync(Old.ConnectionString, "migrate-events");
        StreamsAfter = await OldLayoutDatabase.RowsAsync(old, """
            SELECT s.id, s.type, s.version, s.created, s.timestamp, s.is_archived, h.hash
            FROM cb.mt_streams s LEFT JOIN cb.event_hashes h ON h.stream_id = s.id AND h.version = s.version
            ORDER BY s.id
            """);
        SnapshotsAfter = await OldLayoutDatabase.RowsAsync(old, Snapshots);
        CheckpointsAfter = await OldLayoutDatabase.RowsAsync(old, Checkpoints);
    }

    public async Task DisposeAsync()
    {
        await SourceConnection.DisposeAsync();
        await ((IAsyncLifetime)Source).DisposeAsync();
        await Old.DisposeAsync();
    }

    public static async Task<(int Code, string Output, string Error)> RunCliAsync(string connectionString, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApp.RunAsync([.. args, "--connection", connectionString], output, error, default);
        return (code, output.ToString().Replace("\r\n", "\n", StringComparison.Ordinal), error.ToString());
    }

    /// <summary>Every table beside the old event tables (read models, operation log, durable queue, snapshots,
    /// checkpoints) gets the source's rows, column for column, as the old build would have written them.</summary>
    private async Task CopyReadSideAsync(NpgsqlConnection old)
    {
        var tables = await OldLayoutDatabase.RowsAsync(old, """
            SELECT t.table_name, string_agg(quote_ident(c.column_name), ', ' ORDER BY c.ordinal_position)
            FROM information_schema.tables t JOIN information_schema.columns c ON c.table_schema = t.table_schema AND c.table_name = t.table_name
            WHERE t.table_schema = 'cb' AND t.table_type = 'BASE TABLE' AND t.table_name NOT IN ('events', 'streams', 'schema_versions', 'module_versions')
            GROUP BY t.table_name ORDER BY t.table_name
            """);
        foreach (var (table, columns) in tables.Select(r => r.Split(" | ")).Select(p => (p[0], p[1])))
        {
            await OldLayoutDatabase.ExecuteAsync(old, $"DELETE FROM cb.{table}");
            await using var exporter = await SourceConnection.BeginRawBinaryCopyAsync($"COPY cb.{table} ({columns}) TO STDOUT (FORMAT BINARY)");
            await using var importer = await old.BeginRawBinaryCopyAsync($"COPY cb.{table} ({columns}) FROM STDIN (FORMAT BINARY)");
            await exporter.CopyToAsync(importer);
        }
    }
}
