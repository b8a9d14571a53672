using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;

namespace ComputeBank.FaultTests;

/// <summary>
/// Checks a run from the events alone and from the clients' logs, and writes a readable report. Every anomaly is a
/// line in <see cref="Anomalies"/>; an empty list is a clean run.
/// </summary>
public sealed class LedgerChecker(string connectionString)
{
    /// <summary>SQL condition: posting <c>p</c> is in the bucket ($1 class, $2 region, $3 period).</summary>
    public const string PostingInBucket = "p->'bucket'->>'resourceClass' = $1 AND p->'bucket'->>'region' = $2 AND p->'bucket'->>'period' = $3";

    /// <summary>SQL condition: event <c>e</c> names the bucket ($1 class, $2 region, $3 period) as its own.</summary>
    public const string EventInBucket = "e.data->'bucket'->>'resourceClass' = $1 AND e.data->'bucket'->>'region' = $2 AND e.data->'bucket'->>'period' = $3";

    public List<string> Anomalies { get; } = [];

    public Dictionary<string, string> Figures { get; } = new(StringComparer.Ordinal);

    public async Task CheckAsync(IReadOnlyCollection<Operation> operations, int accounts, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);

        // Events per operation id (a transfer writes two: out and in).
        var events = new Dictionary<string, long>(StringComparer.Ordinal);
        await using (var command = new NpgsqlCommand("SELECT metadata->'headers'->>'operationId', count(*) FROM cb.events GROUP BY 1", connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                events[reader.IsDBNull(0) ? "" : reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        foreach (var operation in operations)
        {
            var written = events.GetValueOrDefault(operation.OperationId);
            var final = operation.Outcome == Outcome.Lost ? operation.ResolvedAs : operation.Outcome;
            switch (final)
            {
                case Outcome.Acknowledged when written != 2:
                    Anomalies.Add($"{operation.OperationId}: answered 2xx (or resolved so) but has {written} events, expected exactly 2");
                    break;
                case Outcome.Refused when written != 0:
                    Anomalies.Add($"{operation.OperationId}: answered {operation.Status} {operation.Code} but left {written} events");
                    break;
                case null or Outcome.Lost:
                    Anomalies.Add($"{operation.OperationId}: answer lost and never resolved by a retry ({written} events)");
                    break;
            }
        }

        // Double entry per resource class, from the events' postings.
        await Scalars(connection, """
            SELECT p->'bucket'->>'resourceClass', sum((p->>'amount')::numeric)
            FROM cb.events e, jsonb_array_elements(e.data->'postings') p GROUP BY 1 HAVING sum((p->>'amount')::numeric) <> 0
            """, (cls, sum) => Anomalies.Add($"double entry broken for {cls}: postings sum to {sum}"), cancellationToken);

        // Every projected bucket equals the fold of its account's postings; no consumer bucket below zero.
        await Scalars(connection, """
            WITH folded AS (
                SELECT p->>'accountId' AS account, p->'bucket'->>'resourceClass' AS cls, p->'bucket'->>'region' AS region,
                       p->'bucket'->>'period' AS period, sum((p->>'amount')::numeric) AS posted
                FROM cb.events e, jsonb_array_elements(e.data->'postings') p
                WHERE p->>'accountId' NOT LIKE 'bank.%' GROUP BY 1, 2, 3, 4)
            SELECT coalesce(f.account, b.account_id) || '/' || coalesce(f.period, b.period),
                   'projection ' || coalesce((b.posted / 1000.0)::text, 'missing') || ' vs fold ' || coalesce(f.posted::text, 'missing')
            FROM folded f FULL JOIN cb.account_buckets b
              ON b.account_id = f.account AND b.resource_class = f.cls AND b.region = f.region AND b.period = f.period
            WHERE coalesce(f.posted, 0) <> coalesce(b.posted / 1000.0, 0)
            """, (bucket, detail) => Anomalies.Add($"projection differs from events for {bucket}: {detail}"), cancellationToken);
        await Scalars(connection, "SELECT account_id, (posted - pending)::text FROM cb.account_buckets WHERE account_id LIKE 'bank-%' AND account_id <> 'bank-provider' AND posted - pending < 0",
            (account, available) => Anomalies.Add($"{account} has available {available} milli-hours < 0"), cancellationToken);

        // Versions of every stream contiguous from 1, and the stream row's version equal to its last event.
        await Scalars(connection, """
            SELECT s.id, s.version || ' vs ' || count(e.*) || ' events, max ' || coalesce(max(e.version), 0)
            FROM cb.mt_streams s LEFT JOIN cb.events e ON e.stream_id = s.id
            GROUP BY s.id, s.version HAVING s.version <> count(e.*) OR s.version <> coalesce(max(e.version), 0)
            """, (stream, detail) => Anomalies.Add($"stream {stream} has a version gap: {detail}"), cancellationToken);

        var total = await Single(connection, "SELECT coalesce(sum(posted), 0) FROM cb.account_buckets WHERE account_id LIKE 'bank-%' AND account_id <> 'bank-provider'", cancellationToken);
        var expected = BankWorkload.InitialHoursPerAccount * 1000 * accounts;
        if (total != expected)
        {
            Anomalies.Add($"the accounts hold {total} milli-hours in all, expected {expected}");
        }

        Figures["operations attempted"] = Count(operations.Count);
        Figures["acknowledged (2xx)"] = Count(operations.Count(o => o.Outcome == Outcome.Acknowledged));
        Figures["refused (4xx)"] = Count(operations.Count(o => o.Outcome == Outcome.Refused));
        Figures["answers lost during the load, resolved by a later send with the same id"] = Count(operations.Count(o => o.Attempts > 1 && o.Outcome != Outcome.Lost));
        Figures["  of which an earlier send had taken effect (answered as a replay)"] = Count(operations.Count(o => o.Replayed));
        Figures["answers still lost at the end, resolved by retry after healing"] = Count(operations.Count(o => o.Outcome == Outcome.Lost && o.ResolvedAs is not null));
        Figures["  of which had taken effect"] = Count(operations.Count(o => o.ResolvedAs == Outcome.Acknowledged));
        Figures["sends (incl. retries)"] = Count(operations.Sum(o => o.Attempts));
        Figures["events in the ledger"] = Count(events.Values.Sum());
    }

    /// <summary>
    /// Waits, at most <paramref name="bound"/>, until every async projection's checkpoint is the highest committed
    /// sequence (a projection left behind is an anomaly: lag that never closes), then checks the pools against the fold
    /// of every event: a page applied with an event missing would leave a difference here for good.
    /// </summary>
    public async Task CheckAsyncProjectionsAsync(TimeSpan bound, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var checkpoints = new Dictionary<string, long>(StringComparer.Ordinal);
        long head;
        while (true)
        {
            checkpoints.Clear();
            head = 0;
            await using (var connection = new NpgsqlConnection(connectionString))
            {
                await connection.OpenAsync(cancellationToken);
                await using var command = new NpgsqlCommand(
                    "SELECT h.head, p.name, p.last_sequence FROM (SELECT coalesce(max(seq_id), 0) AS head FROM cb.events) h LEFT JOIN cb.projection_progress p ON true", connection);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    head = reader.GetInt64(0);
                    if (!reader.IsDBNull(1))
                    {
                        checkpoints[reader.GetString(1)] = reader.GetInt64(2);
                    }
                }
            }

            if ((checkpoints.ContainsKey("pools") && checkpoints.Values.All(c => c == head)) || clock.Elapsed > bound)
            {
                break;
            }

            await Task.Delay(250, cancellationToken);
        }

        if (!checkpoints.ContainsKey("pools"))
        {
            Anomalies.Add($"the async projection pools has no checkpoint after {bound.TotalSeconds:F0} s (head {head})");
        }

        foreach (var (name, checkpoint) in checkpoints.Where(c => c.Value != head))
        {
            Anomalies.Add($"async projection {name} is at sequence {checkpoint}, the highest committed is {head} ({head - checkpoint} events behind) {bound.TotalSeconds:F0} s after healing");
        }

        Figures["async projections"] = string.Join(", ", checkpoints.Select(c => $"{c.Key} at {c.Value}")) +
                                       $" of head {head}, {clock.Elapsed.TotalSeconds:F1} s after healing";

        // The pools fold of the event types the workloads write (deposits, withdrawals, transfers, market sales); audit verify
        // below folds every type with the product's own code.
        await using var check = new NpgsqlConnection(connectionString);
        await check.OpenAsync(cancellationToken);
        await Scalars(check, """
            WITH folded AS (
                SELECT p->'bucket'->>'resourceClass' AS cls, p->'bucket'->>'region' AS rg, p->'bucket'->>'period' AS pd,
                       sum((p->>'amount')::numeric * 1000) AS posted
                FROM cb.events e, jsonb_array_elements(e.data->'postings') p
                WHERE e.stream_id LIKE 'account-%' AND p->>'accountId' NOT LIKE 'bank.%' GROUP BY 1, 2, 3),
            moved AS (
                SELECT e.data->'bucket'->>'resourceClass' AS cls, e.data->'bucket'->>'region' AS rg, e.data->'bucket'->>'period' AS pd,
                       sum(CASE WHEN e.type = 'V1.CapacityDeposited' THEN (e.data->>'hours')::numeric * 1000 ELSE 0 END) AS deposited,
                       sum(CASE WHEN e.type = 'V1.CreditsWithdrawn' THEN (e.data->>'hours')::numeric * 1000 ELSE 0 END) AS withdrawn,
                       sum(CASE WHEN e.type IN ('V1.CreditsTransferredOut', 'V1.MarketSaleSettled') THEN (e.data->>'hours')::numeric * 1000 ELSE 0 END) AS transferred
                FROM cb.events e WHERE e.stream_id LIKE 'account-%' AND e.data ? 'bucket' GROUP BY 1, 2, 3),
            live AS (
                SELECT * FROM cb.pool_totals WHERE generation = (SELECT live FROM cb.read_model_generations WHERE name = 'pools'))
            SELECT coalesce(cls, l.resource_class) || '/' || coalesce(rg, l.region) || '/' || coalesce(pd, l.period),
                   format('pool row posted %s deposited %s withdrawn %s transferred %s; events give %s, %s, %s, %s',
                          l.posted, l.deposited, l.withdrawn, l.transferred_between_accounts,
                          coalesce(f.posted, 0), coalesce(m.deposited, 0), coalesce(m.withdrawn, 0), coalesce(m.transferred, 0))
            FROM folded f FULL JOIN moved m USING (cls, rg, pd)
                 FULL JOIN live l ON l.resource_class = cls AND l.region = rg AND l.period = pd
            WHERE coalesce(f.posted, 0) <> coalesce(l.posted, 0) OR coalesce(m.deposited, 0) <> coalesce(l.deposited, 0)
               OR coalesce(m.withdrawn, 0) <> coalesce(l.withdrawn, 0) OR coalesce(m.transferred, 0) <> coalesce(l.transferred_between_accounts, 0)
            """, (bucket, detail) => Anomalies.Add($"async projection pools differs from the events for {bucket}: {detail}"), cancellationToken);
    }

    /// <summary>
    /// The product's own verifier, GET /api/v1/audit/verify on a node (tried on each in turn if one gives no answer):
    /// every discrepancy it reports (double entry, read models against the fold, hash chains) is an anomaly.
    /// </summary>
    public async Task VerifyThroughServiceAsync(IReadOnlyList<ServiceNode> nodes, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        foreach (var node in nodes.Concat(nodes))
        {
            JsonObject? report;
            try
            {
                using var response = await http.GetAsync(new Uri(node.BaseAddress, "/api/v1/audit/verify"), cancellationToken);
                report = response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken) : null;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                continue;
            }

            if (report is null)
            {
                continue;
            }

            var count = (long)report["discrepancyCount"]!;
            var listed = report["discrepancies"]!.AsArray();
            foreach (var discrepancy in listed)
            {
                Anomalies.Add($"audit verify: invariant {discrepancy!["invariant"]} {discrepancy["check"]}: {discrepancy["detail"]}");
            }

            if (count > listed.Count)
            {
                Anomalies.Add($"audit verify: {count - listed.Count} more discrepancies not listed");
            }

            if ((bool)report["ok"]! != (count == 0))
            {
                Anomalies.Add($"audit verify says ok={report["ok"]} with {count} discrepancies");
            }

            Figures["audit verify (GET /api/v1/audit/verify)"] =
                $"{Count((long)report["eventsChecked"]!)} events in {Count((long)report["streamsChecked"]!)} streams replayed on node {node.Index}, {Count(count)} discrepancies";
            return;
        }

        Anomalies.Add("audit verify gave no answer on any node");
    }

    public string Report(IEnumerable<string> faults, TimeSpan duration)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"# ComputeBank fault run, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, {duration.TotalSeconds:F0} s");
        text.AppendLine();
        text.AppendLine("## Figures");
        foreach (var (name, value) in Figures)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- {name}: {value}");
        }

        text.AppendLine();
        text.AppendLine("## Faults injected");
        foreach (var fault in faults)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- {fault}");
        }

        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"## Anomalies: {Anomalies.Count}");
        foreach (var anomaly in Anomalies.Take(200))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- {anomaly}");
        }

        return text.ToString();
    }

    private static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static async Task<long> Single(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    private static async Task Scalars(NpgsqlConnection connection, string sql, Action<string, string> onRow, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            onRow(reader.IsDBNull(0) ? "?" : reader.GetValue(0).ToString()!, reader.IsDBNull(1) ? "?" : reader.GetValue(1).ToString()!);
        }
    }
}
