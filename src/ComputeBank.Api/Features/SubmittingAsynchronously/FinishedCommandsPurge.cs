using ComputeBank.Messaging.Durable;

namespace ComputeBank.Api.Features.SubmittingAsynchronously;

/// <summary>Once a minute, deletes queue rows finished longer ago than <see cref="DurableOptions.FinishedRetention"/>;
/// the operation log still answers for them. Every node runs it; the deletes are idempotent.</summary>
public sealed partial class FinishedCommandsPurge(DurableQueue queue, DurableOptions options, TimeProvider time, ILogger<FinishedCommandsPurge> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(1), time);
        while (await timer.WaitForNextTickAsync(stoppingToken).AsTask().ContinueWith(t => !t.IsCanceled && t.Result, TaskScheduler.Default))
        {
            try
            {
                await queue.PurgeFinishedAsync(time.GetUtcNow() - options.FinishedRetention, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogPurgeFailed(logger, ex.Message);
            }
        }
    }

    [LoggerMessage(EventId = 2102, Level = LogLevel.Debug, Message = "Purging finished queued commands failed ({Reason}); trying again in a minute")]
    private static partial void LogPurgeFailed(ILogger logger, string reason);
}
