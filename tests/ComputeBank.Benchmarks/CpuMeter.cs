using System.Diagnostics;
using System.Globalization;

namespace ComputeBank.Benchmarks;

/// <summary>
/// CPU seconds used by each part of a measurement, read from Linux's /proc (in USER_HZ ticks, 100 per second): the API
/// process, the PostgreSQL server (every live process named <c>postgres</c>, plus what the postmaster has collected from
/// backends that exited meanwhile), this process (the load generator or the raw loop), its child processes that
/// exited (pgbench), and the machine as a whole. Elsewhere <see cref="Available"/> is false and nothing is measured.
/// </summary>
internal sealed record CpuSnapshot(long Timestamp, double Api, double? Postgres, double Self, double Children, double MachineBusy)
{
    private const double TicksPerSecond = 100;

    public static bool Available { get; } = OperatingSystem.IsLinux() && File.Exists("/proc/stat") && File.Exists("/proc/self/stat");

    public static CpuSnapshot? Take(int? apiProcessId = null)
    {
        if (!Available)
        {
            return null;
        }

        double? postgres = null;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out _)
                || ReadStat(Path.Combine(directory, "stat")) is not { } stat || stat.Command != "postgres")
            {
                continue;
            }

            // The postmaster (the one whose parent is not a postgres process) has the CPU of the backends it reaped in
            // its children fields; a live backend's own fields hold the rest. None found: the server is not on this machine.
            var postmaster = ReadStat($"/proc/{stat.Parent.ToString(CultureInfo.InvariantCulture)}/stat")?.Command != "postgres";
            postgres = (postgres ?? 0) + stat.Own + (postmaster ? stat.ReapedChildren : 0);
        }

        var self = ReadStat("/proc/self/stat")!.Value;
        var api = apiProcessId is { } pid && ReadStat($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat") is { } apiStat ? apiStat.Own : 0;
        return new CpuSnapshot(Stopwatch.GetTimestamp(), api / TicksPerSecond, postgres / TicksPerSecond, self.Own / TicksPerSecond,
            self.ReapedChildren / TicksPerSecond, MachineBusyTicks() / TicksPerSecond);
    }

    private static long MachineBusyTicks()
    {
        // cpu  user nice system idle iowait irq softirq steal ...: busy is everything but idle and iowait.
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var values = fields.Skip(1).Take(8).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        return values.Sum() - values[3] - values[4];
    }

    private static (string Command, long Parent, long Own, long ReapedChildren)? ReadStat(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null; // the process exited meanwhile
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        // pid (comm) state ppid ... utime(14) stime(15) cutime(16) cstime(17): comm may hold spaces and parentheses.
        var open = text.IndexOf('(', StringComparison.Ordinal);
        var close = text.LastIndexOf(')');
        if (open < 0 || close < open)
        {
            return null;
        }

        var rest = text[(close + 2)..].Split(' ');
        long Field(int number) => long.Parse(rest[number - 3], CultureInfo.InvariantCulture);
        return (text[(open + 1)..close], Field(4), Field(14) + Field(15), Field(16) + Field(17));
    }
}

/// <summary>CPU seconds used during <paramref name="WallSeconds"/> by each part (see <see cref="CpuSnapshot"/>).</summary>
internal sealed record CpuUsage(double WallSeconds, double Api, double? Postgres, double Self, double Children, double MachineBusy)
{
    /// <summary>What was used between <paramref name="start"/> and <paramref name="end"/> (null where /proc is missing).</summary>
    public static CpuUsage? Between(CpuSnapshot? start, CpuSnapshot? end) =>
        start is null || end is null
            ? null
            : new CpuUsage(
                Stopwatch.GetElapsedTime(start.Timestamp, end.Timestamp).TotalSeconds,
                end.Api - start.Api,
                end.Postgres - start.Postgres,
                end.Self - start.Self,
                end.Children - start.Children,
                end.MachineBusy - start.MachineBusy);

    /// <summary>Both measurements as one (two rounds of a phase): every figure summed.</summary>
    public CpuUsage Plus(CpuUsage other) => new(
        WallSeconds + other.WallSeconds, Api + other.Api, Postgres + other.Postgres, Self + other.Self, Children + other.Children,
        MachineBusy + other.MachineBusy);

    /// <summary>Microseconds of CPU per unit of work (a command, a transaction) of one part.</summary>
    public static double PerUnit(double cpuSeconds, long units) => units > 0 ? cpuSeconds * 1e6 / units : double.NaN;

    /// <summary>Average cores a part kept busy.</summary>
    public double Cores(double cpuSeconds) => WallSeconds > 0 ? cpuSeconds / WallSeconds : double.NaN;
}

/// <summary>The one-line CPU summaries the benchmark prints.</summary>
internal static class CpuReport
{
    /// <summary>
    /// "cpu per command (single): API 730 us, PostgreSQL 340 us, load generator 40 us; machine 1.8 of 2 cores busy;
    /// at this cost 2 cores do at most 1,800/s" (null when nothing was measured). <paramref name="appLabel"/> names the
    /// API part (null: no API in this measurement); <paramref name="selfLabel"/> this process's part, and
    /// <paramref name="childLabel"/> that of the child processes that exited meanwhile (pgbench).
    /// </summary>
    public static string? Line(string name, string unit, long units, CpuUsage? cpu, string? appLabel, string? selfLabel, string? childLabel = null)
    {
        if (cpu is null || units <= 0)
        {
            return null;
        }

        var parts = new List<(string Label, double Seconds)>();
        if (appLabel is not null)
        {
            parts.Add((appLabel, cpu.Api));
        }

        if (cpu.Postgres is { } postgres)
        {
            parts.Add(("PostgreSQL", postgres));
        }

        if (selfLabel is not null)
        {
            parts.Add((selfLabel, cpu.Self));
        }

        if (childLabel is not null)
        {
            parts.Add((childLabel, cpu.Children));
        }

        var perUnit = parts.Sum(p => p.Seconds) / units;
        var cores = Environment.ProcessorCount;
        return string.Create(CultureInfo.InvariantCulture,
            $"  cpu per {unit} ({name}): {string.Join(", ", parts.Select(p => $"{p.Label} {CpuUsage.PerUnit(p.Seconds, units):N0} us"))}; " +
            $"machine {cpu.Cores(cpu.MachineBusy):0.00} of {cores} cores busy; at this cost {cores} cores do at most {cores / perUnit:N0} {unit}s/s");
    }

    /// <summary>"the target of 8,600/s leaves 233 us of CPU per command for everything on 2 cores".</summary>
    public static string Budget(string unit, double targetPerSecond) =>
        string.Create(CultureInfo.InvariantCulture,
            $"  the target of {targetPerSecond:N0} {unit}s/s leaves {Environment.ProcessorCount * 1e6 / targetPerSecond:N0} us of CPU per {unit} for everything on {Environment.ProcessorCount} cores");
}
