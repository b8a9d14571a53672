using System.Globalization;

namespace ComputeBank.Benchmarks;

/// <summary>The figures of one run and their ratios to the baselines of the same run, against issue 10's targets.</summary>
/// <remarks>Issue 19's comparisons, where measured: this build against an older one (<c>--old-api</c>, single and batch at
/// least 0.9x) and against the peer (single at least 3x the Critter Stack transfer). With several rounds (<c>--rounds</c>)
/// each phase is the rounds combined: commands over seconds, p50 the mean of the rounds', p99 the worst round's; the
/// comparisons give the ratio of the combined rates and each round's.</remarks>
internal sealed class Report(PgbenchResult pgbench, RawResult raw, IReadOnlyList<PhaseResult> singles, IReadOnlyList<PhaseResult> batches, BenchOptions options)
{
    private readonly PhaseResult single = Combine(singles);
    private readonly PhaseResult batch = Combine(batches);

    public IReadOnlyList<PhaseResult> OldSingles { get; init; } = [];

    public IReadOnlyList<PhaseResult> OldBatches { get; init; } = [];

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

        if (OldSingles.Count > 0)
        {
            yield return AgainstOld("old build: single POST /transfers", singles, OldSingles);
        }

        if (OldBatches.Count > 0)
        {
            yield return AgainstOld("old build: batch, 1,000 transfers", batches, OldBatches);
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

    private static string AgainstOld(string name, IReadOnlyList<PhaseResult> ours, IReadOnlyList<PhaseResult> old)
    {
        var ratio = Combine(ours).CommandsPerSecond / Combine(old).CommandsPerSecond;
        var rounds = old.Count < 2 ? "" : string.Create(CultureInfo.InvariantCulture,
            $" (rounds: {string.Join(", ", ours.Zip(old).Select(p => (p.First.CommandsPerSecond / p.Second.CommandsPerSecond).ToString("0.00", CultureInfo.InvariantCulture) + "x"))})");
        return Row(name, Combine(old), string.Create(CultureInfo.InvariantCulture,
            $"this build {ratio:0.00}x the old{rounds} (target >= 0.9x): {(ratio >= 0.9 ? "met" : "NOT met")}"));
    }

    /// <summary>Rounds of one phase as one: commands over seconds, the mean p50, the worst p99, the CPU of all rounds.</summary>
    private static PhaseResult Combine(IReadOnlyList<PhaseResult> rounds) => rounds.Count == 1 ? rounds[0] : new PhaseResult(
        rounds[0].Name, rounds[0].Clients, rounds.Sum(r => r.Commands) / rounds.Sum(r => r.Seconds), rounds.Average(r => r.P50Ms),
        rounds.Max(r => r.P99Ms), rounds.Sum(r => r.Commands), rounds.Sum(r => r.Failed), rounds.Sum(r => r.Seconds))
    {
        Cpu = rounds.Any(r => r.Cpu is null) ? null : rounds.Skip(1).Aggregate(rounds[0].Cpu!, (sum, r) => sum.Plus(r.Cpu!)),
    };

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
