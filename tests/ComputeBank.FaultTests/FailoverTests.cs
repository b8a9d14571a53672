using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using Xunit.Abstractions;

namespace ComputeBank.FaultTests;

/// <summary>
/// Issue 12's acceptance test: a primary with a synchronous hot standby, two service nodes on the multi-host
/// connection string, bank transfers with operation ids; then the primary's postmaster is killed with kill -9 and the
/// standby promoted. Every command acknowledged before the crash must be on the promoted standby, the same service
/// processes must resume writing on it without a restart, and the ledger must check out from its events and through
/// audit verify. On the way it shows that a command is not acknowledged while the synchronous standby is away, and it
/// measures (never asserts) the write pause and the throughput with synchronous replication on and off, into
/// <c>.data/fault-reports/failover-&lt;time&gt;/report.md</c>.
/// </summary>
public sealed class FailoverTests(ITestOutputHelper output)
{
    private const int Accounts = 40;
    private const int Clients = 16;
    private const int Rounds = 3;
    private static readonly TimeSpan MeasureFor = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task KilledPrimary_PromotedStandby_KeepsEveryAcknowledgedCommand_AndTheSameNodesResumeWriting()
    {
        var reportDirectory = Checkout.NewReportDirectory("failover-");
        var figures = new List<(string Name, string Value)>();
        await using var cluster = await ReplicatedCluster.StartAsync();
        using var webhooks = new WebhookReceiver();
        var nodes = Enumerable.Range(0, 2).Select(i => new ServiceNode(i, cluster.ServiceConnectionString() + ";Maximum Pool Size=40", reportDirectory)
        {
            Environment =
            {
                ["ConnectionStrings__ComputeBankReadOnly"] = cluster.ServiceConnectionString("prefer-standby") + ";Maximum Pool Size=10",
                ["ComputeBank__Webhooks__Subscribers__0__Name"] = "failover-test",
                ["ComputeBank__Webhooks__Subscribers__0__Url"] = webhooks.Url,
                ["ComputeBank__Webhooks__Subscribers__0__Secret"] = "failover-test-secret",
                ["ComputeBank__Webhooks__Subscribers__0__EventTypes__0"] = "CapacityDeposited",
            },
        }).ToList();
        try
        {
            await Task.WhenAll(nodes.Select(n => n.StartAsync(CancellationToken.None)));

            // Synchronous replication is in force: the primary names pg2 and pg2 streams as the synchronous standby.
            var (commit, names, state) = await cluster.ReplicationSettingsAsync();
            Assert.Equal("on", commit);
            Assert.Equal("FIRST 1 (pg2)", names);
            Assert.Equal("sync", state);

            var setUp = new BankWorkload(nodes, Accounts, seed: 1);
            await setUp.SetUpAsync(CancellationToken.None);
            var workloads = new List<BankWorkload>();

            // Throughput with the synchronous standby and without waiting for it (same clients, same nodes), in
            // alternating short rounds so that the other load on a shared machine affects both alike.
            await MeasureAsync(nodes, seed: 9, workloads); // warm-up (JIT, pools), not counted
            var rounds = new Dictionary<bool, List<double>> { [true] = [], [false] = [] };
            for (var round = 0; round < Rounds; round++)
            {
                foreach (var synchronous in new[] { true, false })
                {
                    await cluster.SetSynchronousAsync(synchronous);
                    rounds[synchronous].Add(await MeasureAsync(nodes, seed: 10 + (2 * round) + (synchronous ? 0 : 1), workloads));
                }
            }

            await cluster.SetSynchronousAsync(true);
            figures.Add(("transfers/s, synchronous standby (synchronous_commit=on, FIRST 1 (pg2))", Rates(rounds[true])));
            figures.Add(("transfers/s, no standby waited for (synchronous_standby_names='')", Rates(rounds[false])));

            // With the synchronous standby away the primary does not answer a COMMIT, so the service acknowledges nothing;
            // once it is back, the same operation id answers 2xx.
            var probe = new BankWorkload(nodes, Accounts, seed: 4);
            var waiting = new Operation("sync-probe", BankWorkload.Account(0), BankWorkload.Account(1), "0.001");
            await cluster.StopStandbyAsync();
            await probe.SendUntilAnsweredAsync(waiting, 0, maxAttempts: 1, CancellationToken.None);
            Assert.NotEqual(Outcome.Acknowledged, waiting.Outcome);
            await cluster.StartStandbyAsync();
            await cluster.SetSynchronousAsync(true);
            var retried = waiting with { };
            await probe.SendUntilAnsweredAsync(retried, 0, maxAttempts: 20, CancellationToken.None);
            Assert.Equal(Outcome.Acknowledged, retried.Outcome);
            waiting.ResolvedAs = retried.Outcome;

            // The failover, under load.
            var failover = new BankWorkload(nodes, Accounts, seed: 5);
            workloads.Add(failover);
            using var stop = new CancellationTokenSource();
            var clock = Stopwatch.StartNew();
            var samples = new ConcurrentQueue<(TimeSpan At, int Acknowledged)>();
            var sampling = SampleAsync(failover, clock, samples, stop.Token);
            var load = failover.RunAsync(Clients, stop.Token);
            await Task.Delay(TimeSpan.FromSeconds(4));

            var acknowledgedBeforeCrash = workloads.SelectMany(w => w.Operations).Where(o => o.Outcome == Outcome.Acknowledged).Select(o => o.OperationId)
                .Append(waiting.OperationId).ToList();
            var killedAt = clock.Elapsed;
            var killedAtUtc = DateTimeOffset.UtcNow;
            cluster.KillPrimary();
            await cluster.PromoteStandbyAsync();
            var promotedAt = clock.Elapsed;
            var resumedAt = await FirstAcknowledgementAfterAsync(samples, killedAt + TimeSpan.FromMilliseconds(50), clock);
            await Task.Delay(TimeSpan.FromSeconds(4));
            await stop.CancelAsync();
            await Task.WhenAll(load, sampling);
            Assert.True(resumedAt is not null, "No command was acknowledged within 30 s of the promotion.");
            var firstOnNewPrimary = await FirstEventAfterAsync(cluster.InstanceConnectionString(cluster.StandbyPort), killedAtUtc);
            figures.Add(("kill -9 to `pg_ctl promote -w` returning (promotion, then synchronous_standby_names cleared)", Seconds(promotedAt - killedAt)));
            figures.Add(("write pause, server side: kill -9 to the first event appended on the new primary", firstOnNewPrimary is { } f ? Seconds(f - killedAtUtc) : "none"));
            figures.Add(("write pause, client side: longest time without an acknowledgement after the kill", Seconds(LongestSilence(samples, killedAt))));

            // The same processes (never restarted) take writes on the new primary, each of them.
            Assert.All(nodes, n => Assert.True(n.IsRunning && n.Starts == 1, $"node {n.Index} was restarted or is down"));
            var resumed = nodes.Select(n => new Operation($"resumed-on-node{n.Index}", BankWorkload.Account(2), BankWorkload.Account(3), "0.001")).ToList();
            for (var i = 0; i < nodes.Count; i++)
            {
                await probe.SendUntilAnsweredAsync(resumed[i], i, maxAttempts: 1, CancellationToken.None);
                Assert.True(resumed[i].Outcome == Outcome.Acknowledged, $"node {i} answered {resumed[i].Status} after the failover");
            }

            // The background parts resumed on the new primary as well: a command queued durably is run by Wolverine (its
            // node's durable local queue), its webhook goes out as a Wolverine message stored with its events, and the
            // projection daemon leads again and catches up.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            using (var queued = await http.PostAsJsonAsync(new Uri(nodes[0].BaseAddress, "/api/v1/commands"), new
                   {
                       type = "deposit",
                       body = new { depositId = "failover-deposit", accountId = "bank-provider", resourceClass = "gpu.h100", region = "beijing", period = BankWorkload.Period, hours = "1" },
                   }))
            {
                Assert.Equal(System.Net.HttpStatusCode.Accepted, queued.StatusCode);
            }

