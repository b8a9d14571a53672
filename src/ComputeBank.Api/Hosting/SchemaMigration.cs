using ComputeBank.Api.Features.PublishingIntegrationEvents;
using ComputeBank.Api.Features.SubmittingAsynchronously;
using ComputeBank.Api.Ledger;
using ComputeBank.Api.Observability;
using ComputeBank.EventStore;

namespace ComputeBank.Api.Hosting;

/// <summary>
/// Applies the schema (the ledger's, then Wolverine's; each advisory-locked, so several nodes may start at once) and then
/// starts Wolverine's runtime (and gives commands queued and webhooks left to deliver by a version before it their messages). If the database cannot be reached, the host still starts, answers <c>/health/ready</c>
/// with 503, and keeps trying every few seconds, so that a database that comes up later is picked up without a restart.
/// </summary>
public sealed class SchemaMigration(
    MartenEventStore store, Wolverine.Runtime.IWolverineRuntime wolverine, DatabaseDependentServices dependents, CommandQueue commands,
    EarlierOutbox outbox,
    ILogger<SchemaMigration> logger) : BackgroundService
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(3);
    private volatile bool _current;
    private volatile string? _lastError = "not applied yet";

    /// <summary>Whether the schema has been brought to the version this build expects.</summary>
    public bool IsCurrent => _current;

    public string? LastError => _lastError;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // The first attempt runs before the host takes requests, so a healthy start serves a migrated database.
        await TryMigrateAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await dependents.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!_current && !stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(RetryInterval, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            if (!stoppingToken.IsCancellationRequested)
            {
                await TryMigrateAsync(stoppingToken);
            }
        }
    }

    private async Task TryMigrateAsync(CancellationToken cancellationToken)
    {
        try
        {
            await store.MigrateAsync(cancellationToken, LedgerTypes.Modules);
            // Wolverine's envelope tables (schema 'wolverine'), under Wolverine's migration advisory lock.
            await wolverine.Storage.Admin.MigrateAsync();
            await dependents.StartAsync(cancellationToken);
            // Commands an earlier version queued for its own worker get their Wolverine message.
            await commands.AdoptAsync(cancellationToken);
            // And webhook deliveries an earlier version left in its outbox table.
            await outbox.AdoptAsync(cancellationToken);
            _current = true;
            _lastError = null;
        }
        catch (Exception ex) when (IsDatabaseFailure(ex))
        {
            _lastError = ex.Message;
            ApiLog.MigrationFailed(logger, ex.Message);
        }
    }

    /// <summary>The database out of reach or dropping the connection, also when wrapped: Wolverine wraps a failure of its
    /// start in an <see cref="AggregateException"/> around an <see cref="InvalidOperationException"/>.</summary>
    internal static bool IsDatabaseFailure(Exception ex) => ex switch
    {
        Npgsql.NpgsqlException or TimeoutException or System.Net.Sockets.SocketException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsDatabaseFailure),
        _ => ex.InnerException is { } inner && IsDatabaseFailure(inner),
    };
}
