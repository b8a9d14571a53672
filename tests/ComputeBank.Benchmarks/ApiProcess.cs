using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ComputeBank.Benchmarks;

/// <summary>The built API as a separate process on a free local port and its own database; killed on dispose.</summary>
internal sealed class ApiProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    private ApiProcess(Process process, Uri baseAddress, StreamWriter log)
    {
        _process = process;
        BaseAddress = baseAddress;
        _log = log;
    }

    public Uri BaseAddress { get; }

    public int ProcessId => _process.Id;

    /// <summary>The benchmark's peer (tests/ComputeBank.Benchmarks.Peer) on its own database.</summary>
    public static Task<ApiProcess> StartPeerAsync(string peerDll, string connectionString, BenchOptions options) =>
        StartAsync(peerDll, connectionString, options, connectionStringName: "Peer");

    public static async Task<ApiProcess> StartAsync(string apiDll, string connectionString, BenchOptions options, string connectionStringName = "ComputeBank")
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(apiDll)!,
        };
        start.ArgumentList.Add(apiDll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        start.Environment[$"ConnectionStrings__{connectionStringName}"] = connectionString + ";Maximum Pool Size=30";
        start.Environment["ComputeBank__Auth__Enabled"] = "false";
        start.Environment["ComputeBank__RateLimiting__Enabled"] = "false";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        if (options.Committers is { } committers)
        {
            start.Environment["ComputeBank__Bus__Committers"] = committers.ToString(CultureInfo.InvariantCulture);
        }

        if (options.WindowMs is { } window)
        {
            start.Environment["ComputeBank__Bus__Window"] = TimeSpan.FromMilliseconds(window).ToString("c", CultureInfo.InvariantCulture);
        }

        if (options.MaxBatch is { } maxBatch)
        {
            start.Environment["ComputeBank__Bus__MaxBatchSize"] = maxBatch.ToString(CultureInfo.InvariantCulture);
        }

        var logPath = Path.Combine(Path.GetTempPath(), $"computebank-bench-api-{port.ToString(CultureInfo.InvariantCulture)}.log");
        var log = new StreamWriter(logPath) { AutoFlush = true };
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var api = new ApiProcess(process, new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"), log);

        using var http = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The API exited with {process.ExitCode}; see {logPath}");
            }

            try
            {
                using var ready = await http.GetAsync(new Uri("/health/ready", UriKind.Relative));
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    Console.WriteLine($"{Path.GetFileNameWithoutExtension(apiDll)} ready on {api.BaseAddress} after {clock.Elapsed.TotalSeconds:0.0} s (log: {logPath})");
                    return api;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(90))
            {
                await api.DisposeAsync();
                throw new InvalidOperationException($"The API did not become ready in 90 s; see {logPath}");
            }

            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        await _log.DisposeAsync();
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is not null)
        {
            lock (log)
            {
                log.WriteLine(line);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
