using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace ComputeBank.FaultTests;

/// <summary>
/// Wolverine messages of the service under SIGKILL. A hold's expiry is a scheduled message, a command submitted with
/// <c>Prefer: respond-async</c> a message on the durable local queue. When the nodes holding such messages are killed
/// while running them, the messages must still run, on a restarted node, and each exactly once: one <c>HoldExpired</c>
/// per hold (the held hours back), one deposit per queued operation. A webhook delivery, stored with the events it
/// announces, must reach its subscriber at least once.
/// </summary>
public sealed class WolverineMessageFaultTests
{
    private const string Period = "2026-11";
    private const int HoldsPerRound = 300;

    private const string HoldExpiryMessage = "HoldExpiryDue";
    private const string QueuedCommandMessage = "QueuedCommand";
    private const string WebhookMessage = "webhook-delivery";

    /// <summary>Runs <paramref name="test"/> against two started nodes on a fresh cluster, and disposes of them.</summary>
    private static async Task WithTwoNodesAsync(
        Func<PostgresCluster, List<ServiceNode>, HttpClient, Task> test, IReadOnlyDictionary<string, string>? environment = null)
    {
        await using var cluster = await PostgresCluster.StartAsync();
        var nodes = Nodes(cluster, Checkout.NewReportDirectory());
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            nodes.ForEach(n => n.Environment[key] = value);
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            foreach (var node in nodes)
            {
                await node.StartAsync(CancellationToken.None);
            }

            await test(cluster, nodes, http);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    private static List<ServiceNode> Nodes(PostgresCluster cluster, string reportDirectory)
    {
        var nodes = Enumerable.Range(0, 2).Select(i => new ServiceNode(i, cluster.ConnectionString(), reportDirectory)).ToList();
        foreach (var node in nodes)
        {
            // A killed node is taken for dead after 4 s, so the test does not wait for the production default.
            node.Environment["ComputeBank__Wolverine__StaleNodeTimeout"] = "00:00:04";
            node.Environment["ComputeBank__Wolverine__HealthCheckPollingTime"] = "00:00:01";
            node.Environment["Logging__LogLevel__Wolverine"] = "Information";
        }

        return nodes;
    }

    [Fact]
    public Task CommandsQueuedAsync_WhenEveryNodeIsKilledWhileRunningThem_ThenEachRunsExactlyOnce() => WithTwoNodesAsync(async (cluster, nodes, http) =>
    {
        await BatchAsync(http, nodes[0], [Command("account", new { accountId = "qx-provider", ownerId = "provider", kind = "provider" })]);

        var operations = new List<string>();
        var stranded = await KillWhileClaimedAsync(cluster, nodes, QueuedCommandMessage, (round, tolerateKills) =>
        {
            var submitted = Enumerable.Range(0, 600).Select(i => $"qx-{round}-{i}").ToList();
            if (tolerateKills)
            {
                operations.AddRange(submitted);
            }

            return SubmitAsync(http, nodes, submitted, tolerateKills);
        });

        Assert.True(stranded > 0, "No kill caught a queued command owned by the killed node; the test did not exercise recovery.");
        var inList = $"ARRAY['{string.Join("','", operations)}']";
        var deadline = DateTime.UtcNow.AddSeconds(90);
        long succeeded;
        while ((succeeded = await ScalarAsync(cluster, $"SELECT count(*) FROM cb.command_queue WHERE status = 'succeeded' AND operation_id = ANY({inList})")) < operations.Count
               && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
        }

        Assert.Equal(operations.Count, succeeded);
        Assert.Equal(operations.Count, await ScalarAsync(cluster, $"SELECT count(*) FROM cb.events WHERE metadata->'headers'->>'operationId' = ANY({inList})"));
        Assert.Equal(operations.Count, await ScalarAsync(cluster, $"SELECT count(*) FROM cb.operations WHERE operation_id = ANY({inList}) AND status = 201"));
        Assert.Equal(0L, await ScalarAsync(cluster, "SELECT count(*) FROM cb.dead_letters"));
        var account = await http.GetFromJsonAsync<JsonObject>(new Uri(nodes[0].BaseAddress, "/api/v1/accounts/qx-provider/balances"));
        Assert.Equal($"{operations.Count}.000", (string?)account!["balances"]!.AsArray().Single()!["posted"]);
    });

    [Fact]
    public async Task WebhooksPending_WhenEveryNodeIsKilledWhileDeliveringThem_ThenEveryEventStillReachesTheSubscriber()
    {
        // A slow subscriber (one delivery at a time, 5 ms each), so deliveries queue up on the nodes that own them.
        using var receiver = new WebhookReceiver(TimeSpan.FromMilliseconds(5));
        await WithTwoNodesAsync(async (cluster, nodes, http) =>
        {
            await BatchAsync(http, nodes[0], [Command("account", new { accountId = "wx-provider", ownerId = "provider", kind = "provider" })]);

            var stranded = await KillWhileClaimedAsync(cluster, nodes, WebhookMessage, (round, tolerateKills) =>
                DepositAsync(http, nodes, [.. Enumerable.Range(0, 600).Select(i => $"wx-{round}-{i}")], tolerateKills));

            Assert.True(stranded > 0, "No kill caught a webhook delivery owned by the killed node; the test did not exercise recovery.");
            var expected = await ScalarAsync(cluster, "SELECT count(*) FROM cb.events WHERE stream_id = 'account-wx-provider' AND type = 'V1.CapacityDeposited'");
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (receiver.EventIds.Where(id => id.StartsWith("account-wx-provider/", StringComparison.Ordinal)).Distinct().Count() < expected
                   && DateTime.UtcNow < deadline)
            {
                await Task.Delay(500);
            }

            // At least once: every deposit's event arrived (some twice, when a node died between sending and marking it
            // handled), and nothing is left pending or parked.
            Assert.Equal(expected, receiver.EventIds.Where(id => id.StartsWith("account-wx-provider/", StringComparison.Ordinal)).Distinct().Count());
            Assert.Equal(0L, await ScalarAsync(cluster,
                $"SELECT count(*) FROM wolverine.wolverine_incoming_envelopes WHERE message_type LIKE '%{WebhookMessage}' AND status <> 'Handled'"));
            Assert.Equal(0L, await ScalarAsync(cluster, $"SELECT count(*) FROM wolverine.wolverine_dead_letters WHERE message_type LIKE '%{WebhookMessage}'"));
        }, new Dictionary<string, string>
        {
            ["ComputeBank__Webhooks__Subscribers__0__Name"] = "fault-receiver",
            ["ComputeBank__Webhooks__Subscribers__0__Url"] = receiver.Url,
            ["ComputeBank__Webhooks__Subscribers__0__Secret"] = "fault-test-secret",
            ["ComputeBank__Webhooks__Subscribers__0__EventTypes__0"] = "CapacityDeposited",
        });
    }

    /// <summary>
    /// Rounds of <paramref name="load"/> until a SIGKILL of every node caught messages of <paramref name="messageType"/>
    /// that a node had claimed and not yet run: each round sends <c>load(round, tolerateKills: true)</c>, kills both
    /// nodes as soon as one has claimed such messages, restarts them, and sends the round again
    /// (<c>load(round, false)</c>) as a client whose requests the kill cut off would, with the same ids. At most five
    /// rounds; returns how many claimed messages the kill caught.
    /// </summary>
    private static async Task<long> KillWhileClaimedAsync(PostgresCluster cluster, List<ServiceNode> nodes, string messageType, Func<int, bool, Task> load)
    {
        var stranded = 0L;
        for (var round = 0; round < 5 && stranded == 0; round++)
        {
            var loading = load(round, true);
            var claimed = await WaitForClaimedAsync(cluster, messageType, TimeSpan.FromSeconds(20));
            nodes.ForEach(n => n.Kill());
            await loading;
            stranded = await StrandedAsync(cluster, messageType, claimed);
            foreach (var node in nodes)
            {
                await node.StartAsync(CancellationToken.None);
            }

            await load(round, false);
        }

        return stranded;
    }

    /// <summary>Sends one-hour deposits synchronously in batches of 100, alternating nodes; each must succeed unless
    /// <paramref name="tolerateKills"/> (the nodes may die under it).</summary>
    private static async Task DepositAsync(HttpClient http, List<ServiceNode> nodes, IReadOnlyList<string> depositIds, bool tolerateKills)
    {
        var chunks = depositIds.Chunk(100).ToList();
        await Parallel.ForEachAsync(Enumerable.Range(0, chunks.Count), async (c, _) =>
        {
            try
            {
                using var response = await http.PostAsJsonAsync(new Uri(nodes[c % nodes.Count].BaseAddress, "/api/v1/commands/batch"), new
                {
                    commands = chunks[c].Select(id => Command("deposit", new
                    {
                        depositId = id, accountId = "wx-provider", resourceClass = "gpu.h100", region = "beijing", period = Period, hours = "1",
                    })).ToArray(),
                }, CancellationToken.None);
                var body = await response.Content.ReadFromJsonAsync<JsonObject>(CancellationToken.None);
                if (!tolerateKills && (response.StatusCode != System.Net.HttpStatusCode.OK || (int?)body?["succeeded"] != chunks[c].Length))
                {
                    throw new InvalidOperationException($"Deposits answered {(int)response.StatusCode}: {body}");
                }
            }
            catch (HttpRequestException) when (tolerateKills)
            {
                // The node died under the request.
            }
        });
    }

    /// <summary>Submits one-hour deposits with <c>Prefer: respond-async</c> in batches of 100, alternating nodes; each
    /// must be answered 202 unless <paramref name="tolerateKills"/> (the nodes may die under it).</summary>
    private static async Task SubmitAsync(HttpClient http, List<ServiceNode> nodes, IReadOnlyList<string> operationIds, bool tolerateKills)
    {
        var chunks = operationIds.Chunk(100).ToList();
        await Parallel.ForEachAsync(Enumerable.Range(0, chunks.Count), async (c, _) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(nodes[c % nodes.Count].BaseAddress, "/api/v1/commands/batch"))
            {
                Content = JsonContent.Create(new
                {
                    commands = chunks[c].Select(id => Command("deposit", new
                    {
                        depositId = id, accountId = "qx-provider", resourceClass = "gpu.h100", region = "beijing", period = Period, hours = "1",
                    })).ToArray(),
                }),
            };
            request.Headers.Add("Prefer", "respond-async");
            try
            {
                using var response = await http.SendAsync(request, CancellationToken.None);
                var body = await response.Content.ReadFromJsonAsync<JsonObject>(CancellationToken.None);
                var statuses = body?["results"]?.AsArray().Select(r => (int?)r!["status"]).ToList() ?? [];
                if (!tolerateKills && (response.StatusCode != System.Net.HttpStatusCode.Accepted || statuses.Count != chunks[c].Length || statuses.Any(s => s != 202)))
                {
                    throw new InvalidOperationException($"Submission answered {(int)response.StatusCode}: {body}");
                }
            }
            catch (HttpRequestException) when (tolerateKills)
            {
                // The node died under the request.
            }
        });
    }

    [Fact]
    public Task HoldsComingDue_WhenEveryNodeIsKilledWhileRunningThem_ThenEachHoldExpiresExactlyOnce() => WithTwoNodesAsync(async (cluster, nodes, http) =>
    {
        await BatchAsync(http, nodes[0], [
            Command("account", new { accountId = "hx-provider", ownerId = "provider", kind = "provider" }),
            Command("account", new { accountId = "hx-consumer", ownerId = "consumer", kind = "consumer" }),
            Command("deposit", new { depositId = "hx-deposit", accountId = "hx-provider", resourceClass = "gpu.h100", region = "beijing", period = Period, hours = "100000" }),
            Command("transfer", new { transferId = "hx-fund", fromAccountId = "hx-provider", toAccountId = "hx-consumer", resourceClass = "gpu.h100", region = "beijing", period = Period, hours = "100000" }),
        ]);

        // Rounds until a kill caught expiries claimed and not yet run (they are quick, so it may take more than one).
        var holds = new List<string>();
        var stranded = 0L;
        for (var round = 0; round < 5 && stranded == 0; round++)
        {
            var dueAt = DateTimeOffset.UtcNow.AddSeconds(4);
            var placed = Enumerable.Range(0, HoldsPerRound).Select(i => $"hx-{round}-{i}").ToList();
            foreach (var chunk in placed.Chunk(100))
            {
                await BatchAsync(http, nodes[round % 2], [.. chunk.Select(id => Command("hold", new
                {
                    holdId = id, accountId = "hx-consumer", beneficiaryAccountId = "hx-provider", resourceClass = "gpu.h100", region = "beijing",
                    period = Period, hours = "1", expiresAt = dueAt.ToString("O", CultureInfo.InvariantCulture),
                }))]);
            }

            holds.AddRange(placed);
            var claimed = await WaitForClaimedAsync(cluster, HoldExpiryMessage, TimeSpan.FromSeconds(20));
            nodes.ForEach(n => n.Kill());
            stranded = await StrandedAsync(cluster, HoldExpiryMessage, claimed);
            foreach (var node in nodes)
            {
                await node.StartAsync(CancellationToken.None);
            }
        }

        Assert.True(stranded > 0, "No kill caught an expiry claimed by the killed node; the test did not exercise recovery.");
        var deadline = DateTime.UtcNow.AddSeconds(90);
        long expired;
        while ((expired = await ScalarAsync(cluster, "SELECT count(DISTINCT stream_id) FROM cb.events WHERE type = 'V1.HoldExpired' AND stream_id LIKE 'hold-hx-%'")) < holds.Count
               && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
        }

        Assert.Equal(holds.Count, expired);
        Assert.Equal(holds.Count, await ScalarAsync(cluster, "SELECT count(*) FROM cb.events WHERE type = 'V1.HoldExpired' AND stream_id LIKE 'hold-hx-%'"));
        Assert.Equal(holds.Count, await ScalarAsync(cluster, "SELECT count(*) FROM cb.operations WHERE operation_id LIKE 'expire:hx-%'"));
        var account = await http.GetFromJsonAsync<JsonObject>(new Uri(nodes[0].BaseAddress, "/api/v1/accounts/hx-consumer/balances"));
        var bucket = account!["balances"]!.AsArray().Single()!;
        Assert.Equal(("100000.000", "0.000", "100000.000"), ((string?)bucket["posted"], (string?)bucket["pending"], (string?)bucket["available"]));
        Assert.Equal(0L, await ScalarAsync(cluster, "SELECT count(*) FROM wolverine.wolverine_dead_letters"));
    });

    /// <summary>Messages of <paramref name="messageType"/> still owned by the (killed) nodes <paramref name="claimed"/>.</summary>
    private static Task<long> StrandedAsync(PostgresCluster cluster, string messageType, long[] claimed) =>
        ScalarAsync(cluster,
            "SELECT count(*) FROM wolverine.wolverine_incoming_envelopes WHERE status = 'Incoming' " +
            $"AND message_type LIKE '%{messageType}' AND owner_id = ANY(ARRAY[{string.Join(',', claimed)}]::int[])");

    /// <summary>The node numbers that hold claimed messages of <paramref name="messageType"/> (status Incoming, owned by
    /// a node) as soon as any does.</summary>
    private static async Task<long[]> WaitForClaimedAsync(PostgresCluster cluster, string messageType, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        await using var connection = new NpgsqlConnection(cluster.ConnectionString());
        await connection.OpenAsync();
        while (DateTime.UtcNow < deadline)
        {
            await using var command = new NpgsqlCommand(
                "SELECT coalesce(array_agg(DISTINCT owner_id::bigint), '{}') FROM wolverine.wolverine_incoming_envelopes " +
                $"WHERE status = 'Incoming' AND owner_id <> 0 AND message_type LIKE '%{messageType}'", connection);
            var owners = (long[])(await command.ExecuteScalarAsync())!;
            if (owners.Length > 0)
            {
                return owners;
            }

            await Task.Delay(10);
        }

        throw new TimeoutException($"No node claimed {messageType} messages.");
    }

    private static async Task<long> ScalarAsync(PostgresCluster cluster, string sql)
    {
        await using var connection = new NpgsqlConnection(cluster.ConnectionString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    private static Task BatchAsync(HttpClient http, ServiceNode node, object[] commands) =>
        BankWorkload.SetUpBatchAsync(http, node, commands, CancellationToken.None);

    private static object Command(string type, object body) => BankWorkload.Command(type, body);
}
