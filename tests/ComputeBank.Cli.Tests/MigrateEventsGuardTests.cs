using ComputeBank.Cli.Tests.OldLayout;
using ComputeBank.Testing;

namespace ComputeBank.Cli.Tests;

/// <summary>
/// What guards <c>migrate-events</c>, on small old-layout databases (each test its own): on a database it must not
/// convert, each failure, whether found by the row-by-row comparison or by PostgreSQL half-way through the copy,
/// leaves every table, function and recorded version as it was; and it waits for the migrator's lock.
/// </summary>
public sealed class MigrateEventsGuardTests
{
    // Everything the conversion would touch, as text: rows of the old tables, recorded versions, relations, functions.
    private static readonly string[] State =
    [
        "SELECT seq_id, stream_id, version, type, data::text, metadata::text, timestamp, hash, previous_hash FROM cb.events ORDER BY seq_id",
        "SELECT id, aggregate_type, version, created_at, updated_at, archived, last_hash FROM cb.streams ORDER BY id",
        "SELECT stream_id, version, data::text FROM cb.snapshots ORDER BY stream_id",
        "SELECT name, last_sequence FROM cb.projection_progress ORDER BY name",
        "SELECT version, script FROM cb.schema_versions ORDER BY version",
        "SELECT last_value, is_called FROM cb.event_sequence",
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'cb' ORDER BY c.relname",
        "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'cb' ORDER BY p.proname",
    ];