            await WaitForAsync(async () => await OperationStatusAsync(http, nodes[1], "failover-deposit") == "succeeded", "the queued deposit to run after the failover");
            await WaitForAsync(() => Task.FromResult(webhooks.Received.Any(b => b.Contains("\"failover-deposit\"", StringComparison.Ordinal))),
                "the queued deposit's webhook to be delivered");
            var newPrimary = cluster.StandbyPort;
            await WaitForAsync(async () => await cluster.ScalarAsync(newPrimary, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted") != "0",
                "a node to lead the projection daemon again");
            await WaitForAsync(async () => await cluster.ScalarAsync(newPrimary,
                    "SELECT (SELECT last_sequence FROM cb.projection_progress WHERE name = 'pools') = (SELECT max(seq_id) FROM cb.events)", "ledger") == "True",
                "the pools projection to catch up on the new primary");

            var operations = workloads.SelectMany(w => w.Operations).Concat(resumed).Append(waiting).ToList();
            foreach (var lost in operations.Where(o => o.Outcome == Outcome.Lost && o.ResolvedAs is null))
            {
                var retry = lost with { };
                await probe.SendUntilAnsweredAsync(retry, 0, maxAttempts: 30, CancellationToken.None);
                lost.ResolvedAs = retry.Outcome == Outcome.Lost ? null : retry.Outcome;
            }

            // Every command acknowledged before the crash is on the promoted standby, exactly once.
            var missing = await MissingOnAsync(cluster.InstanceConnectionString(cluster.StandbyPort), acknowledgedBeforeCrash);
            Assert.True(missing.Count == 0, $"{missing.Count} of {acknowledgedBeforeCrash.Count} acknowledged commands are not on the new primary: {string.Join(", ", missing.Take(20))}");

            // The ledger from its events (double entry, exactly-once, projections) and the service's own audit.
            var checker = new LedgerChecker(cluster.InstanceConnectionString(cluster.StandbyPort));
            await checker.CheckAsync(operations, Accounts, CancellationToken.None);
            using var audit = await http.GetAsync(new Uri(nodes[1].BaseAddress, "/api/v1/audit/verify"));
            var report = await audit.Content.ReadFromJsonAsync<JsonObject>();
            figures.Add(("acknowledged before the crash, all found on the new primary", Count(acknowledgedBeforeCrash.Count)));
            figures.Add(("commands sent during the failover run", Count(failover.Operations.Count)));
            figures.Add(("answers lost during the failover, resolved by retry", Count(operations.Count(o => o.Outcome == Outcome.Lost && o.ResolvedAs is not null))));
            figures.Add(("audit verify", $"ok={report?["ok"]}, {report?["eventsChecked"]} events, {report?["streamsChecked"]} streams"));
            var path = await WriteReportAsync(reportDirectory, figures, checker);

            Assert.Equal("standby", Assert.Single(audit.Headers.GetValues("X-ComputeBank-Read-Source")));
            Assert.True((bool?)report?["ok"] == true, $"audit verify: {report}");
            Assert.True(checker.Anomalies.Count == 0, $"{checker.Anomalies.Count} anomalies; report: {path}");
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    private static async Task<string?> OperationStatusAsync(HttpClient http, ServiceNode node, string operationId)
    {
        using var response = await http.GetAsync(new Uri(node.BaseAddress, $"/api/v1/operations/{operationId}"));
        return response.IsSuccessStatusCode ? (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())?["status"] : null;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or NpgsqlException)
            {
                // Not there yet.
            }

            await Task.Delay(200);
        }

