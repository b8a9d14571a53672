using System.Globalization;
using ComputeBank.Benchmarks;
using Npgsql;

// The ledger's throughput against this machine's own limits, in ONE run (issue 10):
//   1. baselines: pgbench TPC-B tps (its own database, scale 10, 16 clients) and a raw Npgsql loop of 50 transfers
//      per commit (2 UPDATEs + 1 INSERT each, one NpgsqlBatch per transaction, 4 connections);
//   2. the built API, started as a separate process on a fresh database, driven with single POST /api/v1/transfers
//      from 64 concurrent clients over 1,000 funded accounts;
//   3. the same API driven through POST /api/v1/commands/batch with batches of 1,000 transfers from 4 clients;
//   4. with --old-api, an older build through the same two phases (issue 19: this build at least 0.9x of it);
//   5. the peer (tests/ComputeBank.Benchmarks.Peer): the idiomatic Critter Stack transfer, a Wolverine.Http endpoint over
//      two [WriteAggregate] Marten account streams with an inline snapshot, one transaction per request, driven like 2.
// `--phases expiry` (alone): --holds holds due at the same instant, and how long until the last has expired.
// `--phases async` (alone) measures the queued path instead: POST /api/v1/commands of single transfers, submissions/s
// and commands finished/s end to end, for this build and the --old-api build in the same run.
// Prints commands/s, p50/p99 latency and each ratio to the baselines, and writes an SVG chart of throughput and
// latency per second over the run. Every figure is a ratio against baselines measured in the same run, because the
// machine (2 cores, shared with other work) is noisy.
//
// Usage (build the API first; the program starts its Release build):
//   dotnet build ComputeBank.sln -c Release
//   dotnet run -c Release --project tests/ComputeBank.Benchmarks -- [options]
// Options: `-- --help` prints them (BenchOptions.Usage, the one list of them).
if (BenchOptions.WantsHelp(args))
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

if (options.AdminConnectionString is null)
{
    Console.Error.WriteLine("Pass --pg <admin connection string> or set COMPUTEBANK_TEST_PG.");
    return 2;
}

var repository = Repository.Root();
var apiDll = options.ApiDll ?? Path.Combine(repository, "src", "ComputeBank.Api", "bin", "Release", "net10.0", "ComputeBank.Api.dll");
if (!File.Exists(apiDll))
{
    Console.Error.WriteLine($"{apiDll} is missing: run `dotnet build ComputeBank.sln -c Release` first.");
    return 2;
}

var peerDll = options.PeerDll ?? Path.Combine(repository, "tests", "ComputeBank.Benchmarks.Peer", "bin", "Release", "net10.0", "ComputeBank.Benchmarks.Peer.dll");
if (options.Phases.Contains("peer") && !File.Exists(peerDll))
{
    Console.Error.WriteLine($"{peerDll} is missing: run `dotnet build ComputeBank.sln -c Release` first (or leave the peer out: --phases single,batch).");
    return 2;
}

if (options.OldApiDll is { } old && !File.Exists(old))
{
    Console.Error.WriteLine($"--old-api {old} does not exist: build that commit's src/ComputeBank.Api in Release first.");
    return 2;
}

