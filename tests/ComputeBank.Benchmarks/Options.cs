using System.Globalization;
using Npgsql;

namespace ComputeBank.Benchmarks;

/// <summary>Command-line options of the benchmark.</summary>
internal sealed class BenchOptions
{
    public string? AdminConnectionString { get; private set; } = Environment.GetEnvironmentVariable("COMPUTEBANK_TEST_PG");

    public double Seconds { get; private set; } = 20;

    public double BaselineSeconds { get; private set; } = 15;

    /// <summary>Unmeasured load before each phase. The API's JIT (tiered compilation with dynamic PGO) reaches its
    /// steady code only after about 20 s of load on this 2-core machine: the bus's rejection path went from 478 to 99 us
    /// of CPU per command over six 4 s windows of one process, so a short warm-up measures the compiler, not the ledger.</summary>
    public double WarmupSeconds { get; private set; } = 20;

    /// <summary>With <see cref="OldApiDll"/>: this build and the old one measured alternately this many times each, so that
    /// the machine's drift over minutes falls on both (ratios from the rounds' combined rates).</summary>
    public int Rounds { get; private set; } = 1;

    public int Clients { get; private set; } = 64;

    public int BatchClients { get; private set; } = 4;

    public int? Committers { get; private set; }

    public double? WindowMs { get; private set; }

    public int? MaxBatch { get; private set; }

    public string? ChartPath { get; private set; }

    /// <summary>Which load phases run (all by default).</summary>
    public IReadOnlySet<string> Phases { get; private set; } = new HashSet<string>(["single", "batch", "peer"], StringComparer.Ordinal);

    /// <summary>Holds of the expiry phase, all due at the same instant.</summary>
    public int Holds { get; private set; } = 5000;

    /// <summary>Whether the pgbench and raw baselines run (off only to profile one phase: ratios are then not reported).</summary>
    public bool Baselines { get; private set; } = true;

    /// <summary>Another build of the API to measure (e.g. an older commit's), instead of this checkout's Release build.</summary>
    public string? ApiDll { get; private set; }

    /// <summary>An older build of the API measured in the same run, single and batch, after this one (ratios new/old).</summary>
    public string? OldApiDll { get; private set; }

    /// <summary>The peer's build (tests/ComputeBank.Benchmarks.Peer), measured with single transfers after the API.</summary>
    public string? PeerDll { get; private set; }

    public string BusDescription => string.Create(CultureInfo.InvariantCulture,
        $"committers {Committers?.ToString(CultureInfo.InvariantCulture) ?? "default"}, window {(WindowMs is { } w ? w.ToString("0.###", CultureInfo.InvariantCulture) + " ms" : "default")}, max batch {MaxBatch?.ToString(CultureInfo.InvariantCulture) ?? "default"}");

    public const string Usage =
        "usage: dotnet run -c Release --project tests/ComputeBank.Benchmarks -- [options]\n" +
        "  --pg <admin connection string>   default: COMPUTEBANK_TEST_PG\n" +
        "  --seconds <s>                    load seconds per phase (20)\n" +
        "  --baseline-seconds <s>           pgbench and raw baseline seconds (15)\n" +
        "  --warmup-seconds <s>             unmeasured load before each phase, for the JIT to settle (20)\n" +
        "  --clients <n>                    single-transfer clients (64)\n" +
        "  --batch-clients <n>              batch clients (4)\n" +
        "  --committers <n> --window-ms <ms> --max-batch <n>   bus options passed to the API\n" +
        "  --chart <path>                   default: docs/benchmarks/http-benchmark.svg\n" +
        "  --api <ComputeBank.Api.dll>      measure another build (e.g. an older commit's)\n" +
        "  --old-api <ComputeBank.Api.dll>  also measure an older build, single and batch, in the same run (ratios new/old)\n" +
        "  --rounds <n>                     with --old-api: this build and the old one alternately, n times each (1)\n" +
        "  --peer <dll>                     the peer's build (default: tests/ComputeBank.Benchmarks.Peer's Release build)\n" +
        "  --phases single,batch,peer       which load phases run (all three; peer: the Critter Stack transfer, single);\n" +
        "                                   async alone: the queued path, this build and --old-api in one run\n" +
        "                                   expiry alone: --holds holds due together, time until the last expired\n" +
        "  --holds <n>                      holds of the expiry phase (5000)\n" +
        "  --baselines false                profiling mode: the phases alone, the API's pid printed, no ratios, no chart";

    /// <summary>True when the arguments ask for the usage text.</summary>
    public static bool WantsHelp(string[] args) => args.Any(a => a is "--help" or "-h" or "-?");

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value (--help lists the options)");
            switch (args[i])
            {
                case "--pg": options.AdminConnectionString = value; break;
                case "--seconds": options.Seconds = double.Parse(value, CultureInfo.InvariantCulture); break;
                case "--baseline-seconds": options.BaselineSeconds = double.Parse(value, CultureInfo.InvariantCulture); break;
                case "--warmup-seconds": options.WarmupSeconds = double.Parse(value, CultureInfo.InvariantCulture); break;
                case "--rounds": options.Rounds = Math.Max(1, int.Parse(value, CultureInfo.InvariantCulture)); break;
                case "--clients": options.Clients = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--batch-clients": options.BatchClients = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--committers": options.Committers = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--window-ms": options.WindowMs = double.Parse(value, CultureInfo.InvariantCulture); break;
                case "--max-batch": options.MaxBatch = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--chart": options.ChartPath = value; break;
                case "--api": options.ApiDll = value; break;
                case "--old-api": options.OldApiDll = value; break;
                case "--peer": options.PeerDll = value; break;
                case "--phases": options.Phases = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal); break;
                case "--baselines": options.Baselines = bool.Parse(value); break;
                case "--holds": options.Holds = int.Parse(value, CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"Unknown option {args[i]} (--help lists the options)");
            }

            i++;
        }

        return options;
    }
}

/// <summary>The throwaway databases of one run, each created on the admin connection's server and dropped at the end.</summary>
internal sealed class Databases(string adminConnectionString, string suffix)
{
    private readonly List<string> _created = [];

    public NpgsqlConnectionStringBuilder Admin { get; } = new(adminConnectionString);

    /// <summary>Creates <c>cbbench_{purpose}_{suffix}</c> and returns its connection string.</summary>
    public async Task<string> CreateAsync(string purpose)
    {
        var name = $"cbbench_{purpose}_{suffix}";
        await using var connection = new NpgsqlConnection(Admin.ConnectionString);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await create.ExecuteNonQueryAsync();
        _created.Add(name);
        return new NpgsqlConnectionStringBuilder(Admin.ConnectionString) { Database = name }.ConnectionString;
    }

    public async Task DropAllAsync()
    {
        await using var connection = new NpgsqlConnection(Admin.ConnectionString);
        await connection.OpenAsync();
        foreach (var name in _created)
        {
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }
}

internal static class Repository
{
    /// <summary>The directory holding ComputeBank.sln, searched upwards from the program and the working directory.</summary>
    public static string Root()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "ComputeBank.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException("Run the benchmark from inside the repository (ComputeBank.sln not found).");
    }
}
