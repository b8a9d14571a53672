using System.Text.Json.Nodes;

namespace ComputeBank.Messaging.Durable;

/// <summary>A command to store on the durable queue.</summary>
/// <param name="OperationId">The operation id; unique on the queue, so one operation is queued at most once.</param>
/// <param name="CommandType">The command kind's name (<c>deposit</c>, <c>hold-expire</c>, ...), read back when the command runs.</param>
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

/// <summary>A queued command and the message that runs it: also the body of that message, so a run reads nothing
/// back from the queue.</summary>
/// <param name="EnvelopeId">The id of the message (a Wolverine envelope) written with the row.</param>
/// <param name="OperationId">The operation id.</param>
/// <param name="CommandType">The command kind's name.</param>
/// <param name="Fingerprint">The fingerprint it was submitted with (empty for a replayed letter whose row was gone).</param>
/// <param name="Body">The command's JSON body, read the way the synchronous path reads it.</param>
/// <param name="UserId">Who submitted it.</param>
public sealed record QueuedCommand(Guid EnvelopeId, string OperationId, string CommandType, string Fingerprint, JsonObject Body, string? UserId);

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
    DateTimeOffset FailedAt, DateTimeOffset? ReplayedAt, DateTimeOffset? DiscardedAt = null, string? DiscardReason = null);

/// <summary>What a replay request did.</summary>
public enum ReplayOutcome
{
    Replayed,
    NotFound,
    AlreadyReplayed,

    /// <summary>An operator discarded the letter: it is not run again.</summary>
    Discarded,
}

/// <summary>Settings of asynchronous commands (section <c>ComputeBank:Durable</c>). Wolverine runs them from its
/// durable local queue <c>commands</c>; these are the error policy and how many run at once on a node.</summary>
public sealed class DurableOptions
{
    /// <summary>Most queued commands a node runs at once; they join the bus's group commits together.</summary>
    public int Parallelism { get; set; } = 50;

    /// <summary>Attempts for a command that fails for a non-business reason (an internal error) before it goes to the
    /// dead letters. A database out of reach is retried until it is back and does not count.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Cooldown before the second attempt; it doubles per attempt (with jitter) up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long finished commands keep their outcome on the queue (afterwards the operation log answers).</summary>
    public TimeSpan FinishedRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The cooldown after <paramref name="attempts"/> failed attempts (<see cref="Backoff.Cooldown"/>).</summary>
    public TimeSpan Cooldown(int attempts) => Backoff.Cooldown(RetryBaseDelay, RetryMaxDelay, attempts);
}

/// <summary>Retry delays of durable messaging.</summary>
public static class Backoff
{
    /// <summary>Exponential cooldown after <paramref name="attempts"/> failed attempts: <paramref name="baseDelay"/>
    /// doubled per attempt up to <paramref name="maxDelay"/>, with "equal jitter" (at least half the step, so retries
    /// neither stampede nor starve).</summary>
    public static TimeSpan Cooldown(TimeSpan baseDelay, TimeSpan maxDelay, int attempts)
    {
        var step = Math.Min(maxDelay.TotalMilliseconds, baseDelay.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempts - 1, 0, 20)));
        return TimeSpan.FromMilliseconds((step / 2) + (Random.Shared.NextDouble() * step / 2));
    }
}