    [Theory]
    [InlineData(
        "UPDATE cb.events SET metadata = metadata || '{\"tenant\": \"t-1\"}' WHERE seq_id = 2",
        "error: Not converted, nothing changed: 1 events would not be carried over unchanged; the first is seq_id 2 " +
        "(metadata before: {\"user\": \"u-1\", \"tenant\": \"t-1\", \"correlationId\": \"c-2\"}; after: {\"user\": \"u-1\", \"correlationId\": \"c-2\"}; " +
        "metadata can only hold the members correlationId, causationId, user as strings and headers as an object).")]
    [InlineData(
        "UPDATE cb.events SET metadata = '{\"correlationId\": 42}' WHERE seq_id = 3",
        "error: Not converted, nothing changed: 1 events would not be carried over unchanged; the first is seq_id 3")]
    [InlineData(
        "UPDATE cb.streams SET last_hash = repeat('0', 64) WHERE id = 'account-b'",
        "error: Not converted, nothing changed: 1 streams would not be carried over unchanged; the first is account-b")]
    [InlineData(
        "DELETE FROM cb.streams WHERE id = 'account-b'",
        "violates foreign key constraint \"fkey_mt_events_stream_id\"")]
    public async Task GivenOldLayoutWithARowTheNewLayoutCannotHold_WhenMigratingEvents_ThenRefusedAndTheOldLayoutIntact(string corruption, string message)
    {
        var database = new PostgresDatabase();
        await database.InitializeAsync();
        try
        {
            await using var connection = await database.OpenAsync();
            await CreateSmallLedgerAsync(connection);
            await OldLayoutDatabase.ExecuteAsync(connection, corruption);
            var before = await StateAsync(connection);

            var (code, output, error) = await MigrateEventsFixture.RunCliAsync(database.ConnectionString, "migrate-events");

            Assert.Equal(CliApp.Failed, code);
            Assert.Equal("", output);
            Assert.True(error.Contains(message, StringComparison.Ordinal), error);
            Assert.Equal(before, await StateAsync(connection));

            // The old build could go on: its append function still works on its tables.
            await OldLayoutDatabase.AppendAsync(connection, "account-a", "account", "V1.Noted", """{"n": 4}""", "{}");
            Assert.Equal(3, await database.ScalarAsync<long>("SELECT version FROM cb.events WHERE seq_id = 4"));
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    [Fact]
    public async Task GivenDatabaseWithoutEventStore_WhenMigratingEvents_ThenRefusedClearly()
    {
        var database = new PostgresDatabase();
        await database.InitializeAsync();
        try
        {
            await database.ExecuteAsync("CREATE SCHEMA cb; CREATE TABLE cb.schema_versions (version integer PRIMARY KEY, script text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");

            var (code, _, error) = await MigrateEventsFixture.RunCliAsync(database.ConnectionString, "migrate-events");

            Assert.Equal(CliApp.Failed, code);
            Assert.Equal("error: Nothing to convert: schema cb holds no event store (cb.events does not exist).", error.TrimEnd());
            Assert.Equal(0, await database.ScalarAsync<long>("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'cb' AND c.relname LIKE 'mt_%'"));
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    [Fact]
    public async Task GivenANodeMigrating_WhenMigratingEvents_ThenItWaitsForTheMigratorsLockAndThenConverts()
    {
        var database = new PostgresDatabase();
        await database.InitializeAsync();
        try
        {
            await using var connection = await database.OpenAsync();
            await CreateSmallLedgerAsync(connection);
            await using var node = await database.OpenAsync();
            await OldLayoutDatabase.ExecuteAsync(node, "SELECT pg_advisory_lock(hashtextextended('computebank.eventstore.migrate:cb', 0))");

            var conversion = MigrateEventsFixture.RunCliAsync(database.ConnectionString, "migrate-events");
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.False(conversion.IsCompleted);
            Assert.Equal("r", await database.ScalarAsync<string>("SELECT relkind::text FROM pg_class WHERE oid = 'cb.events'::regclass"));

            await OldLayoutDatabase.ExecuteAsync(node, "SELECT pg_advisory_unlock(hashtextextended('computebank.eventstore.migrate:cb', 0))");
            var (code, output, error) = await conversion.WaitAsync(TimeSpan.FromSeconds(30));

            Assert.True(code == CliApp.Ok, error);
            Assert.Equal(
                "converted schema cb: 3 events in 2 streams, 1 snapshots, 1 projection checkpoints carried over and compared; the next event takes sequence 4\n", output);
            Assert.Equal(
                [
                    "1 | account-a | 1 | {\"user\": \"u-1\", \"correlationId\": \"c-1\"}",
                    "2 | account-a | 2 | {\"user\": \"u-1\", \"correlationId\": \"c-2\"}",
                    "3 | account-b | 1 | {\"headers\": {\"traceparent\": \"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\"}, \"causationId\": \"cmd-3\"}",
                ],
                await OldLayoutDatabase.RowsAsync(connection, "SELECT seq_id, stream_id, version, metadata::text FROM cb.events ORDER BY seq_id"));
            Assert.Equal(
                ["1 | c-1 | <null> | u-1 | <null>", "2 | c-2 | <null> | u-1 | <null>", "3 | <null> | cmd-3 | <null> | {\"traceparent\": \"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\"}"],
                await OldLayoutDatabase.RowsAsync(connection, "SELECT seq_id, correlation_id, causation_id, user_name, headers::text FROM cb.mt_events ORDER BY seq_id"));
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    /// <summary>Two streams, three events (metadata with correlation, user, causation and headers), a snapshot, a checkpoint.</summary>
    private static async Task CreateSmallLedgerAsync(Npgsql.NpgsqlConnection connection)
    {
        await OldLayoutDatabase.CreateAsync(connection, []);
        await OldLayoutDatabase.AppendAsync(connection, "account-a", "account", "V1.Noted", """{"n": 1}""", """{"correlationId": "c-1", "user": "u-1"}""");
        await OldLayoutDatabase.AppendAsync(connection, "account-a", "account", "V1.Noted", """{"n": 2.50}""", """{"correlationId": "c-2", "user": "u-1"}""");
        await OldLayoutDatabase.AppendAsync(connection, "account-b", "account", "V1.Noted", """{"n": 3}""",
            """{"causationId": "cmd-3", "headers": {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}""");
        await OldLayoutDatabase.ExecuteAsync(connection, "INSERT INTO cb.snapshots (stream_id, version, type, data) VALUES ('account-a', 2, 'A', '{}')");
        await OldLayoutDatabase.ExecuteAsync(connection, "INSERT INTO cb.projection_progress (name, last_sequence) VALUES ('pools', 3)");
    }

    private static async Task<List<string>> StateAsync(Npgsql.NpgsqlConnection connection)
    {
        var state = new List<string>();
        foreach (var query in State)
        {
            state.Add(query);
            state.AddRange(await OldLayoutDatabase.RowsAsync(connection, query));
        }

        return state;
    }
}
