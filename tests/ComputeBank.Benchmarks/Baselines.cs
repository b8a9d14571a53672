using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace ComputeBank.Benchmarks;

internal sealed record PgbenchResult(double Tps, double LatencyMs, long Transactions, CpuUsage? Cpu);

/// <summary>pgbench's TPC-B-like script in a database of its own: <c>pgbench -i -s 10</c>, then 16 clients on 2 threads.</summary>
internal static partial class Pgbench
{
    public static async Task<PgbenchResult> RunAsync(Databases databases, BenchOptions options)
    {
        var connection = new NpgsqlConnectionStringBuilder(await databases.CreateAsync("pgbench"));
        await RunToolAsync(connection, "-i", "-s", "10", "-q");
        var cpuAtStart = CpuSnapshot.Take();
        var output = await RunToolAsync(connection, "-c", "16", "-j", "2", "-T", ((int)Math.Ceiling(options.BaselineSeconds)).ToString(CultureInfo.InvariantCulture));
        var cpu = CpuUsage.Between(cpuAtStart, CpuSnapshot.Take());
        var tps = TpsLine().Match(output);
        var processed = ProcessedLine().Match(output);
        var latency = LatencyLine().Match(output);
        if (!tps.Success)
        {
            throw new InvalidOperationException("pgbench printed no tps line:\n" + output);
        }

        return new PgbenchResult(
            double.Parse(tps.Groups[1].Value, CultureInfo.InvariantCulture),
            latency.Success ? double.Parse(latency.Groups[1].Value, CultureInfo.InvariantCulture) : double.NaN,
            processed.Success ? long.Parse(processed.Groups[1].Value, CultureInfo.InvariantCulture) : 0,
            cpu);
    }

    private static async Task<string> RunToolAsync(NpgsqlConnectionStringBuilder connection, params string[] arguments)
    {
        var start = new ProcessStartInfo(File.Exists("/usr/bin/pgbench") ? "/usr/bin/pgbench" : "pgbench")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (flag, value) in new[] { ("-h", connection.Host), ("-p", connection.Port.ToString(CultureInfo.InvariantCulture)), ("-U", connection.Username) })
        {
            start.ArgumentList.Add(flag);
            start.ArgumentList.Add(value!);
        }

        start.ArgumentList.Add(connection.Database!);
        start.Environment["PGPASSWORD"] = connection.Password;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var text = await stdout + await stderr;
        return process.ExitCode == 0 ? text : throw new InvalidOperationException($"pgbench {string.Join(' ', arguments)} failed:\n{text}");
    }

    [GeneratedRegex(@"tps = ([0-9.]+) \(without initial connection time\)")]
    private static partial Regex TpsLine();

    [GeneratedRegex(@"number of transactions actually processed: ([0-9]+)")]
    private static partial Regex ProcessedLine();

    [GeneratedRegex(@"latency average = ([0-9.]+) ms")]
    private static partial Regex LatencyLine();
}

internal sealed record RawResult(double TransfersPerSecond, double P50Ms, double P99Ms, long Transfers, CpuUsage? Cpu);

/// <summary>
/// What PostgreSQL does for a ledger with no event store at all: 1,000 accounts; a transfer is 2 UPDATEs of balances and
/// 1 INSERT of the transfer row; 50 transfers share one NpgsqlBatch and one commit; 4 connections. Within a batch the
/// UPDATEs go in account id order, so concurrent batches never deadlock.
/// </summary>
internal static class RawTransfers
{
    private const int Accounts = 1000;
    private const int PerCommit = 50;
    private const int Connections = 4;

    public static async Task<RawResult> RunAsync(Databases databases, BenchOptions options)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(await databases.CreateAsync("raw")) { MaxPoolSize = 10, MaxAutoPrepare = 16 }.ConnectionString;
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using (var setUp = source.CreateCommand(
            """
            CREATE TABLE accounts (id integer PRIMARY KEY, balance bigint NOT NULL);
            CREATE TABLE transfers (id bigserial PRIMARY KEY, from_id integer NOT NULL, to_id integer NOT NULL, amount bigint NOT NULL,
                                    created_at timestamptz NOT NULL DEFAULT now());
            INSERT INTO accounts SELECT i, 1000000000 FROM generate_series(1, 1000) i;
            """))
        {
            await setUp.ExecuteNonQueryAsync();
        }

        await MeasureAsync(source, TimeSpan.FromSeconds(2));
        return await MeasureAsync(source, TimeSpan.FromSeconds(options.BaselineSeconds));
    }

    private static async Task<RawResult> MeasureAsync(NpgsqlDataSource source, TimeSpan duration)
    {
        var latencies = new List<double>[Connections];
        var transfers = 0L;
        var cpuAtStart = CpuSnapshot.Take();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Connections).Select(c => Task.Run(async () =>
        {
            latencies[c] = [];
            var random = new Random(c);
            await using var connection = await source.OpenConnectionAsync();
            while (clock.Elapsed < duration)
            {
                var started = clock.Elapsed;
                var batch = Enumerable.Range(0, PerCommit).Select(_ => Pair(random)).ToArray();
                await using var transaction = await connection.BeginTransactionAsync();
                await using var commands = new NpgsqlBatch(connection, transaction);
                foreach (var (account, delta) in batch.SelectMany(t => new[] { (t.From, -t.Amount), (t.To, t.Amount) }).OrderBy(u => u.Item1))
                {
                    var update = new NpgsqlBatchCommand("UPDATE accounts SET balance = balance + $2 WHERE id = $1");
                    update.Parameters.Add(new NpgsqlParameter<int> { TypedValue = account });
                    update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = delta });
                    commands.BatchCommands.Add(update);
                }

                foreach (var (from, to, amount) in batch)
                {
                    var insert = new NpgsqlBatchCommand("INSERT INTO transfers (from_id, to_id, amount) VALUES ($1, $2, $3)");
                    insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = from });
                    insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = to });
                    insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = amount });
                    commands.BatchCommands.Add(insert);
                }

                await commands.ExecuteNonQueryAsync();
                await transaction.CommitAsync();
                latencies[c].Add((clock.Elapsed - started).TotalMilliseconds);
                Interlocked.Add(ref transfers, PerCommit);
            }
        })));
        var cpu = CpuUsage.Between(cpuAtStart, CpuSnapshot.Take());
        var all = latencies.SelectMany(l => l).ToList();
        return new RawResult(transfers / clock.Elapsed.TotalSeconds, Stats.Percentile(all, 0.50), Stats.Percentile(all, 0.99), transfers, cpu);
    }

    private static (int From, int To, long Amount) Pair(Random random)
    {
        var from = random.Next(1, Accounts + 1);
        var to = random.Next(1, Accounts);
        return (from, to >= from ? to + 1 : to, 1);
    }
}

internal static class Stats
{
    public static double Percentile(IReadOnlyCollection<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}
