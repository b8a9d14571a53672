using System.Text.Json.Nodes;

namespace ComputeBank.Messaging.Durable;

/// <summary>A command to store on the durable queue.</summary>
/// <param name="OperationId">The operation id; unique on the queue, so one operation is queued at most once.</param>
/// <param name="CommandType">The command kind's name (<c>deposit</c>, <c>hold-expire</c>, ...), read back by an <see cref="IQueuedCommandTranslator"/>.</param>
/// <param name="Fingerprint">The command's fingerprint; the same operation id with another one is a conflict.</param>
/// <param name="Body">The command's JSON body as it will be read back when the command runs.</param>
/// <param name="UserId">Who submitted it.</param>
/// <param name="AvailableAt">When it may run at the earliest (now, or a scheduled time).</param>
public sealed record QueueSubmission(string OperationId, string CommandType, string Fingerprint, JsonObject Body, string? UserId, DateTimeOffset AvailableAt);

/// <summary>What storing a submission did.</summary>
public enum SubmissionOutcome
{
    /// <summary>Stored; a worker will run it.</summary>
    Queued,

    /// <summary>The same operation (same fingerprint) was queued before; nothing new was stored.</summary>
    AlreadyQueued,

    /// <summary>The operation id is queued with other fields.</summary>
    Conflict,
}

/// <summary>A queued command claimed by a worker, under the lease <paramref name="LeaseToken"/>.</summary>
public sealed record QueuedCommand(
    long Id, string OperationId, string CommandType, string Fingerprint, JsonObject Body, string? UserId, int Attempts, Guid LeaseToken);

/// <summary>Where an operation stands, from the queue and the operation log.</summary>
/// <param name="OperationId">The operation id.</param>
/// <param name="Status"><c>pending</c>, <c>succeeded</c> or <c>failed</c>.</param>
/// <param name="CommandType">The command kind's name.</param>
/// <param name="HttpStatus">The status the command answered (absent while pending).</param>
/// <param name="Response">The result or problem it answered (absent while pending).</param>
/// <param name="Attempts">Attempts so far (0 when only the operation log knows it).</param>
/// <param name="SubmittedAt">When it was queued.</param>
/// <param name="FinishedAt">When its outcome was recorded.</param>
/// <param name="LastError">The error of its last failed attempt.</param>
/// <param name="DeadLetterId">The dead letter it lies in, when it failed for good after its retries.</param>
public sealed record OperationStatus(
    string OperationId, string Status, string? CommandType, int? HttpStatus, JsonObject? Response, int Attempts,
    DateTimeOffset? SubmittedAt, DateTimeOffset? FinishedAt, string? LastError, long? DeadLetterId)
{
    /// <summary>The queued command's body (absent when only the operation log knows the operation).</summary>
    public JsonObject? Body { get; init; }

    /// <summary>Who queued it (absent when only the operation log knows the operation).</summary>
    public string? UserId { get; init; }
}

/// <summary>A command that failed more often than the error policy allows.</summary>
public sealed record DeadLetter(
    long Id, string OperationId, string CommandType, JsonObject Body, int Attempts, string Error, JsonObject? Problem,
    DateTimeOffset FailedAt, DateTimeOffset? ReplayedAt);

/// <summary>What a replay request did.</summary>
public enum ReplayOutcome
{
    Replayed,
    NotFound,
    AlreadyReplayed,
}

/// <summary>
/// Turns a queued command back into what the bus takes: reads its body the way the synchronous path does. Returns
/// either an envelope or the reply that ends the message (its body is no longer valid: a 4xx; a type this build does
/// not know: a 5xx, retried and then dead-lettered).
/// </summary>
public interface IQueuedCommandTranslator
{
    (CommandEnvelope? Envelope, CommandReply? Reply) Translate(QueuedCommand command);
}

/// <summary>Settings of the durable command queue and of its worker loop (section <c>ComputeBank:Durable</c>).</summary>
public sealed class DurableOptions
{
    /// <summary>Whether this node runs a worker (every node does by default).</summary>
    public bool WorkerEnabled { get; set; } = true;

    /// <summary>Most commands claimed per dequeue; they join the bus's group commits together.</summary>
    public int BatchSize { get; set; } = 50;

    /// <summary>How often an idle worker looks for due commands when no notification wakes it.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a claim holds a command; a node that dies lets it go when the lease runs out.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Attempts for a command that fails for a non-business reason before it goes to the dead letters.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Cooldown before the second attempt; it doubles per attempt (with jitter) up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long finished commands keep their outcome on the queue (afterwards the operation log answers).</summary>
    public TimeSpan FinishedRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Fault injection for tests: runs after a batch is claimed, before the bus sees it. Throwing leaves the
    /// batch claimed and unprocessed, as a node that dies there would.</summary>
    public Func<IReadOnlyList<QueuedCommand>, CancellationToken, Task>? AfterClaim { get; set; }

    /// <summary>Fault injection for tests: runs after the bus committed a batch (its final outcomes recorded with it),
    /// before the worker records retries and dead letters.</summary>
    public Func<IReadOnlyList<QueuedCommand>, CancellationToken, Task>? AfterSend { get; set; }
}
