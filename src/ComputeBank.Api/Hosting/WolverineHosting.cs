using ComputeBank.Api.Features;
using ComputeBank.Api.Features.ExpiringHolds;
using ComputeBank.Api.Features.MarketDeadlines;
using ComputeBank.Api.Features.PublishingIntegrationEvents;
using ComputeBank.Api.Features.SubmittingAsynchronously;
using ComputeBank.Messaging.Durable;
using JasperFx;
using JasperFx.CodeGeneration;
using Wolverine;
using Wolverine.Postgresql;

namespace ComputeBank.Api.Hosting;

/// <summary>Settings of the Wolverine runtime (section <c>ComputeBank:Wolverine</c>).</summary>
public sealed class WolverineSettings
{
    public const string Section = "ComputeBank:Wolverine";

    /// <summary>The PostgreSQL schema of Wolverine's envelope tables (incoming, outgoing, dead letters, nodes).</summary>
    public string Schema { get; set; } = "wolverine";

    /// <summary>How often a node looks for scheduled messages that have come due (a hold's expiry runs at most this late).</summary>
    public TimeSpan ScheduledJobPollingTime { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How many due scheduled messages (hold expiries, stored retries) a poll takes, and how many envelopes
    /// of a dead node a recovery pass moves. Scheduled messages are polled by one node at a time under a lock, so this
    /// over <see cref="ScheduledJobPollingTime"/> bounds how fast expiries due at the same moment start: Wolverine's
    /// default, 100, made 10,000 holds expiring together take over a minute and a half.</summary>
    public int RecoveryBatchSize { get; set; } = 1000;

    /// <summary>How often nodes write their heartbeat and the leader checks the others'.</summary>
    public TimeSpan HealthCheckPollingTime { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A node whose heartbeat is older than this is taken for dead: the leader hands its claimed messages to the
    /// others. The longest a message claimed by a killed node waits before it runs again.</summary>
    public TimeSpan StaleNodeTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary><c>Static</c>: handlers run the code generated ahead and compiled in. <c>Auto</c> (development, after a
    /// handler's signature changed): missing handler code is generated, compiled at run time and written to
    /// <c>src/ComputeBank.Api/Internal/Generated</c> to be committed.</summary>
    public TypeLoadMode CodeGeneration { get; set; } = TypeLoadMode.Static;
}

/// <summary>
/// The Wolverine runtime of the service: envelopes persisted in PostgreSQL (schema <c>wolverine</c> by default, created
/// and migrated by Wolverine at start under its own lock), durable local queues, retries and dead letters. Only the
/// handlers named here are discovered. Every command is a Wolverine message (<see cref="LedgerCommands"/>). Group commit,
/// the operation log and the hash chain stay ours: a handler hands its command to the <see cref="Messaging.CommandBus"/>,
/// which decides it with every other command of its group commit.
/// </summary>
public static class WolverineHosting
{
    public static WebApplicationBuilder AddComputeBankWolverine(this WebApplicationBuilder builder, string connectionString)
    {
        var settings = builder.Configuration.GetSection(WolverineSettings.Section).Get<WolverineSettings>() ?? new WolverineSettings();
        var durable = builder.Configuration.GetSection(DurableMessagingFeatures.Section).Get<DurableOptions>() ?? new DurableOptions();
        var webhooks = builder.Configuration.GetSection(DurableMessagingFeatures.WebhooksSection).Get<WebhookOptions>() ?? new WebhookOptions();
        builder.Services.AddSingleton(settings);
        var others = builder.Services.Where(d => d.ServiceType == typeof(IHostedService)).ToHashSet();
        builder.Services.AddWolverine(options =>
        {
            options.ServiceName = "ComputeBank";
            options.ApplicationAssembly = typeof(WolverineHosting).Assembly;
            options.Discovery.DisableConventionalDiscovery().IncludeType(typeof(HoldExpiryHandler)).IncludeType(typeof(MarketDeadlineHandler)).IncludeType(typeof(QueuedCommandHandler))
                .IncludeType(typeof(WebhookDeliveryHandler)).IncludeType(typeof(LedgerCommandHandler));
            options.PersistMessagesWithPostgresql(connectionString, settings.Schema);
            // Created by SchemaMigration with the ledger's schema, which retries while the database is out of reach.
            options.AutoBuildMessageStorageOnStartup = AutoCreate.None;
            options.Durability.ScheduledJobPollingTime = settings.ScheduledJobPollingTime;
            options.Durability.RecoveryBatchSize = Math.Max(1, settings.RecoveryBatchSize);
            options.Durability.HealthCheckPollingTime = settings.HealthCheckPollingTime;
            options.Durability.StaleNodeTimeout = settings.StaleNodeTimeout;
            HoldExpiryHandler.Route(options, durable);
            MarketDeadlineHandler.Route(options, durable);
            QueuedCommandHandler.Route(options, durable);
            WebhookDeliveryHandler.Route(options, webhooks);
            // Handler code is generated ahead (src/ComputeBank.Api/Internal/Generated) and compiled into this assembly: no
            // Roslyn compile on a node's first message (measured in docs/development.md, which says how to regenerate it).
            options.CodeGeneration.TypeLoadMode = settings.CodeGeneration;
            if (settings.CodeGeneration != TypeLoadMode.Static && GeneratedCodeFolder() is { } folder)
            {
                options.CodeGeneration.GeneratedCodeOutputPath = folder;
            }
        });

        // Wolverine's runtime needs the database to start (it takes a node number there), while this service starts
        // without one and answers 503 until it is back: its hosted services start after the schema is applied.
        var wolverine = builder.Services.Where(d => d.ServiceType == typeof(IHostedService) && !others.Contains(d)).ToList();
        wolverine.ForEach(d => builder.Services.Remove(d));
        builder.Services.AddSingleton(sp => new DatabaseDependentServices([.. wolverine.Select(d => Resolve(sp, d))]));
        return builder;
    }

    /// <summary>src/ComputeBank.Api/Internal/Generated of the checkout this build runs from (the service's or a test's
    /// bin folder), where <c>Auto</c> writes handler code; null outside a checkout.</summary>
    private static string? GeneratedCodeFolder()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ComputeBank.sln")))
            {
                return Path.Combine(directory.FullName, "src", "ComputeBank.Api", "Internal", "Generated");
            }
        }

        return null;
    }

    private static IHostedService Resolve(IServiceProvider services, ServiceDescriptor descriptor) =>
        (IHostedService)(descriptor.ImplementationInstance
            ?? descriptor.ImplementationFactory?.Invoke(services)
            ?? ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!));
}

/// <summary>Hosted services that can only start once the database is reachable and migrated (Wolverine's runtime);
/// <see cref="SchemaMigration"/> starts them after the schema and stops them at shutdown.</summary>
public sealed class DatabaseDependentServices(IReadOnlyList<IHostedService> services)
{
    /// <summary>The services, in start order.</summary>
    public IReadOnlyList<IHostedService> Services => services;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _started;

    /// <summary>Whether they have started (Wolverine has its node number and takes messages).</summary>
    public bool Started => _started;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!_started)
            {
                foreach (var service in services)
                {
                    await service.StartAsync(cancellationToken);
                }

                _started = true;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_started)
            {
                foreach (var service in services.Reverse())
                {
                    await service.StopAsync(cancellationToken);
                }

                _started = false;
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}
