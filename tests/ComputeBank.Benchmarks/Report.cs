using System.Globalization;

namespace ComputeBank.Benchmarks;

/// <summary>The figures of one run and their ratios to the baselines of the same run, against issue 10's targets.</summary>
internal sealed class Report(PgbenchResult pgbench, RawResult raw, PhaseResult single, PhaseResult batch, BenchOptions options)
{
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
    }

    public void Print(TextWriter output)
    {
        output.WriteLine();
        foreach (var line in Lines())
        {
            output.WriteLine(line);
        }
    }
}
