using ComputeBank.Api.Health;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace ComputeBank.Api.Observability;

/// <summary>
/// Traces, metrics and logs of the host (OpenTelemetry, through OpenTelemetry.Extensions.Hosting, so the providers live
/// and die with the host), JSON console logging, readiness, and graceful shutdown.
/// <para>
/// Spans and measurements are always produced, so that every command has a trace id to write into its events'
/// correlation id; they leave the process only when the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (with
/// <c>OTEL_SERVICE_NAME</c>, default <c>computebank</c>, and the other standard <c>OTEL_*</c> variables). Metrics can
/// also be scraped at <c>GET /metrics</c> in the Prometheus text format (<see cref="MetricsEndpoint"/>), and every
/// answered command is one Information log line in the category <c>ComputeBank.Messaging.Commands</c>.
/// </para>
/// </summary>
public static class Observability
{
    /// <summary>One ActivitySource and one Meter per component; these are their names.</summary>
    /// <remarks>Npgsql's own source and meter are added by Npgsql.OpenTelemetry (<c>AddNpgsql</c>,
    /// <c>AddNpgsqlInstrumentation</c>); "Marten" is the event store library's; "Wolverine" the messaging library's
    /// (its meter is named after the service: <c>Wolverine:ComputeBank</c>).</remarks>
    public static readonly string[] ActivitySources = ["ComputeBank.Messaging", "ComputeBank.Messaging.Durable", "ComputeBank.EventStore", "Marten", "Wolverine"];

    public static readonly string[] Meters =
        ["ComputeBank.Messaging", "ComputeBank.Messaging.Durable", "ComputeBank.EventStore", "Marten", "Wolverine:ComputeBank", OperationsMetrics.MeterName];

    public const string DefaultServiceName = "computebank";

    /// <summary>Whether the configuration (environment variables included) switches OTLP export on.</summary>
    public static bool OtlpEnabled(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    public static WebApplicationBuilder AddObservability(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var services = builder.Services;
        var settings = (configuration.GetSection(OperationsSettings.Section).Get<OperationsSettings>() ?? new OperationsSettings()).Validated();
        services.AddSingleton(settings);
        services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.ShutdownTimeout);

        if (configuration.GetValue<bool>("ComputeBank:Logging:Json"))
        {
            builder.Logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }

        var otlp = OtlpEnabled(configuration);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                // OTEL_SERVICE_NAME (read by the SDK's default resource) wins; an explicit AddService would override it.
                if (string.IsNullOrWhiteSpace(configuration["OTEL_SERVICE_NAME"]))
                {
                    resource.AddService(DefaultServiceName);
                }
            })
            .WithTracing(tracing => tracing
                .AddSource(ActivitySources)
                .AddNpgsql()
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal)))
            .WithMetrics(metrics => metrics
                .AddMeter(Meters)
                .AddNpgsqlInstrumentation()
                .AddAspNetCoreInstrumentation()
                // GET /metrics (MetricsEndpoint): a pull reader beside the OTLP one, always on.
                .AddPrometheusExporter());
        if (otlp)
        {
            telemetry.WithLogging().UseOtlpExporter();
        }

        services.AddSingleton<ShutdownGate>();
        services.AddSingleton<Readiness>();
        services.AddHostedService<OperationsMetrics>();
        services.AddHostedService<GracefulShutdown>();
        services.AddHostedService(sp => new TelemetryAnnouncement(sp.GetRequiredService<ILogger<TelemetryAnnouncement>>(), otlp));
        return builder;
    }

    /// <summary>Answers new commands 503 <c>shutting_down</c> once the host is stopping; reads pass.</summary>
    public static WebApplication UseShutdownGate(this WebApplication app)
    {
        app.UseMiddleware<ShutdownGateMiddleware>();
        return app;
    }
}

/// <summary>Says once at start whether telemetry leaves the process, so an operator can tell from the log.</summary>
internal sealed class TelemetryAnnouncement(ILogger<TelemetryAnnouncement> logger, bool otlp) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        ApiLog.OtlpExport(logger, otlp ? "on" : "off (OTEL_EXPORTER_OTLP_ENDPOINT is not set)");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
