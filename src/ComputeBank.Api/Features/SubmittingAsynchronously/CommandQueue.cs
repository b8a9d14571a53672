using ComputeBank.Api.Hosting;
using ComputeBank.EventStore;
using ComputeBank.Messaging.Durable;
using Wolverine;

namespace ComputeBank.Api.Features.SubmittingAsynchronously;

/// <summary>
/// Puts commands on the durable queue: each newly queued row and the Wolverine message that runs it
/// (<see cref="QueuedCommand"/> on the local queue <c>commands</c>) are written in one transaction, and the messages
/// are handed to this node's queue once it has committed. Used by respond-async submissions, dead-letter replays, and
/// at start for rows an earlier version queued without a message.
/// </summary>
public sealed class CommandQueue(DurableQueue queue, ScheduledMessages messages, TimeProvider time)
{
    /// <summary>Stores validated submissions; answers per submission, in order.</summary>
    public async Task<IReadOnlyList<SubmissionOutcome>> SubmitAsync(IReadOnlyList<QueueSubmission> submissions, CancellationToken cancellationToken)
    {
        var enrolled = new List<Envelope>();
        return (await RunAsync(() => queue.SubmitAsync(submissions, Enrol(enrolled), cancellationToken), enrolled)).Outcomes;
    }

    /// <summary>Puts a dead letter's command back with fresh attempts.</summary>
    public async Task<(ReplayOutcome Outcome, string? OperationId)> ReplayAsync(long deadLetterId, CancellationToken cancellationToken)
    {
        var enrolled = new List<Envelope>();
        var (outcome, command) = await RunAsync(() => queue.ReplayAsync(deadLetterId, time.GetUtcNow(), Enrol(enrolled), cancellationToken), enrolled);
        return (outcome, command?.OperationId);
    }

    /// <summary>Gives every pending row without a message (queued by a version before Wolverine) its message. Returns
    /// how many rows it adopted.</summary>
    public async Task<int> AdoptAsync(CancellationToken cancellationToken)
    {
        var adopted = 0;
        while (true)
        {
            var enrolled = new List<Envelope>();
            var batch = await RunAsync(() => queue.AdoptAsync(500, Enrol(enrolled), cancellationToken), enrolled);
            adopted += batch.Count;
            if (batch.Count == 0)
            {
                return adopted;
            }
        }
    }

    private Enrolment Enrol(List<Envelope> enrolled) => commands =>
    {
        var (statement, envelopes) = messages.QueueStatement([.. commands.Select(c => (c.EnvelopeId, (object)c))]);
        enrolled.Clear();
        enrolled.AddRange(envelopes);
        return [statement];
    };

    /// <summary>Runs one queue transaction and hands its messages over once committed, also when it committed on the
    /// primary alone (its answer is then a 503, but the rows exist and must run).</summary>
    private async Task<T> RunAsync<T>(Func<Task<T>> transaction, List<Envelope> enrolled)
    {
        T result;
        try
        {
            result = await transaction();
        }
        catch (ReplicationUnconfirmedException)
        {
            await messages.HandOverAsync(enrolled);
            throw;
        }

        await messages.HandOverAsync(enrolled);
        return result;
    }
}
