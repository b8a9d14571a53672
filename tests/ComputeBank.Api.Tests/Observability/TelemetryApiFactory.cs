using System.Diagnostics;
using ComputeBank.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace ComputeBank.Api.Tests.Observability;

/// <summary>The real host on its own database, with in-process exporters added to its own tracer and meter providers
/// (exactly as an OTLP exporter would be), so tests see what an operator's backend would receive.</summary>
public class TelemetryApiFactory : WebApplicationFactory<Program>, IAsyncLifetime
{
    private readonly PostgresDatabase _database = new();

    public PostgresDatabase Database => _database;

    /// <summary>Every span the host exported (all ActivitySources it listens to are process-wide: filter by trace id).</summary>
    public List<Activity> Spans { get; } = [];

    public List<Metric> Metrics { get; } = [];

    public Dictionary<string, string?> Settings { get; } = [];

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("ConnectionStrings:ComputeBank", _database.ConnectionString);
        builder.UseSetting("ComputeBank:Auth:Enabled", "false");
        builder.UseSetting("ComputeBank:RateLimiting:Enabled", "false");
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(services =>
        {
            // Not AddInMemoryExporter: it appends without a lock while the test reads, which throws "collection was modified".
            services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddProcessor(new OpenTelemetry.SimpleActivityExportProcessor(new LockedSpanExporter(Spans))));
            // A reader of its own, collected directly: the provider's ForceFlush also asks the Prometheus reader of
            // GET /metrics, which collects only when scraped and so reports false.
            // One per host (a derived factory builds another host, and a reader serves one provider only).
            services.AddSingleton(_ => new CollectingMetricReader(Metrics));
            services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddReader(sp => sp.GetRequiredService<CollectingMetricReader>()));
        });
    }

    /// <summary>Spans of one trace exported so far (a copy, taken under the exporter's list).</summary>
    public IReadOnlyList<Activity> SpansOf(ActivityTraceId traceId)
    {
        lock (Spans)
        {
            return [.. Spans.Where(s => s.TraceId == traceId)];
        }
    }

    /// <summary>Collects every instrument now and returns the exported metrics of that collection.</summary>
    public IReadOnlyList<Metric> CollectMetrics()
    {
        lock (Metrics)
        {
            Metrics.Clear();
        }

        _ = Services.GetRequiredService<MeterProvider>();
        Assert.True(Services.GetRequiredService<CollectingMetricReader>().Collect(10_000), "The in-memory metric reader did not collect.");
        lock (Metrics)
        {
            return [.. Metrics];
        }
    }

    public Task InitializeAsync() => _database.InitializeAsync();

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        await _database.DisposeAsync();
    }
}

/// <summary>Exports finished spans into a list under that list's lock, so that tests can read it while spans arrive.</summary>
internal sealed class LockedSpanExporter(List<Activity> spans) : OpenTelemetry.BaseExporter<Activity>
{
    public override OpenTelemetry.ExportResult Export(in OpenTelemetry.Batch<Activity> batch)
    {
        lock (spans)
        {
            foreach (var activity in batch)
            {
                spans.Add(activity);
            }
        }

        return OpenTelemetry.ExportResult.Success;
    }
}

/// <summary>Exports every collection into a list (the tests lock it while they read).</summary>
internal sealed class CollectingMetricReader(List<Metric> metrics) : BaseExportingMetricReader(new OpenTelemetry.Exporter.InMemoryExporter<Metric>(metrics));
