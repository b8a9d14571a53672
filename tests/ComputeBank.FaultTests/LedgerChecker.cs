using System.Globalization;
using System.Text;
using Npgsql;

namespace ComputeBank.FaultTests;

/// <summary>
/// Checks a run from the events alone and from the clients' logs, and writes a readable report. Every anomaly is a
/// line in <see cref="Anomalies"/>; an empty list is a clean run.
/// </summary>
public sealed class LedgerChecker(string connectionString)
{
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
            FROM cb.streams s LEFT JOIN cb.events e ON e.stream_id = s.id
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
        Figures["answers lost, resolved by retry"] = Count(operations.Count(o => o.Outcome == Outcome.Lost && o.ResolvedAs is not null));
        Figures["  of which had taken effect"] = Count(operations.Count(o => o.ResolvedAs == Outcome.Acknowledged));
        Figures["sends (incl. retries)"] = Count(operations.Sum(o => o.Attempts));
        Figures["events in the ledger"] = Count(events.Values.Sum());
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
