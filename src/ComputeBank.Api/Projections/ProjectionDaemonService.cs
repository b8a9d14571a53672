using ComputeBank.EventStore;

namespace ComputeBank.Api.Projections;

/// <summary>Runs the async projections' <see cref="ProjectionDaemon"/> for the host's lifetime: started after the schema
/// migration (registered after it), stopped (leadership given up) on shutdown.</summary>
public sealed class ProjectionDaemonService(ProjectionDaemon daemon) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        daemon.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => daemon.StopAsync(cancellationToken);
}
