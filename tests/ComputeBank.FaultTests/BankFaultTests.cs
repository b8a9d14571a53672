using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace ComputeBank.FaultTests;

/// <summary>
/// The Jepsen-style bank test: random transfers between 100 accounts from 32 clients over several service nodes,
/// while nodes are killed with SIGKILL and restarted, the service's database connections are terminated, and
/// PostgreSQL itself is restarted. Every read of the balances must show the same total; at the end every
/// acknowledged transfer is in the ledger exactly once, every refused one left nothing, every lost answer is resolved
/// by a retry with the same id, and the projections equal the fold of the events. Readers also go through the
/// service (<see cref="ServiceReaders"/>); after healing the async projections must catch up with every event, and
/// the product's own audit verify must find nothing. Market clients trade beside the bank's (<see cref="MarketWorkload"/>):
/// trades await payment while nodes die, and every deadline must still fire exactly once (<see cref="MarketChecker"/>).
/// The short form runs about 60 s (COMPUTEBANK_FAULT_SECONDS overrides: 600 for the long form).
/// </summary>
public sealed class BankFaultTests
{
    private const int Accounts = 100;
    private const int Clients = 32;
    private const int Readers = 2;
    private const int MarketProviders = 2;
    private const int MarketConsumers = 4;

    [Fact]
    public async Task BankWorkload_UnderKilledNodesTerminatedConnectionsAndADatabaseRestart_KeepsEveryInvariant()
    {
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("COMPUTEBANK_FAULT_SECONDS"), CultureInfo.InvariantCulture, out var s) ? s : 60;
        var nodeCount = seconds > 120 ? 3 : 2;
        var reportDirectory = Checkout.NewReportDirectory();
        await using var cluster = await PostgresCluster.StartAsync();
        var nodes = Enumerable.Range(0, nodeCount).Select(i => new ServiceNode(i, cluster.ConnectionString() + ";Maximum Pool Size=40", reportDirectory)).ToList();
        var faults = new ConcurrentQueue<string>();
        var readAnomalies = new ConcurrentQueue<string>();
        using var serviceReaders = new ServiceReaders(nodes, Accounts, BankWorkload.InitialHoursPerAccount * 1000 * Accounts);
        var clock = Stopwatch.StartNew();
        try
        {
            foreach (var node in nodes)
            {
                await node.StartAsync(CancellationToken.None);
            }

            var workload = new BankWorkload(nodes, Accounts, seed: 7);
            await workload.SetUpAsync(CancellationToken.None);
            var market = new MarketWorkload(nodes, seed: 7);
            await market.SetUpAsync(CancellationToken.None);
            var setUpSequence = await HighestSequenceAsync(cluster);

            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
            var load = workload.RunAsync(Clients, stop.Token);
            var trading = market.RunAsync(MarketProviders, MarketConsumers, stop.Token);
            var reads = ReadTotalsAsync(cluster, readAnomalies, stop.Token);
            var serviceReads = serviceReaders.RunAsync(Readers, setUpSequence, stop.Token);
            var nemesis = NemesisAsync(cluster, nodes, faults, seconds, stop.Token);
            await Task.WhenAll(load, trading, reads, serviceReads, nemesis);

            // Heal: every node up, then resolve every lost answer by retrying with the same operation id.
            foreach (var node in nodes.Where(n => !n.IsRunning))
            {
                await node.StartAsync(CancellationToken.None);
            }

            foreach (var lost in workload.Operations.Where(o => o.Outcome == Outcome.Lost))
            {
                var retry = lost with { };
                await workload.SendUntilAnsweredAsync(retry, 0, maxAttempts: 30, CancellationToken.None);
                lost.ResolvedAs = retry.Outcome == Outcome.Lost ? null : retry.Outcome;
                lost.Attempts += retry.Attempts;
            }

            await market.ResolveLostAsync();
            // Every trade and offer has a deadline at most 40 s after the load stopped; each must fire exactly once.
            var marketChecker = new MarketChecker(cluster.ConnectionString());
            await marketChecker.CheckAsync(market.Operations, TimeSpan.FromSeconds(120), CancellationToken.None);

            var checker = new LedgerChecker(cluster.ConnectionString());
            await checker.CheckAsync(workload.Operations, Accounts, CancellationToken.None);
            await checker.CheckAsyncProjectionsAsync(TimeSpan.FromSeconds(120), CancellationToken.None);
            await checker.VerifyThroughServiceAsync(nodes, CancellationToken.None);
            await serviceReaders.CheckAgainstEventsAsync(cluster.ConnectionString(), checker.Anomalies, CancellationToken.None);
            checker.Anomalies.AddRange(readAnomalies);
            checker.Anomalies.AddRange(marketChecker.Anomalies);
            foreach (var (figure, value) in marketChecker.Figures)
            {
                checker.Figures[figure] = value;
            }

            checker.Anomalies.AddRange(serviceReaders.Anomalies);
            checker.Figures["balance reads checked (SQL, one snapshot each)"] = ReadsChecked.ToString(CultureInfo.InvariantCulture);
            checker.Figures["account reads through the service"] = serviceReaders.AccountReads.ToString(CultureInfo.InvariantCulture);
            checker.Figures["pool reads through the service"] = serviceReaders.PoolReads.ToString(CultureInfo.InvariantCulture);
            checker.Figures["service reads skipped (node down or restarting)"] = serviceReaders.Skipped.ToString(CultureInfo.InvariantCulture);
            checker.Figures["faults injected"] = $"{faults.Count} ({string.Join(", ", faults.GroupBy(KindOf).Select(g => $"{g.Count()} {g.Key}"))})";
            var report = checker.Report(faults, clock.Elapsed);
            var path = Path.Combine(reportDirectory, "report.md");
            await File.WriteAllTextAsync(path, report);

            if (checker.Anomalies.Count > 0)
            {
                await DumpEventsAsync(cluster, Path.Combine(reportDirectory, "events.csv"));
            }

            Assert.True(workload.Operations.Count(o => o.Outcome == Outcome.Acknowledged) > 100, $"Too few transfers went through to test anything; see {path}");
            Assert.True(checker.Anomalies.Count == 0, $"{checker.Anomalies.Count} anomalies; report: {path}\n{report}");
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    private static long ReadsChecked;

    /// <summary>A reader: one statement is one snapshot, so the sum over all accounts must always be the initial total.</summary>
    private static async Task ReadTotalsAsync(PostgresCluster cluster, ConcurrentQueue<string> anomalies, CancellationToken stop)
    {
        var expected = BankWorkload.InitialHoursPerAccount * 1000 * Accounts;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(cluster.ConnectionString() + ";Pooling=false");
                await connection.OpenAsync(CancellationToken.None);
                await using var command = new NpgsqlCommand(
                    "SELECT coalesce(sum(posted), 0) FROM cb.account_buckets WHERE account_id LIKE 'bank-%' AND account_id <> 'bank-provider'", connection);
                var total = Convert.ToInt64(await command.ExecuteScalarAsync(CancellationToken.None), CultureInfo.InvariantCulture);
                Interlocked.Increment(ref ReadsChecked);
                if (total != expected)
                {
                    anomalies.Enqueue($"a read saw {total} milli-hours in all, expected {expected}");
                }
            }
            catch (NpgsqlException)
            {
                // The database is restarting or our connection was terminated: the read did not happen.
            }

            await Task.Delay(250, CancellationToken.None);
        }
    }

    private static string KindOf(string fault) =>
        fault.Contains("killed with SIGKILL", StringComparison.Ordinal) ? "SIGKILL"
        : fault.Contains("fault injection itself failed", StringComparison.Ordinal) ? "failed injection"
        : fault.Contains("pg_terminate_backend", StringComparison.Ordinal) ? "connection kill"
        : fault.Contains("PostgreSQL restarted", StringComparison.Ordinal) ? "PostgreSQL restart"
        : "node restart";

    /// <summary>For studying a failed run: every event with the transaction that wrote it, and the checkpoints.</summary>
    private static async Task DumpEventsAsync(PostgresCluster cluster, string path)
    {
        await using var connection = new NpgsqlConnection(cluster.ConnectionString() + ";Pooling=false");
        await connection.OpenAsync(CancellationToken.None);
        await using var output = File.CreateText(path);
        using (var export = await connection.BeginTextExportAsync(
            "COPY (SELECT e.seq_id, m.xmin, e.stream_id, e.version, e.type, e.timestamp, e.metadata->'headers'->>'operationId', e.data->'postings' FROM cb.events e JOIN cb.mt_events m ON m.seq_id = e.seq_id ORDER BY e.seq_id) TO STDOUT (FORMAT csv, HEADER)"))
        {
            await output.WriteAsync(await export.ReadToEndAsync());
        }

        using var progress = await connection.BeginTextExportAsync("COPY (SELECT * FROM cb.projection_progress) TO STDOUT (FORMAT csv, HEADER)");
        await output.WriteAsync(await progress.ReadToEndAsync());
    }

    private static async Task<long> HighestSequenceAsync(PostgresCluster cluster)
    {
        await using var connection = new NpgsqlConnection(cluster.ConnectionString() + ";Pooling=false");
        await connection.OpenAsync(CancellationToken.None);
        await using var command = new NpgsqlCommand("SELECT coalesce(max(seq_id), 0) FROM cb.events", connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(CancellationToken.None), CultureInfo.InvariantCulture);
    }

    private static async Task NemesisAsync(PostgresCluster cluster, IReadOnlyList<ServiceNode> nodes, ConcurrentQueue<string> faults, int seconds, CancellationToken stop)
    {
        var random = new Random(11);
        var started = Stopwatch.StartNew();
        var restartedDatabase = false;
        var restarts = new List<Task>();
        while (!stop.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromSeconds(2 + random.Next(3)), CancellationToken.None).ConfigureAwait(false);
            if (stop.IsCancellationRequested)
            {
                break;
            }

            var at = $"{started.Elapsed.TotalSeconds:F1}s";
            try
            {
                if (!restartedDatabase && started.Elapsed.TotalSeconds > seconds / 2.0)
                {
                    restartedDatabase = true;
                    await cluster.RestartAsync();
                    faults.Enqueue($"{at}: PostgreSQL restarted (fast shutdown)");
                    continue;
                }

                switch (random.Next(3))
                {
                    case 0 or 1:
                        var node = nodes[random.Next(nodes.Count)];
                        if (node.IsReady && nodes.Count(n => n.IsReady) > 1)
                        {
                            node.Kill();
                            faults.Enqueue($"{at}: node {node.Index} killed with SIGKILL");
                            restarts.Add(Task.Run(async () =>
                            {
                                await Task.Delay(TimeSpan.FromSeconds(1 + random.Next(2)), CancellationToken.None);
                                await node.StartAsync(CancellationToken.None);
                                faults.Enqueue($"{started.Elapsed.TotalSeconds:F1}s: node {node.Index} restarted");
                            }, CancellationToken.None));
                        }

                        break;
                    default:
                        var terminated = await cluster.TerminateBackendsAsync();
                        faults.Enqueue($"{at}: pg_terminate_backend on {terminated} service connections");
                        break;
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                faults.Enqueue($"{at}: fault injection itself failed: {ex.Message}");
            }
        }

        await Task.WhenAll(restarts);
    }
}
