using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace ComputeBank.Api.Contracts;

// The bodies of the durable-messaging endpoints (POST /commands, Prefer: respond-async, GET /operations/{operationId},
// the dead letters). Built as JSON nodes in their slices; described here for /openapi/v1.json and checked against real
// answers by OpenApiDocumentTests.

/// <summary>The body of POST /commands: a command as a message, <c>{type, body}</c>.</summary>
public sealed record SubmitCommandRequest
{
    /// <summary>The command's kind (the same names as in a batch).</summary>
    public required string Type { get; init; }

    /// <summary>The command's JSON object, exactly as its own endpoint takes it (route values as fields).</summary>
    public required JsonObject Body { get; init; }
}

/// <summary>The 202 answer of a command stored on the durable queue (<c>Prefer: respond-async</c> or POST /commands);
/// <c>Location</c> names the same URL as <c>location</c>.</summary>
public sealed record CommandAccepted
{
    /// <summary>The command's operation id.</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public required string OperationId { get; init; }

    /// <summary>The command's kind.</summary>
    public required string Type { get; init; }

    /// <summary>Always <c>pending</c>: GET <c>location</c> to learn the outcome.</summary>
    [AllowedValues("pending")]
    public required string Status { get; init; }

    /// <summary>The operation's status URL, <c>/api/v1/operations/{operationId}</c>.</summary>
    public required string Location { get; init; }

    /// <summary>True when the same command was queued before (nothing new was queued).</summary>
    public required bool AlreadySubmitted { get; init; }
}

/// <summary>The answer of GET /operations/{operationId}: where an operation stands.</summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record OperationStatusView
{
    /// <summary>The operation id.</summary>
    public required string OperationId { get; init; }

    /// <summary><c>pending</c> while queued or running, then <c>succeeded</c> or <c>failed</c>.</summary>
    [AllowedValues("pending", "succeeded", "failed")]
    public required string Status { get; init; }

    /// <summary>The command's kind, or null for a command sent synchronously that only the operation log remembers.</summary>
    public required string? Type { get; init; }

    /// <summary>How often a worker has tried the command.</summary>
    public required int Attempts { get; init; }

    /// <summary>When the command was submitted, or null when unknown.</summary>
    [UtcTimestamp]
    public required string? SubmittedAt { get; init; }

    /// <summary>When the command finished, or null while pending.</summary>
    [UtcTimestamp]
    public required string? FinishedAt { get; init; }

    /// <summary>Once finished: the HTTP status the command answered.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? HttpStatus { get; init; }

    /// <summary>When it succeeded: the command's answer (an operation result; for <c>account</c>, the account).</summary>
    [AnyOfContracts(typeof(OperationResult), typeof(AccountView))]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public object? Result { get; init; }

    /// <summary>When it failed: the problem the command answered.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ApiProblem? Problem { get; init; }

    /// <summary>The last error of a failed attempt, if any.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? LastError { get; init; }

    /// <summary>The dead letter the command became after its last allowed attempt, if it did.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? DeadLetterId { get; init; }
}

/// <summary>A page of GET /dead-letters.</summary>
public sealed record DeadLetterPage
{
    /// <summary>The dead letters of this page, oldest first.</summary>
    public required IReadOnlyList<DeadLetterView> Items { get; init; }

    /// <summary>The URL of the following page, or null on the last page.</summary>
    public required string? Next { get; init; }
}

/// <summary>A queued command that failed more often than the error policy allows.</summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record DeadLetterView
{
    /// <summary>The dead letter's id.</summary>
    public required long Id { get; init; }

    /// <summary>The command's operation id.</summary>
    public required string OperationId { get; init; }

    /// <summary>The command's kind.</summary>
    public required string Type { get; init; }

    /// <summary>The command's JSON object as it was submitted.</summary>
    public required JsonObject Body { get; init; }

    /// <summary>How often it was tried.</summary>
    public required int Attempts { get; init; }

    /// <summary>The last error.</summary>
    public required string Error { get; init; }

    /// <summary>The problem the last attempt answered, or null when it failed without one.</summary>
    public required ApiProblem? Problem { get; init; }

    /// <summary>When it was dead-lettered.</summary>
    [UtcTimestamp]
    public required string FailedAt { get; init; }

    /// <summary>When it was put back on the queue, or null.</summary>
    [UtcTimestamp]
    public required string? ReplayedAt { get; init; }

    /// <summary>When an operator discarded it (it is not run again), or null.</summary>
    [UtcTimestamp]
    public required string? DiscardedAt { get; init; }

    /// <summary>Why it was discarded, or null.</summary>
    public required string? DiscardReason { get; init; }
}

/// <summary>The body of POST /dead-letters/{id}/discard.</summary>
public sealed record DiscardDeadLetterRequest
{
    /// <summary>Why the command is not run again (1 to 500 characters), kept with the letter.</summary>
    [StringLength(500, MinimumLength = 1)]
    public required string Reason { get; init; }
}

/// <summary>The 200 answer of POST /dead-letters/{id}/discard.</summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record DeadLetterDiscarded
{
    /// <summary>The dead letter's id.</summary>
    public required long DeadLetterId { get; init; }

    /// <summary>When it was discarded.</summary>
    [UtcTimestamp]
    public required string DiscardedAt { get; init; }

    /// <summary>Why.</summary>
    public required string Reason { get; init; }
}

/// <summary>The 202 answer of POST /dead-letters/{id}/replay; <c>Location</c> names the same URL as <c>location</c>.</summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record DeadLetterReplayed
{
    /// <summary>The dead letter's id.</summary>
    public required long DeadLetterId { get; init; }

    /// <summary>The command's operation id.</summary>
    public required string OperationId { get; init; }

    /// <summary>Always <c>pending</c>: GET <c>location</c> to learn the outcome.</summary>
    [AllowedValues("pending")]
    public required string Status { get; init; }

    /// <summary>The operation's status URL, <c>/api/v1/operations/{operationId}</c>.</summary>
    public required string Location { get; init; }
}
