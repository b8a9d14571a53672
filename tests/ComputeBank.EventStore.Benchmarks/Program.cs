using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ComputeBank.Benchmarks;
using ComputeBank.EventStore;
using Npgsql;
using NpgsqlTypes;

// Event store throughput against a raw Npgsql baseline on the same database, in one run:
//   (a) one event per transaction, 8 concurrent writers: store session vs a single-row INSERT;
//   (b) batches of 100 and 1,000 events (10 events per stream): one store session vs one multi-row INSERT.
// A plain Stopwatch harness rather than BenchmarkDotNet: what matters is throughput of concurrent writers against
// a database whose state grows, which BenchmarkDotNet's per-invocation model does not measure.
//
// Usage: dotnet run -c Release --project tests/ComputeBank.EventStore.Benchmarks [-- <admin connection string> [seconds]]
// The connection string defaults to COMPUTEBANK_TEST_PG; either way the program creates its own throwaway database
// on that server and drops it at the end, so it never writes into the database it was pointed at.
var admin = args.Length > 0 && args[0].Length > 0 ? args[0] : Environment.GetEnvironmentVariable("COMPUTEBANK_TEST_PG");
if (string.IsNullOrEmpty(admin))
{
    Console.Error.WriteLine("Pass an admin connection string or set COMPUTEBANK_TEST_PG.");
    return 2;
}

var seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 5;
var databaseName = "cbbench_" + Guid.NewGuid().ToString("N")[..12];
await using (var adminConnection = new NpgsqlConnection(admin))
{
    await adminConnection.OpenAsync();
    await using var create = new NpgsqlCommand($"CREATE DATABASE \"{databaseName}\"", adminConnection);
    await create.ExecuteNonQueryAsync();
}

var connectionString = new NpgsqlConnectionStringBuilder(admin) { Database = databaseName }.ConnectionString;
try
{
    var pooled = new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 30, MaxAutoPrepare = 32 }.ConnectionString;
    var bench = new Bench(pooled, TimeSpan.FromSeconds(seconds));
    await bench.SetUpAsync();
    Console.WriteLine($"PostgreSQL {await bench.ServerVersionAsync()}, {Environment.ProcessorCount} cores; medians of 5 alternating {seconds:0.#} s runs per side");
    Console.WriteLine();
    Console.WriteLine($"{"scenario",-44} {"raw events/s",14} {"store events/s",15} {"store/raw",10}   CPU per event, PostgreSQL + this process (raw / store)");

    await bench.CompareAsync("(a) 1 event/tx, 8 writers", writers: 8, batch: 1);
    await bench.CompareAsync("(b) 100 events/tx, 4 writers", writers: 4, batch: 100);
    await bench.CompareAsync("(b) 1,000 events/tx, 4 writers", writers: 4, batch: 1000);
    await bench.CompareAsync("(b) 1,000 events/tx, 1 writer", writers: 1, batch: 1000);
    return 0;
}
finally
{
    NpgsqlConnection.ClearAllPools();
    await using var adminConnection = new NpgsqlConnection(admin);
    await adminConnection.OpenAsync();
    await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{databaseName}\" WITH (FORCE)", adminConnection);
    await drop.ExecuteNonQueryAsync();
}

internal sealed record Deposited(long Amount, string Bucket, string OperationId);