        Assert.Fail($"Waited 30 s for {what}.");
    }

    /// <summary>
    /// The standby is away longer than the write connection's command timeout: Npgsql cancels the COMMIT's wait for
    /// it, PostgreSQL keeps the commit on the primary alone and says so only with a WARNING. The service must answer
    /// 503 rather than acknowledge, also to a retry with the same operation id, until the standby has it.
    /// </summary>
    [Fact]
    public async Task StandbyAwayLongerThanTheCommandTimeout_TheCommandIsNotAcknowledged_UntilTheStandbyHasIt()
    {
        var reportDirectory = Checkout.NewReportDirectory("failover-");
        await using var cluster = await ReplicatedCluster.StartAsync();
        // A queued command's 202 promises its row on the standby. Its run meanwhile meets the away standby too (503) and
        // is retried until the standby is back.
        await using var node = new ServiceNode(0, cluster.ServiceConnectionString() + ";Command Timeout=2", reportDirectory);
        await node.StartAsync(CancellationToken.None);
        await new BankWorkload([node], accounts: 2, seed: 1).SetUpAsync(CancellationToken.None);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var transfer = new
        {
            transferId = "unconfirmed-1", fromAccountId = BankWorkload.Account(0), toAccountId = BankWorkload.Account(1),
            resourceClass = "gpu.h100", region = "beijing", period = BankWorkload.Period, hours = "1.5",
        };

        // A 202 of the durable queue is an acknowledgement as well.
        var queued = new
        {
            type = "transfer",
            body = transfer with { transferId = "unconfirmed-queued" },
        };

        await cluster.StopStandbyAsync();
        foreach (var (path, request) in new[] { ("/api/v1/transfers", (object)transfer), ("/api/v1/commands", queued) })
        {
            foreach (var attempt in new[] { "first", "retry" })
            {
                using var answer = await http.PostAsJsonAsync(new Uri(node.BaseAddress, path), request);
                var body = await answer.Content.ReadFromJsonAsync<JsonObject>();
                Assert.True(answer.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable, $"{path}, {attempt} attempt with the standby away: {(int)answer.StatusCode} {body}");
                Assert.Equal("service_unavailable", (string?)body?["code"]);
            }
        }

        await cluster.StartStandbyAsync();
        await cluster.SetSynchronousAsync(true);
        using (var confirmed = await http.PostAsJsonAsync(new Uri(node.BaseAddress, "/api/v1/transfers"), transfer))
        {
            Assert.True(confirmed.IsSuccessStatusCode, $"with the standby back: {(int)confirmed.StatusCode} {await confirmed.Content.ReadAsStringAsync()}");
        }

        using (var accepted = await http.PostAsJsonAsync(new Uri(node.BaseAddress, "/api/v1/commands"), queued))
        {
            Assert.True(accepted.StatusCode == System.Net.HttpStatusCode.Accepted, $"queued with the standby back: {(int)accepted.StatusCode} {await accepted.Content.ReadAsStringAsync()}");
        }

        Assert.Empty(await MissingOnAsync(cluster.InstanceConnectionString(cluster.StandbyPort), ["unconfirmed-1"]));
        Assert.Equal("1", await cluster.ScalarAsync(cluster.StandbyPort, "SELECT count(*) FROM cb.command_queue WHERE operation_id = 'unconfirmed-queued'", "ledger"));
    }

    /// <summary>Acknowledged transfers per second of one short run.</summary>
    private static async Task<double> MeasureAsync(IReadOnlyList<ServiceNode> nodes, int seed, List<BankWorkload> workloads)
    {
        var workload = new BankWorkload(nodes, Accounts, seed);
        workloads.Add(workload);
        using var stop = new CancellationTokenSource(MeasureFor);
        var clock = Stopwatch.StartNew();
        await workload.RunAsync(Clients, stop.Token);
        return workload.Operations.Count(o => o.Outcome == Outcome.Acknowledged) / clock.Elapsed.TotalSeconds;
    }

    private static async Task SampleAsync(BankWorkload workload, Stopwatch clock, ConcurrentQueue<(TimeSpan, int)> samples, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            samples.Enqueue((clock.Elapsed, workload.Operations.Count(o => o.Outcome == Outcome.Acknowledged)));
            await Task.Delay(20, CancellationToken.None);
        }
    }

    /// <summary>When the acknowledged count first grew after <paramref name="after"/>: with the old primary dead, that
    /// acknowledgement came from the new one.</summary>
    private static async Task<TimeSpan?> FirstAcknowledgementAfterAsync(ConcurrentQueue<(TimeSpan At, int Acknowledged)> samples, TimeSpan after, Stopwatch clock)
    {
        var deadline = clock.Elapsed + TimeSpan.FromSeconds(30);
        while (clock.Elapsed < deadline)
        {
            var snapshot = samples.ToArray();
            var baseline = snapshot.LastOrDefault(s => s.At <= after).Acknowledged;
            var first = snapshot.FirstOrDefault(s => s.At > after && s.Acknowledged > baseline);
            if (first.At > TimeSpan.Zero)
            {
                return first.At;
            }

            await Task.Delay(50);
        }

        return null;
    }

    /// <summary>The longest interval without a growth of the acknowledged count that ends after <paramref name="at"/>
    /// (answers of commits made just before the kill may still arrive for a moment after it).</summary>
    private static TimeSpan LongestSilence(ConcurrentQueue<(TimeSpan At, int Acknowledged)> samples, TimeSpan at)
    {
        var growths = samples.Zip(samples.Skip(1)).Where(p => p.Second.Acknowledged > p.First.Acknowledged).Select(p => p.Second.At).ToList();
        return growths.Zip(growths.Skip(1)).Where(g => g.Second > at).Select(g => g.Second - g.First).DefaultIfEmpty().Max();
    }

    /// <summary>Events are stamped with clock_timestamp() as they are appended: the first one after the kill was
    /// appended by the new primary.</summary>
    private static async Task<DateTimeOffset?> FirstEventAfterAsync(string connectionString, DateTimeOffset after)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT min(timestamp) FROM cb.events WHERE timestamp > $1", connection);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = after });
        return await command.ExecuteScalarAsync() is DateTime first ? new DateTimeOffset(first, TimeSpan.Zero) : null;
    }

    private static async Task<List<string>> MissingOnAsync(string connectionString, IReadOnlyList<string> operationIds)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT id FROM unnest($1::text[]) id
            LEFT JOIN (SELECT metadata->'headers'->>'operationId' AS operation, count(*) AS events FROM cb.events GROUP BY 1) c ON c.operation = id
            WHERE coalesce(c.events, 0) <> 2
            """, connection);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. operationIds] });
        var missing = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            missing.Add(reader.GetString(0));
        }

        return missing;
    }

    private async Task<string> WriteReportAsync(string directory, List<(string Name, string Value)> figures, LedgerChecker checker)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"# ComputeBank failover run, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss} UTC");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Primary + synchronous hot standby, 2 service nodes, {Clients} clients, {Accounts} accounts, {Environment.ProcessorCount} cores.");
        text.AppendLine();
        foreach (var (name, value) in figures.Concat(checker.Figures.Select(f => (f.Key, f.Value))))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- {name}: {value}");
        }

        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"## Anomalies: {checker.Anomalies.Count}");
        foreach (var anomaly in checker.Anomalies.Take(200))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- {anomaly}");
        }

        var path = Path.Combine(directory, "report.md");
        await File.WriteAllTextAsync(path, text.ToString());
        output.WriteLine(text.ToString());
        return path;
    }

    private static string Rates(List<double> rounds) =>
        FormattableString.Invariant($"{rounds.Average():N0} (rounds: {string.Join(", ", rounds.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))})");

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.00 s", CultureInfo.InvariantCulture);

    private static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
