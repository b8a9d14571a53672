using System.Diagnostics;
using System.Globalization;

namespace ComputeBank.FaultTests;

/// <summary>One ComputeBank service process (the built API dll) on its own loopback port, killable with SIGKILL.</summary>
public sealed class ServiceNode(int index, string connectionString, string logDirectory) : IAsyncDisposable
{
    private Process? _process;

    public int Index { get; } = index;

    public int Port { get; } = PostgresCluster.FreePort();

    public Uri BaseAddress => new($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Started and answered /health/ready; false while starting or after a kill.</summary>
    public bool IsReady { get; private set; }

    public int Starts { get; private set; }

    /// <summary>More environment for the process (e.g. a read-only connection string), applied at every start.</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    public static string ApiDll()
    {
        // tests/ComputeBank.FaultTests/bin/<Configuration>/net10.0 -> the API's output of the same configuration.
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var dll = Path.Combine(Checkout.Root() ?? ".", "src", "ComputeBank.Api", "bin", configuration, "net10.0", "ComputeBank.Api.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"The API is not built at {dll}; build the solution first.");
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet", $"\"{ApiDll()}\" --urls {BaseAddress}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(ApiDll())!,
        };
        start.Environment["ConnectionStrings__ComputeBank"] = connectionString;
        start.Environment["ComputeBank__Auth__Enabled"] = "false";
        start.Environment["ComputeBank__RateLimiting__Enabled"] = "false";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        // The store's and the daemon's decisions (gaps skipped, leadership) are what a failed run needs to be studied.
        start.Environment["Logging__LogLevel__ComputeBank.EventStore"] = "Information";
        start.Environment["DOTNET_gcServer"] = "0";
        foreach (var (name, value) in Environment)
        {
            start.Environment[name] = value;
        }

        var log = File.AppendText(Path.Combine(logDirectory, $"node{Index}.log"));
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => Write(log, e.Data);
        _process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Starts++;

        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Node {Index} exited with {_process.ExitCode} while starting; see {logDirectory}/node{Index}.log");
            }

            try
            {
                using var ready = await http.GetAsync(new Uri("/health/ready", UriKind.Relative), cancellationToken);
                if (ready.IsSuccessStatusCode)
                {
                    IsReady = true;
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            await Task.Delay(200, cancellationToken);
        }

        throw new TimeoutException($"Node {Index} was not ready within 60 s; see {logDirectory}/node{Index}.log");
    }

    /// <summary>kill -9: no shutdown hooks, no flushing, in-flight requests lose their answers.</summary>
    public void Kill()
    {
        IsReady = false;
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        return ValueTask.CompletedTask;
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.WriteLine(line);
            log.Flush();
        }
    }
}