var suffix = Guid.NewGuid().ToString("N")[..10];
var databases = new Databases(options.AdminConnectionString, suffix);
try
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"ComputeBank benchmark, {Environment.ProcessorCount} cores, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC; bus: {options.BusDescription}"));
    Console.WriteLine();

    if (!options.Baselines || options.Phases.Count < 2)
    {
        if (options.Phases.Contains("expiry"))
        {
            // Holds due at the same instant: how long until the last has expired, this build then the old one.
            await EachBuildAsync(async (label, load, count) =>
            {
                var late = await load.HoldsExpiringTogetherAsync(options.Holds, () => count("SELECT count(*) FROM cb.mt_events WHERE type = 'V1.HoldExpired'"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"expiry, {label}: {options.Holds:N0} holds due together, the last expired {late.TotalSeconds:0.0} s after their expiry"));
            });
            return 0;
        }

        if (options.Phases.Contains("async"))
        {
            // The queued path (POST /api/v1/commands): this build, then the old one when given, in the same run.
            var queued = new List<(string Label, PhaseResult Submitted, double Finished)>();
            await EachBuildAsync(async (label, load, count) =>
            {
                var (submitted, finished) = await load.QueuedTransfersAsync(() => count("SELECT count(*) FROM cb.command_queue WHERE status = 'pending'"));
                queued.Add((label, submitted, finished));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"async, {label}: {submitted.Clients} clients, {submitted.CommandsPerSecond:N0} submissions/s (p99 {submitted.P99Ms:0.0} ms, {submitted.Failed} refused), {finished:N0} commands finished/s end to end"));
            });

            if (queued.Count == 2)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"async, this build / old build: submissions {queued[0].Submitted.CommandsPerSecond / queued[1].Submitted.CommandsPerSecond:0.00}x, end to end {queued[0].Finished / queued[1].Finished:0.00}x"));
            }

            return 0;
        }

        // Profiling mode: the chosen phases alone, no baselines, so no ratios, no chart.
        await using var alone = await ApiProcess.StartAsync(apiDll, await databases.CreateAsync("api"), options);
        Console.WriteLine($"API pid {alone.ProcessId}");
        var generator = new LoadGenerator(alone.BaseAddress, alone.ProcessId, options, new Timeline());
        await generator.SetUpAsync(accounts: 1000);
        foreach (var result in new[] { options.Phases.Contains("single") ? await generator.SingleTransfersAsync() : null, options.Phases.Contains("batch") ? await generator.BatchTransfersAsync(batchSize: 1000) : null })
        {
            if (result is not null)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{result.Name}: {result.Clients} clients, {result.CommandsPerSecond:N0} commands/s, p50 {result.P50Ms:0.0} ms, p99 {result.P99Ms:0.0} ms, {result.Failed} failed"));
                if (CpuReport.Line(result.Name, "command", result.Commands, result.Cpu, "API", "load generator") is { } cpuLine)
                {
                    Console.WriteLine(cpuLine);
                }
            }
        }

        return 0;
    }

    var pgbench = await Pgbench.RunAsync(databases, options);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"baseline pgbench TPC-B (scale 10, 16 clients, {options.BaselineSeconds:0} s): {pgbench.Tps,10:N0} tps, latency avg {pgbench.LatencyMs:0.0} ms"));
    var raw = await RawTransfers.RunAsync(databases, options);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"baseline raw Npgsql, 50 transfers/commit, 4 connections:   {raw.TransfersPerSecond,10:N0} transfers/s, p50 {raw.P50Ms:0.0} ms, p99 {raw.P99Ms:0.0} ms per commit"));

    var timeline = new Timeline();
    var singles = new List<PhaseResult>();
    var batches = new List<PhaseResult>();
    var oldSingles = new List<PhaseResult>();
    var oldBatches = new List<PhaseResult>();
    for (var round = 1; round <= (options.OldApiDll is null ? 1 : options.Rounds); round++)
    {
        await using (var api = await ApiProcess.StartAsync(apiDll, await databases.CreateAsync($"api{round}"), options))
        {
            var load = new LoadGenerator(api.BaseAddress, api.ProcessId, options, timeline);
            await load.SetUpAsync(accounts: 1000);
            singles.Add(await load.SingleTransfersAsync());
            batches.Add(await load.BatchTransfersAsync(batchSize: 1000));
        }

        if (options.OldApiDll is { } oldApi)
        {
            await using var api = await ApiProcess.StartAsync(oldApi, await databases.CreateAsync($"old{round}"), options);
            var load = new LoadGenerator(api.BaseAddress, api.ProcessId, options, timeline);
            await load.SetUpAsync(accounts: 1000);
            oldSingles.Add(await load.SingleTransfersAsync("old single"));
            oldBatches.Add(await load.BatchTransfersAsync(batchSize: 1000, "old batch"));
        }
    }

    PhaseResult? peer = null;
    if (options.Phases.Contains("peer"))
    {
        await using var api = await ApiProcess.StartPeerAsync(peerDll, await databases.CreateAsync("peer"), options);
        var load = new LoadGenerator(api.BaseAddress, api.ProcessId, options, timeline);
        await load.SetUpPeerAsync(accounts: 1000);
        peer = await load.PeerTransfersAsync();
    }

    var report = new Report(pgbench, raw, singles, batches, options) { OldSingles = oldSingles, OldBatches = oldBatches, Peer = peer };
    report.Print(Console.Out);
    var chart = Path.GetFullPath(options.ChartPath ?? Path.Combine(repository, "docs", "benchmarks", "http-benchmark.svg"));
    Directory.CreateDirectory(Path.GetDirectoryName(chart)!);
    await File.WriteAllTextAsync(chart, Chart.Render(timeline, report));
    Console.WriteLine($"chart: {chart}");
    return 0;
}
finally
{
    NpgsqlConnection.ClearAllPools();
    await databases.DropAllAsync();
}

// This build, then the --old-api build when given: each started on a fresh database with 1,000 funded accounts, and
// measured by `measure` (its label, its load generator, and a count query against its database).
async Task EachBuildAsync(Func<string, LoadGenerator, Func<string, Task<long>>, Task> measure)
{
    foreach (var (label, dll) in new[] { ("this build", apiDll), ("old build", options.OldApiDll) })
    {
        if (dll is null)
        {
            continue;
        }

        var connection = await databases.CreateAsync(label == "this build" ? "api" : "old");
        await using var api = await ApiProcess.StartAsync(dll, connection, options);
        var load = new LoadGenerator(api.BaseAddress, api.ProcessId, options, new Timeline());
        await load.SetUpAsync(accounts: 1000);
        await using var database = NpgsqlDataSource.Create(connection);
        await measure(label, load, async sql =>
        {
            await using var command = database.CreateCommand(sql);
            return (long)(await command.ExecuteScalarAsync())!;
        });
    }
}
