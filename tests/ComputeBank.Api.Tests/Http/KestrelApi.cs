using System.Collections.Concurrent;
using ComputeBank.Api.Health;
using ComputeBank.Api.Hosting;
using ComputeBank.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ComputeBank.Api.Tests.Http;

/// <summary>
/// The API as Program.cs composes it, on a real Kestrel at a free port of 127.0.0.1 (the test server has no HTTP/1.1
/// parser, so framing and Kestrel's own refusals only show here), on its own throwaway database, capturing every log line.
/// </summary>
public sealed class KestrelApi : IAsyncLifetime
{
    private readonly PostgresDatabase _database = new();
    private readonly Action<KestrelServerOptions>? _kestrel;
    private readonly IReadOnlyDictionary<string, string?> _settings;
    private WebApplication? _app;

    public KestrelApi()
        : this(null)
    {
    }

    private KestrelApi(Action<KestrelServerOptions>? kestrel, IReadOnlyDictionary<string, string?>? settings = null)
    {
        _kestrel = kestrel;
        _settings = settings ?? new Dictionary<string, string?>();
    }

    /// <summary>A host with these configuration settings on top (authentication on, say).</summary>
    public static KestrelApi WithSettings(IReadOnlyDictionary<string, string?> settings) => new(null, settings);

    /// <summary>A host whose Kestrel limits <paramref name="limits"/> tightens (for timeouts a test can wait for).</summary>
    public static KestrelApi With(Action<KestrelServerLimits> limits) => new(kestrel => limits(kestrel.Limits));

    /// <summary>A host whose Kestrel options <paramref name="kestrel"/> changes after the API configured them.</summary>
    public static KestrelApi WithKestrel(Action<KestrelServerOptions> kestrel) => new(kestrel);

    public Uri Address { get; private set; } = null!;

    public int Port => Address.Port;

    /// <summary>Every log line: level, event id, category and message.</summary>
    public ConcurrentQueue<(LogLevel Level, int EventId, string Category, string Message)> Logs { get; } = new();

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration["ConnectionStrings:ComputeBank"] = _database.ConnectionString;
        builder.Configuration["ComputeBank:Auth:Enabled"] = "false";
        foreach (var (key, value) in _settings)
        {
            builder.Configuration[key] = value;
        }

        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Debug).AddProvider(new Capture(Logs));
        builder.AddComputeBank();
        if (_kestrel is not null)
        {
            builder.WebHost.ConfigureKestrel(_kestrel);
        }

        _app = builder.Build();
        _app.UseComputeBank();
        _app.MapHealth();
        await _app.StartAsync();
        Address = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        await _database.DisposeAsync();
    }

    private sealed class Capture(ConcurrentQueue<(LogLevel, int, string, string)> logs) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(logs, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<(LogLevel, int, string, string)> logs, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            // As every logging provider: None means "not written" (Wolverine logs its agent commands at None by default).
            public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                logs.Enqueue((logLevel, eventId.Id, category, formatter(state, exception) + (exception is null ? "" : " " + exception.GetType().Name)));
        }
    }
}
