using ComputeBank.Api.Hosting;
using ComputeBank.Api.Observability;
using ComputeBank.EventStore;
using Npgsql;

namespace ComputeBank.Api.Health;

/// <summary>
/// The checks behind <c>/health/ready</c>: the database answers, the schema is current, the node is not stopping, and,
/// when a projection daemon runs here, no projection is stalled beyond
/// <see cref="OperationsSettings.DaemonStallThreshold"/>.
/// </summary>
internal sealed class Readiness(
    NpgsqlDataSource dataSource, SchemaMigration schema, ShutdownGate shutdown, OperationsSettings settings, IServiceProvider services)
{
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    public async Task<HealthReport> CheckAsync(CancellationToken cancellationToken)
    {
        var checks = new List<HealthCheck>
        {
            await CheckDatabaseAsync(cancellationToken),
            new("schema", schema.IsCurrent, schema.LastError),
            new("accepting_commands", !shutdown.IsStopping, shutdown.IsStopping ? "the service is shutting down" : null),
        };
        if (services.GetService<ProjectionDaemon>() is { } daemon)
        {
            checks.Add(await CheckDaemonAsync(daemon, cancellationToken));
        }

        return new HealthReport(checks.TrueForAll(c => c.Healthy) ? "ready" : "not_ready", checks);
    }

    private async Task<HealthCheck> CheckDatabaseAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(CheckTimeout);
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(timeout.Token);
            return new HealthCheck("database", true, null);
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            return new HealthCheck("database", false, ex.Message);
        }
    }

    private async Task<HealthCheck> CheckDaemonAsync(ProjectionDaemon daemon, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(CheckTimeout);
            var stalled = (await daemon.ReadLagAsync(timeout.Token)).Where(l => l.Events > 0 && l.Age > settings.DaemonStallThreshold).ToList();
            return stalled.Count == 0
                ? new HealthCheck("daemon", true, null)
                : new HealthCheck("daemon", false, string.Join("; ", stalled.Select(l =>
                    FormattableString.Invariant($"projection '{l.Projection}' is {l.Events} events behind, the oldest waiting {l.Age.TotalSeconds:0.#} s"))));
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            return new HealthCheck("daemon", false, ex.Message);
        }
    }
}
