using ComputeBank.Api.Http;
using ComputeBank.EventStore;
using ComputeBank.Messaging;

namespace ComputeBank.Api.Observability;

/// <summary>Whether the host has begun to stop (the application-stopping token has fired).</summary>
internal sealed class ShutdownGate(IHostApplicationLifetime lifetime)
{
    public bool IsStopping => lifetime.ApplicationStopping.IsCancellationRequested;
}

/// <summary>
/// Once the host is stopping, a request that could change the ledger (any method but GET, HEAD and OPTIONS) is answered
/// 503 <c>shutting_down</c> with <c>Connection: close</c> and nothing is done, so the client retries on another node
/// with the same operation id. Requests already past this point finish: the server waits for them.
/// </summary>
internal sealed class ShutdownGateMiddleware(RequestDelegate next, ShutdownGate gate, ILogger<ShutdownGateMiddleware> logger)
{
    public Task InvokeAsync(HttpContext context)
    {
        var method = context.Request.Method;
        if (!gate.IsStopping || HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method))
        {
            return next(context);
        }

        ApiLog.RefusedWhileStopping(logger, method, context.Request.Path.Value ?? "");
        context.Response.Headers.Connection = "close";
        return Problems.Of(StatusCodes.Status503ServiceUnavailable, "shutting_down", "The service is shutting down",
            "This node is stopping and takes no new commands; nothing was done. Retry with the same operation id.").ExecuteAsync(context);
    }
}

/// <summary>
/// The end of a stop, after the web server has finished (or, at the shutdown timeout, abandoned) in-flight requests:
/// the command bus commits and answers whatever is still queued, then the projection daemon (when one runs) gives up
/// its leadership locks so another node takes over at once. All of it within <see cref="HostOptions.ShutdownTimeout"/>.
/// </summary>
internal sealed class GracefulShutdown(CommandBus bus, IServiceProvider services, ILogger<GracefulShutdown> logger) : IHostedLifecycleService
{
    // Resolved at start: a host may be stopped again after its container is disposed (test factories do).
    private readonly ProjectionDaemon? _daemon = services.GetService<ProjectionDaemon>();
    private int _stopped;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        ApiLog.Stopping(logger);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        try
        {
            await bus.DisposeAsync().AsTask().WaitAsync(cancellationToken);
            if (_daemon is not null)
            {
                await _daemon.StopAsync(cancellationToken);
            }

            ApiLog.Drained(logger);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            ApiLog.DrainTimedOut(logger, bus.QueueDepth);
        }
    }
}