internal sealed class Bench(string connectionString, TimeSpan duration)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly NpgsqlDataSource _raw = new NpgsqlDataSourceBuilder(connectionString).Build();
    // The server is shared and its fsync latency wanders: raw and store runs alternate, and medians are compared.
    private const int Rounds = 5;
    private MartenEventStore _store = null!;
    private long _streamCounter;

    public async Task SetUpAsync()
    {
        _store = MartenEventStore.Create(
            new EventStoreOptions { ConnectionString = connectionString, Json = Json },
            new EventTypeRegistry().Register<Deposited>("V1.Deposited"));
        await _store.MigrateAsync(CancellationToken.None);
        // The baseline table has the events table's columns and constraints; it just has no stream rows, no
        // version check and no hash chain.
        await using var command = _raw.CreateCommand(
            """
            CREATE SEQUENCE IF NOT EXISTS raw_sequence;
            CREATE TABLE IF NOT EXISTS raw_events (
                seq_id bigint PRIMARY KEY DEFAULT nextval('raw_sequence'), stream_id text NOT NULL, version bigint NOT NULL,
                type text NOT NULL, data jsonb NOT NULL, metadata jsonb NOT NULL, timestamp timestamptz NOT NULL DEFAULT now(),
                hash text, previous_hash text, UNIQUE (stream_id, version));
            """);
        await command.ExecuteNonQueryAsync();
    }

    public async Task<string> ServerVersionAsync()
    {
        await using var connection = await _raw.OpenConnectionAsync();
        return connection.PostgreSqlVersion.ToString();
    }

    public async Task CompareAsync(string name, int writers, int batch)
    {
        await MeasureAsync(writers, batch, RawAsync, TimeSpan.FromSeconds(1));
        await MeasureAsync(writers, batch, StoreAsync, TimeSpan.FromSeconds(1));
        var raw = new List<Run>();
        var store = new List<Run>();
        for (var round = 0; round < Rounds; round++)
        {
            raw.Add(await MeasureAsync(writers, batch, RawAsync, duration));
            store.Add(await MeasureAsync(writers, batch, StoreAsync, duration));
        }

        var rawMedian = Median(raw);
        var storeMedian = Median(store);
        Console.WriteLine($"{name,-44} {rawMedian,14:N0} {storeMedian,15:N0} {storeMedian / rawMedian,9:0.00}x   {CpuPerEvent(raw)} / {CpuPerEvent(store)}");
    }

    private static double Median(List<Run> runs) => runs.Select(r => r.EventsPerSecond).Order().ElementAt(runs.Count / 2);

    // Over all rounds of one side: when the server is the bottleneck, the throughput ratio follows the ratio of these.
    private static string CpuPerEvent(List<Run> runs)
    {
        var events = runs.Sum(r => r.Events);
        if (runs.Any(r => r.Cpu?.Postgres is null) || events == 0)
        {
            return "n/a";
        }

        var postgres = runs.Sum(r => r.Cpu!.Postgres!.Value) * 1e6 / events;
        var client = runs.Sum(r => r.Cpu!.Self) * 1e6 / events;
        return FormattableString.Invariant($"{postgres:0.0} + {client:0.0} us");
    }

    private sealed record Run(double EventsPerSecond, long Events, CpuUsage? Cpu);

    private static async Task<Run> MeasureAsync(int writers, int batch, Func<string, int, int, Task> write, TimeSpan length)
    {
        var events = 0L;
        var cpuAtStart = CpuSnapshot.Take();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var streamPrefix = $"w{w}-{Guid.NewGuid():N}";
            for (var round = 0; clock.Elapsed < length; round++)
            {
                await write(streamPrefix, round, batch);
                Interlocked.Add(ref events, batch);
            }
        })));
        var seconds = clock.Elapsed.TotalSeconds;
        return new Run(events / seconds, events, CpuUsage.Between(cpuAtStart, CpuSnapshot.Take()));
    }

    // One event per transaction appends to the writer's own stream (version = round + 1); a batch starts
    // batch / 10 new streams of 10 events each, the shape of a group commit of many small commands.
    private async Task StoreAsync(string streamPrefix, int round, int batch)
    {
        await using var session = _store.OpenSession();
        if (batch == 1)
        {
            session.Append(streamPrefix, ExpectedVersion.Exactly(round), [Event(round)]);
        }
        else
        {
            var serial = Interlocked.Increment(ref _streamCounter);
            for (var s = 0; s < batch / 10; s++)
            {
                session.StartStream($"{streamPrefix}-{serial}-{s}", "Account", [.. Enumerable.Range(0, 10).Select(i => (object)Event(i))]);
            }
        }

        await session.SaveChangesAsync(CancellationToken.None);
    }

    private async Task RawAsync(string streamPrefix, int round, int batch)
    {
        await using var connection = await _raw.OpenConnectionAsync();
        if (batch == 1)
        {
            await using var insert = new NpgsqlCommand(
                "INSERT INTO raw_events (stream_id, version, type, data, metadata) VALUES ($1, $2, $3, $4, $5)", connection);
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamPrefix });
            insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = round + 1 });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = "V1.Deposited" });
            insert.Parameters.Add(new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Jsonb, TypedValue = JsonSerializer.Serialize(Event(round), Json) });
            insert.Parameters.Add(new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Jsonb, TypedValue = "{}" });
            await insert.ExecuteNonQueryAsync();
            return;
        }

        var serial = Interlocked.Increment(ref _streamCounter);
        var streams = new string[batch];
        var versions = new long[batch];
        var types = new string[batch];
        var data = new string[batch];
        var metadata = new string[batch];
        for (var i = 0; i < batch; i++)
        {
            streams[i] = $"{streamPrefix}-{serial}-{i / 10}";
            versions[i] = (i % 10) + 1;
            types[i] = "V1.Deposited";
            data[i] = JsonSerializer.Serialize(Event(i % 10), Json);
            metadata[i] = "{}";
        }

        await using var command = new NpgsqlCommand(
            "INSERT INTO raw_events (stream_id, version, type, data, metadata) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::jsonb[], $5::jsonb[])",
            connection);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = streams });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = versions });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = types });
        command.Parameters.Add(new NpgsqlParameter<string[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb, TypedValue = data });
        command.Parameters.Add(new NpgsqlParameter<string[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb, TypedValue = metadata });
        await command.ExecuteNonQueryAsync();
    }

    private static Deposited Event(int i) => new(1_000 + i, "gpu.h100/beijing/2026-11", $"op-{i}");
}
