using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace ComputeBank.FaultTests;

/// <summary>
/// A PostgreSQL 15 primary (pg1) and a synchronous hot standby (pg2) of the failover test's own, in a temporary folder
/// on free ports, set up as deploy/ha/up does: replication settings on the primary, <c>pg_basebackup -R</c> with a
/// replication slot for the standby, then <c>synchronous_standby_names</c> naming it and <c>synchronous_commit=on</c>.
/// <see cref="KillPrimary"/> and <see cref="PromoteStandbyAsync"/> are deploy/ha/failover's two steps.
/// </summary>
public sealed class ReplicatedCluster : IAsyncDisposable
{
    private const string Password = "failover-suite";
    private readonly string _bin = PostgresCluster.Binaries();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "cb-failover-" + Guid.NewGuid().ToString("N")[..8]);

    private ReplicatedCluster()
    {
    }

    public int PrimaryPort { get; } = PostgresCluster.FreePort();

    public int StandbyPort { get; } = PostgresCluster.FreePort();

    /// <summary>The service's write connection: both hosts, the primary whichever it is. Npgsql re-asks a host it saw
    /// as a standby after <c>Host Recheck Seconds</c> (default 10), so a promotion is noticed within 1 s.</summary>
    public string ServiceConnectionString(string targetSessionAttributes = "primary") =>
        $"Host=127.0.0.1:{PrimaryPort.ToString(CultureInfo.InvariantCulture)},127.0.0.1:{StandbyPort.ToString(CultureInfo.InvariantCulture)};" +
        $"Username=fault;Password={Password};Database=ledger;Target Session Attributes={targetSessionAttributes};Host Recheck Seconds=1;Timeout=5;Command Timeout=30";

    /// <summary>One instance alone, for checks that must read a particular server.</summary>
    public string InstanceConnectionString(int port, string database = "ledger") =>
        $"Host=127.0.0.1;Port={port.ToString(CultureInfo.InvariantCulture)};Username=fault;Password={Password};Database={database};Timeout=5;Command Timeout=60;Pooling=false";

    private string Data(string name) => Path.Combine(_directory, name);

    public static async Task<ReplicatedCluster> StartAsync()
    {
        var cluster = new ReplicatedCluster();
        try
        {
            await cluster.SetUpAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private async Task SetUpAsync()
    {
        Directory.CreateDirectory(_directory);
        var passwordFile = Path.Combine(_directory, "pw");
        await File.WriteAllTextAsync(passwordFile, Password + "\n");
        if (PostgresCluster.IsRoot)
        {
            await PostgresCluster.RunAsync("chown", $"-R postgres {_directory}");
        }

        // The primary. initdb's pg_hba.conf already lets 127.0.0.1 replicate with a password (scram-sha-256).
        await AsOwnerAsync("initdb", $"-D {Data("pg1")} -U fault --pwfile={passwordFile} -A scram-sha-256 -E UTF8 --locale=C.UTF-8");
        await File.AppendAllTextAsync(Path.Combine(Data("pg1"), "postgresql.conf"), """
            listen_addresses = '127.0.0.1'
            unix_socket_directories = ''
            max_connections = 200
            fsync = on
            wal_level = replica
            max_wal_senders = 10
            max_replication_slots = 10
            hot_standby = on
            hot_standby_feedback = on
            synchronous_commit = on

            """);
        await StartAsync("pg1", PrimaryPort);
        await ExecuteAsync(PrimaryPort, "postgres", "CREATE DATABASE ledger");

        // The standby: a base backup with its own slot; -R writes standby.signal and primary_conninfo, whose
        // application_name is the name synchronous_standby_names refers to.
        await AsOwnerAsync("pg_basebackup",
            $"-D {Data("pg2")} -X stream -C -S pg2 -R --checkpoint=fast " +
            $"-d \"host=127.0.0.1 port={PrimaryPort.ToString(CultureInfo.InvariantCulture)} user=fault password={Password} application_name=pg2\"");
        await StartAsync("pg2", StandbyPort);
        await SetSynchronousAsync(true);
    }

    /// <summary>On: the primary answers a COMMIT only after pg2 has flushed it. Off: it does not wait for any standby.</summary>
    public async Task SetSynchronousAsync(bool on)
    {
        await ExecuteAsync(PrimaryPort, "postgres", $"ALTER SYSTEM SET synchronous_standby_names = '{(on ? "FIRST 1 (pg2)" : "")}'");
        await ExecuteAsync(PrimaryPort, "postgres", "SELECT pg_reload_conf()");
        if (on)
        {
            await WaitForAsync(async () => await ScalarAsync(PrimaryPort, "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'pg2'") is "sync",
                "pg2 to be the synchronous standby");
        }
        else
        {
            await WaitForAsync(async () => await ScalarAsync(PrimaryPort, "SHOW synchronous_standby_names") is "", "synchronous_standby_names to be cleared");
        }
    }

    /// <summary>What the primary says about its replication: synchronous_commit, synchronous_standby_names and pg2's sync_state.</summary>
    public async Task<(string? Commit, string? Names, string? State)> ReplicationSettingsAsync() =>
        (await ScalarAsync(PrimaryPort, "SHOW synchronous_commit"),
         await ScalarAsync(PrimaryPort, "SHOW synchronous_standby_names"),
         await ScalarAsync(PrimaryPort, "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'pg2'"));

    public Task StopStandbyAsync() => AsOwnerAsync("pg_ctl", $"-D {Data("pg2")} -m fast -w -t 60 stop");

    public Task StartStandbyAsync() => StartAsync("pg2", StandbyPort);

    /// <summary>kill -9 of the primary's postmaster: no shutdown checkpoint, no goodbye to the standby or the clients.</summary>
    public void KillPrimary()
    {
        var pid = int.Parse(File.ReadLines(Path.Combine(Data("pg1"), "postmaster.pid")).First(), CultureInfo.InvariantCulture);
        using var postmaster = Process.GetProcessById(pid);
        postmaster.Kill();
        postmaster.WaitForExit();
    }

    /// <summary>pg_ctl promote of pg2, waiting until it takes writes; then, with no standby left to wait for, it
    /// stops waiting for one (deploy/ha/failover's default).</summary>
    public async Task PromoteStandbyAsync()
    {
        await AsOwnerAsync("pg_ctl", $"-D {Data("pg2")} -w -t 60 promote");
        await WaitForAsync(async () => await ScalarAsync(StandbyPort, "SELECT pg_is_in_recovery()::text") is "false", "pg2 to leave recovery");
        await ExecuteAsync(StandbyPort, "postgres", "ALTER SYSTEM SET synchronous_standby_names = ''");
        await ExecuteAsync(StandbyPort, "postgres", "SELECT pg_reload_conf()");
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        foreach (var name in new[] { "pg1", "pg2" })
        {
            if (File.Exists(Path.Combine(Data(name), "postmaster.pid")))
            {
                try
                {
                    await AsOwnerAsync("pg_ctl", $"-D {Data(name)} -m immediate -w -t 30 stop");
                }
                catch (InvalidOperationException)
                {
                    // Not running (killed, or never started).
                }
            }
        }

        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private Task StartAsync(string name, int port) =>
        AsOwnerAsync("pg_ctl", $"-D {Data(name)} -l {Path.Combine(_directory, name + ".log")} -o \"-p {port.ToString(CultureInfo.InvariantCulture)}\" -w -t 60 start");

    private Task AsOwnerAsync(string tool, string arguments) =>
        PostgresCluster.IsRoot
            ? PostgresCluster.RunAsync("runuser", $"-u postgres -- {Path.Combine(_bin, tool)} {arguments}")
            : PostgresCluster.RunAsync(Path.Combine(_bin, tool), arguments);

    private async Task ExecuteAsync(int port, string database, string sql)
    {
        await using var connection = new NpgsqlConnection(InstanceConnectionString(port, database));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async Task<string?> ScalarAsync(int port, string sql, string database = "postgres")
    {
        await using var connection = new NpgsqlConnection(InstanceConnectionString(port, database));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (await command.ExecuteScalarAsync())?.ToString();
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Waited 30 s for {what}.");
    }
}
