using Wolverine;

namespace ComputeBank.Api.Hosting;

/// <summary>How the error policies of our handlers wait before another attempt.</summary>
public static class WolverineRetries
{
    /// <summary>Waits shorter than this stay in memory; longer ones are stored.</summary>
    public static readonly TimeSpan InMemoryLimit = TimeSpan.FromSeconds(2);

    /// <summary>Another attempt of the envelope after <paramref name="cooldown"/>: a short wait in memory, then the
    /// attempt on this node; a longer one stored as a scheduled envelope, so the retry survives a restart and leaves
    /// the queue's slot to other messages meanwhile.</summary>
    public static async ValueTask LaterAsync(IEnvelopeLifecycle lifecycle, TimeSpan cooldown)
    {
        if (cooldown < InMemoryLimit)
        {
            await Task.Delay(cooldown);
            await lifecycle.RetryExecutionNowAsync();
        }
        else
        {
            await lifecycle.ReScheduleAsync(DateTimeOffset.UtcNow + cooldown);
        }
    }
}
