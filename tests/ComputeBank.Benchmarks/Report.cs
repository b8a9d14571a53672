using System.Globalization;

namespace ComputeBank.Benchmarks;

/// <summary>The figures of one run and their ratios to the baselines of the same run, against issue 10's targets.</summary>
/// <remarks>Issue 19's comparisons, where measured: this build against an older one (<c>--old-api</c>, single and batch at
/// least 0.9x) and against the peer (single at least 3x the Critter Stack transfer).</remarks>
internal sealed class Report(PgbenchResult pgbench, RawResult raw, PhaseResult single, PhaseResult batch, BenchOptions options)
{
    public PhaseResult? OldSingle { get; init; }

    public PhaseResult? OldBatch { get; init; }

    public PhaseResult? Peer { get; init; }

    public PgbenchResult Pgbench => pgbench;

    public RawResult Raw => raw;

    public PhaseResult Single => single;

    public PhaseResult Batch => batch;

    public string Bus => options.BusDescription;

    public double SingleRatio => single.CommandsPerSecond / pgbench.Tps;

    public double BatchRatio => batch.CommandsPerSecond / raw.TransfersPerSecond;

    public bool SingleMet => SingleRatio >= 2 && single.P99Ms < 50;

    public bool BatchMet => BatchRatio >= 0.5 && batch.CommandsPerSecond >= 20_000;

    public IEnumerable<string> Lines()
    {
        yield return string.Create(CultureInfo.InvariantCulture, $"{"phase",-34} {"clients",7} {"commands/s",11} {"p50 ms",8} {"p99 ms",8} {"failed",7}  ratio to baseline");
        yield return string.Create(CultureInfo.InvariantCulture,
            $"{"single POST /transfers",-34} {single.Clients,7} {single.CommandsPerSecond,11:N0} {single.P50Ms,8:0.0} {single.P99Ms,8:0.0} {single.Failed,7}  {SingleRatio:0.00}x pgbench tps (target >= 2x, p99 < 50 ms): {(SingleMet ? "met" : "NOT met")}");
        yield return string.Create(CultureInfo.InvariantCulture,
            $"{"batch endpoint, 1,000 transfers",-34} {batch.Clients,7} {batch.CommandsPerSecond,11:N0} {batch.P50Ms,8:0.0} {batch.P99Ms,8:0.0} {batch.Failed,7}  {BatchRatio:0.00}x raw 50/commit (target >= 0.5x and >= 20,000/s): {(BatchMet ? "met" : "NOT met")}");

        if (OldSingle is { } oldSingle)
        {
            var ratio = single.CommandsPerSecond / oldSingle.CommandsPerSecond;
            yield return Row("old build: single POST /transfers", oldSingle,
                $"this build {ratio:0.00}x the old (target >= 0.9x): {(ratio >= 0.9 ? "met" : "NOT met")}");
        }

        if (OldBatch is { } oldBatch)
        {
            var ratio = batch.CommandsPerSecond / oldBatch.CommandsPerSecond;
            yield return Row("old build: batch, 1,000 transfers", oldBatch,
                $"this build {ratio:0.00}x the old (target >= 0.9x): {(ratio >= 0.9 ? "met" : "NOT met")}");
        }

        if (Peer is { } peer)
        {
            var ratio = single.CommandsPerSecond / peer.CommandsPerSecond;
            yield return Row("peer: Critter Stack POST /transfers", peer,
                $"{peer.CommandsPerSecond / pgbench.Tps:0.00}x pgbench; this build's single {ratio:0.00}x the peer (target >= 3x): {(ratio >= 3 ? "met" : "NOT met")}");
        }

        // Where the CPU goes per unit of work, and what a target leaves per command: on a machine this small every
        // part (API, PostgreSQL, load generator) shares the same cores, so the cost per command bounds the rate.
        var cpuLines = new[]
        {
            CpuReport.Line("pgbench TPC-B", "transaction", pgbench.Transactions, pgbench.Cpu, null, null, "pgbench"),
            CpuReport.Line("raw 50/commit", "transfer", raw.Transfers, raw.Cpu, null, "client"),
            CpuReport.Line("single", "command", single.Commands, single.Cpu, "API", "load generator"),
            CpuReport.Line("batch", "command", batch.Commands, batch.Cpu, "API", "load generator"),
            Peer is { } measured ? CpuReport.Line("peer", "command", measured.Commands, measured.Cpu, "peer", "load generator") : null,
        }.OfType<string>().ToList();
        if (cpuLines.Count > 0)
        {
            yield return "";
            foreach (var line in cpuLines)
            {
                yield return line;
            }

            yield return CpuReport.Budget("single command", 2 * pgbench.Tps);
            yield return CpuReport.Budget("batched transfer", Math.Max(0.5 * raw.TransfersPerSecond, 20_000));
        }
    }

    private static string Row(string name, PhaseResult result, string comparison) => string.Create(CultureInfo.InvariantCulture,
        $"{name,-34} {result.Clients,7} {result.CommandsPerSecond,11:N0} {result.P50Ms,8:0.0} {result.P99Ms,8:0.0} {result.Failed,7}  {comparison}");

    public void Print(TextWriter output)
    {
        output.WriteLine();
        foreach (var line in Lines())
        {
            output.WriteLine(line);
        }
    }
}
