using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ComputeBank.Api.Security;
using ComputeBank.Testing;

namespace ComputeBank.Samples.Tests;

/// <summary>
/// The service as a user runs it: the built API as its own process on a free loopback port, authentication on with the
/// dev signing key of its own data folder (as deploy/local/run does), over a throwaway database. Tokens are minted with
/// that key, as <c>deploy/local/cli token</c> would. Shared by the test classes of <see cref="ServiceCollection"/>.
/// </summary>
public sealed class ServiceFixture : IAsyncLifetime
{
    private readonly StringBuilder _log = new();
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("computebank-samples-").FullName;
    private Process? _process;

    public PostgresDatabase Database { get; } = new();

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>A token the service accepts, for <paramref name="role"/> acting for <paramref name="owner"/>.</summary>
    public string Token(string role, string owner = "") =>
        DevTokens.Mint(role, owner, TimeSpan.FromHours(1), DevTokens.LoadOrCreateSigningKey(_dataDirectory));

    /// <summary>What the service wrote so far, for failure messages.</summary>
    public string Log()
    {
        lock (_log)
        {
            return _log.ToString();
        }
    }

    public async Task InitializeAsync()
    {
        await Database.InitializeAsync();
        BaseAddress = new Uri($"http://127.0.0.1:{FreePort().ToString(CultureInfo.InvariantCulture)}");
        var dll = ApiDll();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(BaseAddress.ToString());
        start.Environment["ConnectionStrings__ComputeBank"] = Database.ConnectionString;
        start.Environment["COMPUTEBANK_DATA"] = _dataDirectory;
        // Authentication as a user has it: whatever the developer's shell says, on, with the data folder's dev key.
        start.Environment.Remove("ComputeBank__Auth__Enabled");
        start.Environment.Remove("ComputeBank__Auth__SigningKey");
        start.Environment.Remove("ComputeBank__Auth__Authority");
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["DOTNET_gcServer"] = "0";
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The service exited with {_process.ExitCode} while starting:\n{Log()}");
            }

            try
            {
                using var ready = await http.GetAsync(new Uri("/health/ready", UriKind.Relative));
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"The service was not ready within 120 s:\n{Log()}");
    }

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        await Database.DisposeAsync();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    /// <summary>The repository's root folder (the one with ComputeBank.sln).</summary>
    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "ComputeBank.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException($"No ComputeBank.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>The API built in the same configuration as these tests (the project reference builds it first).</summary>
    private static string ApiDll()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var dll = Path.Combine(RepositoryRoot(), "src", "ComputeBank.Api", "bin", configuration, "net10.0", "ComputeBank.Api.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"The API is not built at {dll}; build the solution first.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }
}

/// <summary>The test classes that share one service process (they run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class ServiceCollection : ICollectionFixture<ServiceFixture>
{
    public const string Name = "service";
}
