using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace ComputeBank.Benchmarks;

/// <summary>One completed request: when it completed (seconds since the run started), how long it took, how many
/// commands it carried and how many of them succeeded.</summary>
internal readonly record struct Sample(string Phase, double At, double LatencyMs, int Commands, int Succeeded);

/// <summary>Every request of the run, for the per-second chart.</summary>
internal sealed class Timeline
{
    private readonly ConcurrentQueue<Sample> _samples = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public double Now => _clock.Elapsed.TotalSeconds;

    public List<(string Phase, double From, double To)> Phases { get; } = [];

    public void Add(Sample sample) => _samples.Enqueue(sample);

    public IReadOnlyList<Sample> Samples => [.. _samples];
}

internal sealed record PhaseResult(string Name, int Clients, double CommandsPerSecond, double P50Ms, double P99Ms, long Commands, long Failed, double Seconds)
{
    /// <summary>CPU used during the phase by the API, PostgreSQL and the load generator (null off Linux).</summary>
    public CpuUsage? Cpu { get; init; }
}

/// <summary>An HttpClient load generator: unique transfer ids, random pairs of funded accounts, closed loop per client.</summary>
internal sealed class LoadGenerator(Uri baseAddress, int apiProcessId, BenchOptions options, Timeline timeline)
{
    private const string Period = "2026-11";
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = Math.Max(options.Clients, options.BatchClients) + 8,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    })
    {
        BaseAddress = baseAddress,
        Timeout = TimeSpan.FromMinutes(2),
    };

    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private string[] _accounts = [];
    private long _serial;

    /// <summary>A provider deposits capacity and funds <paramref name="accounts"/> consumer accounts through the batch endpoint.</summary>
    public async Task SetUpAsync(int accounts)
    {
        var clock = Stopwatch.StartNew();
        _accounts = [.. Enumerable.Range(0, accounts).Select(i => $"bench-{_run}-{i.ToString("D4", CultureInfo.InvariantCulture)}")];
        var provider = $"bench-{_run}-provider";
        await BatchAsync([Command("account", new JsonObject { ["accountId"] = provider, ["ownerId"] = "bench", ["kind"] = "provider" })], mustSucceed: true);
        await BatchAsync([.. _accounts.Select(a => Command("account", new JsonObject { ["accountId"] = a, ["ownerId"] = "bench", ["kind"] = "consumer" }))], mustSucceed: true);
        await BatchAsync([Command("deposit", new JsonObject
        {
            ["depositId"] = $"bench-{_run}-deposit", ["accountId"] = provider, ["resourceClass"] = "gpu.h100", ["region"] = "beijing",
            ["period"] = Period, ["hours"] = "1000000000",
        })], mustSucceed: true);
        await BatchAsync([.. _accounts.Select(a => Transfer($"bench-{_run}-fund-{a}", provider, a, "1000000"))], mustSucceed: true);
        Console.WriteLine($"set-up: {accounts} funded accounts in {clock.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>The peer's set-up: <paramref name="accounts"/> funded account streams, 1,000 per request.</summary>
    public async Task SetUpPeerAsync(int accounts)
    {
        _accounts = [.. Enumerable.Range(0, accounts).Select(i => $"peer-{_run}-{i.ToString("D4", CultureInfo.InvariantCulture)}")];
        foreach (var chunk in _accounts.Chunk(1000))
        {
            using var response = await _http.PostAsJsonAsync(new Uri("/peer/accounts", UriKind.Relative), new { accountIds = chunk, hours = 1_000_000 });
            response.EnsureSuccessStatusCode();
        }
    }

    /// <summary>Closed-loop single POST /peer/transfers (the same bodies as the API's) from <see cref="BenchOptions.Clients"/> clients.</summary>
    public async Task<PhaseResult> PeerTransfersAsync()
    {
        await RunAsync("warm-up", options.Clients, TimeSpan.FromSeconds(options.WarmupSeconds), random => SingleAsync(random, "/peer/transfers"));
        return await RunAsync("peer", options.Clients, TimeSpan.FromSeconds(options.Seconds), random => SingleAsync(random, "/peer/transfers"));
    }

    /// <summary>Closed-loop single POST /api/v1/transfers from <see cref="BenchOptions.Clients"/> clients.</summary>
    public async Task<PhaseResult> SingleTransfersAsync(string name = "single")
    {
        await RunAsync("warm-up", options.Clients, TimeSpan.FromSeconds(options.WarmupSeconds), random => SingleAsync(random));
        return await RunAsync(name, options.Clients, TimeSpan.FromSeconds(options.Seconds), random => SingleAsync(random));
    }

    /// <summary>Closed-loop POST /api/v1/commands/batch of <paramref name="batchSize"/> transfers from <see cref="BenchOptions.BatchClients"/> clients.</summary>
    public async Task<PhaseResult> BatchTransfersAsync(int batchSize, string name = "batch")
    {
        Func<Random, Task<(int, int)>> send = random => BatchAsync([.. Enumerable.Range(0, batchSize).Select(_ => RandomTransfer(random))], mustSucceed: false);
        await RunAsync("warm-up", options.BatchClients, TimeSpan.FromSeconds(options.WarmupSeconds), send);
        return await RunAsync(name, options.BatchClients, TimeSpan.FromSeconds(options.Seconds), send);
    }

    /// <summary>Closed-loop POST /api/v1/commands of single transfers (queued, answered 202) from
    /// <see cref="BenchOptions.Clients"/> clients, then the wait until <paramref name="pending"/> (queued commands not
    /// finished) is 0. Returns the submissions and the commands finished per second from the first submission to the
    /// last finish.</summary>
    public async Task<(PhaseResult Submitted, double FinishedPerSecond)> QueuedTransfersAsync(Func<Task<long>> pending, string name = "async")
    {
        await RunAsync("warm-up", options.Clients, TimeSpan.FromSeconds(options.WarmupSeconds), QueueAsync);
        await DrainedAsync(pending);
        var clock = Stopwatch.StartNew();
        var submitted = await RunAsync(name, options.Clients, TimeSpan.FromSeconds(options.Seconds), QueueAsync);
        await DrainedAsync(pending);
        return (submitted, submitted.Commands / clock.Elapsed.TotalSeconds);
    }

    /// <summary>Places <paramref name="holds"/> one-millihour holds on the funded accounts, all expiring at the same
    /// instant a little later, and returns how long after that instant the last of them had expired
    /// (<paramref name="expired"/> counts the expiries).</summary>
    public async Task<TimeSpan> HoldsExpiringTogetherAsync(int holds, Func<Task<long>> expired)
    {
        var placing = Stopwatch.StartNew();
        var due = DateTimeOffset.UtcNow.AddSeconds(10 + (holds / 500));
        var provider = $"bench-{_run}-provider";
        foreach (var chunk in Enumerable.Range(0, holds).Chunk(1000))
        {
            await BatchAsync([.. chunk.Select(i => Command("hold", new JsonObject
            {
                ["holdId"] = $"bench-{_run}-h{i.ToString(CultureInfo.InvariantCulture)}", ["accountId"] = _accounts[i % _accounts.Length],
                ["beneficiaryAccountId"] = provider, ["resourceClass"] = "gpu.h100", ["region"] = "beijing", ["period"] = Period, ["hours"] = "0.001",
                ["expiresAt"] = due.ToString("O", CultureInfo.InvariantCulture),
            }))], mustSucceed: true);
        }

        if (DateTimeOffset.UtcNow >= due)
        {
            throw new InvalidOperationException($"Placing {holds} holds took {placing.Elapsed.TotalSeconds:0.0} s, past their expiry: use fewer.");
        }

        await Task.Delay(due - DateTimeOffset.UtcNow);
        var deadline = Stopwatch.StartNew();
        while (await expired() < holds)
        {
            if (deadline.Elapsed > TimeSpan.FromMinutes(10))
            {
                throw new TimeoutException("The holds did not all expire within 10 minutes.");
            }

            await Task.Delay(50);
        }

        return DateTimeOffset.UtcNow - due;
    }

    private static async Task DrainedAsync(Func<Task<long>> pending)
    {
        var deadline = Stopwatch.StartNew();
        while (await pending() > 0)
        {
            if (deadline.Elapsed > TimeSpan.FromMinutes(10))
            {
                throw new TimeoutException("Queued commands did not finish within 10 minutes.");
            }

            await Task.Delay(20);
        }
    }

    private async Task<(int, int)> QueueAsync(Random random)
    {
        using var response = await _http.PostAsJsonAsync(new Uri("/api/v1/commands", UriKind.Relative), RandomTransfer(random));
        await response.Content.LoadIntoBufferAsync();
        return (1, response.StatusCode == HttpStatusCode.Accepted ? 1 : 0);
    }

    private async Task<PhaseResult> RunAsync(string phase, int clients, TimeSpan duration, Func<Random, Task<(int Commands, int Succeeded)>> send)
    {
        var from = timeline.Now;
        var latencies = new ConcurrentBag<double>();
        long commands = 0, failed = 0;
        var cpuAtStart = CpuSnapshot.Take(apiProcessId);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            var random = new Random(HashCode.Combine(phase, c));
            while (clock.Elapsed < duration)
            {
                var started = clock.Elapsed;
                var (sent, succeeded) = await send(random);
                var latency = (clock.Elapsed - started).TotalMilliseconds;
                latencies.Add(latency);
                Interlocked.Add(ref commands, succeeded);
                Interlocked.Add(ref failed, sent - succeeded);
                if (phase != "warm-up")
                {
                    timeline.Add(new Sample(phase, timeline.Now, latency, sent, succeeded));
                }
            }
        })));
        var seconds = clock.Elapsed.TotalSeconds;
        var cpu = CpuUsage.Between(cpuAtStart, CpuSnapshot.Take(apiProcessId));
        if (phase != "warm-up")
        {
            timeline.Phases.Add((phase, from, timeline.Now));
        }

        var all = latencies.ToArray();
        return new PhaseResult(phase, clients, commands / seconds, Stats.Percentile(all, 0.5), Stats.Percentile(all, 0.99), commands, failed, seconds) { Cpu = cpu };
    }

    private async Task<(int, int)> SingleAsync(Random random, string path = "/api/v1/transfers")
    {
        var body = RandomTransfer(random)["body"]!;
        using var response = await _http.PostAsJsonAsync(new Uri(path, UriKind.Relative), body);
        await response.Content.LoadIntoBufferAsync();
        return (1, response.StatusCode == HttpStatusCode.Created ? 1 : 0);
    }

    private async Task<(int Commands, int Succeeded)> BatchAsync(JsonObject[] commands, bool mustSucceed)
    {
        using var response = await _http.PostAsJsonAsync(new Uri("/api/v1/commands/batch", UriKind.Relative), new JsonObject { ["commands"] = new JsonArray(commands) });
        var text = await response.Content.ReadAsStringAsync();
        var succeeded = response.StatusCode == HttpStatusCode.OK ? (int?)JsonNode.Parse(text)?["succeeded"] ?? 0 : 0;
        if (mustSucceed && succeeded != commands.Length)
        {
            throw new InvalidOperationException($"Set-up batch failed ({(int)response.StatusCode}): {text[..Math.Min(text.Length, 2000)]}");
        }

        return (commands.Length, succeeded);
    }

    private JsonObject RandomTransfer(Random random)
    {
        var from = random.Next(_accounts.Length);
        var to = random.Next(_accounts.Length - 1);
        return Transfer($"bench-{_run}-t{Interlocked.Increment(ref _serial).ToString(CultureInfo.InvariantCulture)}", _accounts[from], _accounts[to >= from ? to + 1 : to], "0.001");
    }

    private static JsonObject Transfer(string transferId, string from, string to, string hours) => Command("transfer", new JsonObject
    {
        ["transferId"] = transferId, ["fromAccountId"] = from, ["toAccountId"] = to, ["resourceClass"] = "gpu.h100", ["region"] = "beijing",
        ["period"] = Period, ["hours"] = hours,
    });

    private static JsonObject Command(string type, JsonObject body) => new() { ["type"] = type, ["body"] = body };
}
