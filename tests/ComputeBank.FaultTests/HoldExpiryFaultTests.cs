using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace ComputeBank.FaultTests;

/// <summary>
/// A hold's expiry is a Wolverine scheduled message. When the node that claimed due expiries is killed with SIGKILL
/// while running them, the expiries it held must still run, on a surviving or restarted node, and each exactly once:
/// one <c>HoldExpired</c> per hold, the held hours back in the consumer's available balance.
/// </summary>
public sealed class HoldExpiryFaultTests
{
    private const string Period = "2026-11";
    private const int HoldsPerRound = 300;

    [Fact]
    public async Task HoldsComingDue_WhenEveryNodeIsKilledWhileRunningThem_ThenEachHoldExpiresExactlyOnce()
    {
        var reportDirectory = Checkout.NewReportDirectory();
        await using var cluster = await PostgresCluster.StartAsync();
        var nodes = Enumerable.Range(0, 2).Select(i => new ServiceNode(i, cluster.ConnectionString(), reportDirectory)).ToList();
        foreach (var node in nodes)
        {
            // A killed node is taken for dead after 4 s, so the test does not wait for the production default.
            node.Environment["ComputeBank__Wolverine__StaleNodeTimeout"] = "00:00:04";
            node.Environment["ComputeBank__Wolverine__HealthCheckPollingTime"] = "00:00:01";
            node.Environment["Logging__LogLevel__Wolverine"] = "Information";
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            foreach (var node in nodes)
            {
                await node.StartAsync(CancellationToken.None);
            }

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
                var claimed = await WaitForClaimedAsync(cluster, TimeSpan.FromSeconds(20));
                nodes.ForEach(n => n.Kill());
                stranded = await ScalarAsync(cluster, $"SELECT count(*) FROM wolverine.wolverine_incoming_envelopes WHERE status = 'Incoming' AND owner_id = ANY(ARRAY[{string.Join(',', claimed)}]::int[])");
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
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    /// <summary>The node numbers that hold claimed expiries (status Incoming, owned by a node) as soon as any does.</summary>
    private static async Task<long[]> WaitForClaimedAsync(PostgresCluster cluster, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        await using var connection = new NpgsqlConnection(cluster.ConnectionString());
        await connection.OpenAsync();
        while (DateTime.UtcNow < deadline)
        {
            await using var command = new NpgsqlCommand(
                "SELECT coalesce(array_agg(DISTINCT owner_id::bigint), '{}') FROM wolverine.wolverine_incoming_envelopes WHERE status = 'Incoming' AND owner_id <> 0", connection);
            var owners = (long[])(await command.ExecuteScalarAsync())!;
            if (owners.Length > 0)
            {
                return owners;
            }

            await Task.Delay(10);
        }

        throw new TimeoutException("No node claimed the due expiries.");
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
