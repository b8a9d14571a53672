using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace ComputeBank.FaultTests;

/// <summary>
/// A PostgreSQL 15 cluster of the fault suite's own, in a temporary folder on a free port, so that the suite can stop
/// and restart it in the middle of a load without disturbing the other test assemblies. As root it runs as the
/// <c>postgres</c> user (PostgreSQL refuses root).
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    private const string Password = "fault-suite";
    private readonly string _bin;
    private readonly string _directory;

    private PostgresCluster(string bin, string directory, int port)
    {
        _bin = bin;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public string DataDirectory => Path.Combine(_directory, "data");

    public string ConnectionString(string database = "ledger") =>
        $"Host=127.0.0.1;Port={Port};Username=fault;Password={Password};Database={database};Timeout=5;Command Timeout=30";

    public static async Task<PostgresCluster> StartAsync()
    {
        var bin = Binaries();
        var directory = Path.Combine(Path.GetTempPath(), "cb-fault-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        var cluster = new PostgresCluster(bin, directory, FreePort());
        var passwordFile = Path.Combine(directory, "pw");
        await File.WriteAllTextAsync(passwordFile, Password + "\n");
        if (IsRoot)
        {
            await RunAsync("chown", $"-R postgres {directory}");
        }

        await cluster.AsOwnerAsync("initdb", $"-D {cluster.DataDirectory} -U fault --pwfile={passwordFile} -A scram-sha-256 -E UTF8 --locale=C.UTF-8");
        await File.AppendAllTextAsync(Path.Combine(cluster.DataDirectory, "postgresql.conf"),
            "listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\nmax_connections = 200\nfsync = on\n");
        await cluster.StartServerAsync();
        await using var connection = new NpgsqlConnection(cluster.ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand("CREATE DATABASE ledger", connection);
        await create.ExecuteNonQueryAsync();
        return cluster;
    }

    public Task StartServerAsync() =>
        AsOwnerAsync("pg_ctl", $"-D {DataDirectory} -l {Path.Combine(_directory, "server.log")} -o \"-p {Port.ToString(CultureInfo.InvariantCulture)}\" -w -t 60 start");

    /// <summary>A fast shutdown (in-flight transactions are rolled back, clients disconnected), then a start.</summary>
    public async Task RestartAsync()
    {
        await AsOwnerAsync("pg_ctl", $"-D {DataDirectory} -m fast -w -t 60 stop");
        await StartServerAsync();
    }

    /// <summary>Terminates every backend of the ledger database (the service's pooled connections).</summary>
    public async Task<int> TerminateBackendsAsync()
    {
        // Unpooled: after a database restart a pooled connection would be a dead one.
        await using var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = 'ledger' AND pid <> pg_backend_pid()", connection);
        return Convert.ToInt32(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await AsOwnerAsync("pg_ctl", $"-D {DataDirectory} -m immediate -w -t 30 stop");
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        Directory.Delete(_directory, recursive: true);
    }

    internal static string Binaries() =>
        Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")))
        ?? throw new InvalidOperationException("PostgreSQL binaries not found under /usr/lib/postgresql; run deploy/local/test, which installs them.");

    internal static bool IsRoot => Environment.UserName == "root";

    private Task AsOwnerAsync(string tool, string arguments) =>
        IsRoot ? RunAsync("runuser", $"-u postgres -- {Path.Combine(_bin, tool)} {arguments}") : RunAsync(Path.Combine(_bin, tool), arguments);

    internal static async Task RunAsync(string file, string arguments)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/" };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments} failed ({process.ExitCode}): {await output}{await error}");
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
