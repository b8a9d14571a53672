using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace ComputeBank.FaultTests;

/// <summary>One answer of GET /api/v1/accounts/{id}: the stream version it says it shows and the bucket's posted milli-hours.</summary>
public sealed record AccountRead(string Account, long Version, long Posted);

/// <summary>One answer of GET /api/v1/pools/...: the sequence its totals include and the totals, in milli-hours.</summary>
public sealed record PoolRead(long AsOfSequence, long Posted, long Deposited, long TransferredBetweenAccounts);

/// <summary>
/// Readers through the service, on random nodes, while the load and the nemesis run. Separate GETs of 100 accounts are
/// not one snapshot, so their sum is no invariant while transfers move credits; what is sound instead:
/// <list type="bullet">
/// <item>the pool endpoint's totals of the bucket: once its projection has read the set-up, every answer must show the
/// initial total posted and deposited, nothing withdrawn or held (transfers between accounts conserve the pool);</item>
/// <item>each account answer on its own: nothing negative, nothing pending, available equal to posted (no holds, no limits);</item>
/// <item>per reader, monotonic reads: a read that starts after another ended sees at least what that one saw (a
/// version or checkpoint never goes back, the pool's transferred total never shrinks);</item>
/// <item>at the end, against the events: each account answer equals the fold of that account's postings up to the version
/// it names, and each pool answer equals the fold of all events up to its <c>asOfSequence</c>.</item>
/// </list>
/// A read that fails because its node is down or restarting (no answer, a timeout, a 5xx) did not happen: it is
/// counted as skipped, never as an anomaly. The loops end with the load and never send more than a fixed number of reads.
/// </summary>
public sealed class ServiceReaders(IReadOnlyList<ServiceNode> nodes, int accounts, long expectedTotal) : IDisposable
{
    private const int MaxReadsPerReader = 100_000;
    private const string Bucket = $"gpu.h100/beijing/{BankWorkload.Period}";

    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(30) }) { Timeout = TimeSpan.FromSeconds(5) };
    private readonly ConcurrentQueue<AccountRead> _accountReads = new();
    private readonly ConcurrentQueue<PoolRead> _poolReads = new();
    private long _skipped;

    public ConcurrentQueue<string> Anomalies { get; } = new();

    public int AccountReads => _accountReads.Count;

    public int PoolReads => _poolReads.Count;

    public long Skipped => Interlocked.Read(ref _skipped);

    /// <summary>Runs <paramref name="readers"/> readers until <paramref name="stop"/>; pool answers before
    /// <paramref name="setUpSequence"/> (the projection still reading the set-up) are only checked against the events.</summary>
    public Task RunAsync(int readers, long setUpSequence, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, readers).Select(r => Task.Run(() => ReaderAsync(r, setUpSequence, stop), CancellationToken.None)));

    private async Task ReaderAsync(int reader, long setUpSequence, CancellationToken stop)
    {
        var random = new Random(1000 + reader);
        var versions = new Dictionary<string, long>(StringComparer.Ordinal);
        var lastPool = new PoolRead(0, 0, 0, 0);
        for (var reads = 0; reads < MaxReadsPerReader && !stop.IsCancellationRequested; reads++)
        {
            if (reads % 10 == 0)
            {
                if (await GetAsync(random, $"/api/v1/pools/{Bucket}") is { } pool)
                {
                    lastPool = CheckPool(pool, lastPool, setUpSequence);
                }
            }
            else
            {
                var account = BankWorkload.Account(random.Next(accounts));
                if (await GetAsync(random, $"/api/v1/accounts/{account}") is { } view)
                {
                    CheckAccount(account, view, versions);
                }
            }

            await Task.Delay(20, CancellationToken.None);
        }
    }

    /// <summary>One GET on a random node; null when the node gave no usable answer (down, restarting, overloaded).</summary>
    private async Task<JsonObject?> GetAsync(Random random, string path)
    {
        var node = nodes[random.Next(nodes.Count)];
        try
        {
            using var response = await _http.GetAsync(new Uri(node.BaseAddress, path), CancellationToken.None);
            var status = (int)response.StatusCode;
            if (status >= 500 || status == 429)
            {
                Interlocked.Increment(ref _skipped);
                return null;
            }

            var body = await response.Content.ReadFromJsonAsync<JsonObject>(CancellationToken.None);
            if (status != 200 || body is null)
            {
                Anomalies.Enqueue($"GET {path} on node {node.Index} answered {status}: {body?.ToJsonString()}");
                return null;
            }

            return body;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
        {
            // No answer, a timeout, or a body cut off by a kill: the read did not happen.
            Interlocked.Increment(ref _skipped);
            return null;
        }
    }

    private PoolRead CheckPool(JsonObject body, PoolRead last, long setUpSequence)
    {
        var read = new PoolRead((long)body["asOfSequence"]!, MilliHours(body["posted"]), MilliHours(body["deposited"]), MilliHours(body["transferredBetweenAccounts"]));
        _poolReads.Enqueue(read);
        if (read.AsOfSequence < last.AsOfSequence || read.TransferredBetweenAccounts < last.TransferredBetweenAccounts)
        {
            Anomalies.Enqueue($"a pool read went back: as of {read.AsOfSequence} transferred {read.TransferredBetweenAccounts}, after a read as of {last.AsOfSequence} transferred {last.TransferredBetweenAccounts}");
        }

        if (read.AsOfSequence >= setUpSequence)
        {
            var withdrawn = MilliHours(body["withdrawn"]);
            var held = MilliHours(body["held"]);
            var available = MilliHours(body["available"]);
            if (read.Posted != expectedTotal || read.Deposited != expectedTotal || available != expectedTotal || withdrawn != 0 || held != 0)
            {
                Anomalies.Enqueue($"a pool read as of {read.AsOfSequence} is not the conserved total {expectedTotal}: {body.ToJsonString()}");
            }
        }

        return read;
    }

    private void CheckAccount(string account, JsonObject body, Dictionary<string, long> versions)
    {
        var version = (long)body["version"]!;
        var balance = body["balances"]!.AsArray().SingleOrDefault(b => $"{b!["resourceClass"]}/{b["region"]}/{b["period"]}" == Bucket);
        var posted = MilliHours(balance?["posted"]);
        _accountReads.Enqueue(new AccountRead(account, version, posted));
        if (version < versions.GetValueOrDefault(account))
        {
            Anomalies.Enqueue($"a read of {account} went back to version {version} after version {versions[account]}");
        }

        versions[account] = version;
        if (posted < 0 || MilliHours(balance?["pending"]) != 0 || MilliHours(balance?["available"]) != posted)
        {
            Anomalies.Enqueue($"a read of {account} at version {version} shows {balance?.ToJsonString()}: negative, pending, or available other than posted");
        }
    }

    /// <summary>Checks every recorded answer against the fold of the events (run after the load, when nothing writes).</summary>
    public async Task CheckAgainstEventsAsync(string connectionString, List<string> anomalies, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);

        // Per account, the bucket's posted balance after each version: index = version.
        var postedAfter = new Dictionary<string, List<long>>(StringComparer.Ordinal);
        await using (var command = new NpgsqlCommand($"""
            SELECT substr(e.stream_id, 9), e.version,
                   (coalesce((SELECT sum((p->>'amount')::numeric) FROM jsonb_array_elements(coalesce(e.data->'postings', '[]')) p
                              WHERE p->>'accountId' = substr(e.stream_id, 9) AND {LedgerChecker.PostingInBucket}), 0) * 1000)::bigint
            FROM cb.events e WHERE e.stream_id LIKE 'account-bank-%' ORDER BY e.stream_id, e.version
            """, connection))
        {
            AddBucket(command);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var account = reader.GetString(0);
                if (!postedAfter.TryGetValue(account, out var balances))
                {
                    postedAfter[account] = balances = [0];
                }

                if (reader.GetInt64(1) != balances.Count)
                {
                    anomalies.Add($"events of {account}: version {reader.GetInt64(1)} follows version {balances.Count - 1}");
                }

                balances.Add(balances[^1] + reader.GetInt64(2));
            }
        }

        foreach (var read in _accountReads)
        {
            var balances = postedAfter.GetValueOrDefault(read.Account) ?? [0];
            if (read.Version >= balances.Count)
            {
                anomalies.Add($"a read of {read.Account} showed version {read.Version}, but its stream has only {balances.Count - 1} events");
            }
            else if (balances[(int)read.Version] != read.Posted)
            {
                anomalies.Add($"a read of {read.Account} at version {read.Version} showed {read.Posted} milli-hours posted; its events give {balances[(int)read.Version]}");
            }
        }

        // The pool totals after each event of an account stream, in sequence order (the pools fold of PoolFold).
        var sequences = new List<long> { 0 };
        var totals = new List<PoolRead> { new(0, 0, 0, 0) };
        await using (var command = new NpgsqlCommand($"""
            SELECT e.seq_id,
                   (coalesce((SELECT sum((p->>'amount')::numeric) FROM jsonb_array_elements(coalesce(e.data->'postings', '[]')) p
                              WHERE p->>'accountId' NOT LIKE 'bank.%' AND {LedgerChecker.PostingInBucket}), 0) * 1000)::bigint,
                   CASE WHEN e.type = 'V1.CapacityDeposited' AND {LedgerChecker.EventInBucket} THEN ((e.data->>'hours')::numeric * 1000)::bigint ELSE 0 END,
                   CASE WHEN e.type = 'V1.CreditsTransferredOut' AND {LedgerChecker.EventInBucket} THEN ((e.data->>'hours')::numeric * 1000)::bigint ELSE 0 END
            FROM cb.events e WHERE e.stream_id LIKE 'account-%' ORDER BY e.seq_id
            """, connection))
        {
            AddBucket(command);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var last = totals[^1];
                sequences.Add(reader.GetInt64(0));
                totals.Add(new PoolRead(reader.GetInt64(0), last.Posted + reader.GetInt64(1), last.Deposited + reader.GetInt64(2), last.TransferredBetweenAccounts + reader.GetInt64(3)));
            }
        }

        foreach (var read in _poolReads)
        {
            var index = sequences.BinarySearch(read.AsOfSequence);
            var folded = totals[index >= 0 ? index : ~index - 1] with { AsOfSequence = read.AsOfSequence };
            if (folded != read)
            {
                anomalies.Add($"a pool read {read} differs from the fold of the events up to its sequence: {folded}");
            }
        }
    }

    public void Dispose() => _http.Dispose();

    private static void AddBucket(NpgsqlCommand command)
    {
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = "gpu.h100" });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = "beijing" });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = BankWorkload.Period });
    }

    /// <summary>"12.500" (or a missing balance: 0) in milli-hours.</summary>
    private static long MilliHours(JsonNode? hours) =>
        hours is null ? 0 : (long)(decimal.Parse((string)hours!, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture) * 1000);
}
