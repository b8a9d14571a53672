using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using ComputeBank.Api.Contracts;

namespace ComputeBank.Api.Features.SubmittingBatches;

/// <summary>The body of POST /api/v1/commands/batch: up to 8,190 commands, applied in order.</summary>
public sealed record BatchRequest
{
    /// <summary>When true, all commands take effect in one transaction or none does (the others answer
    /// <c>batch_aborted</c>); when false (the default), each command stands alone.</summary>
    public bool? Atomic { get; init; }

    /// <summary>The commands, 1 to 8,190 of them.</summary>
    [MinLength(1)]
    [MaxLength(SubmitBatchEndpoint.MaxCommands)]
    public required IReadOnlyList<BatchCommand> Commands { get; init; }
}

/// <summary>One command of a batch: its type and the body its own endpoint would take. Values a single command takes
/// from its path (<c>accountId</c>, <c>holdId</c>, <c>resourceClass</c>, <c>period</c>) go into the body.</summary>
public sealed record BatchCommand
{
    /// <summary>The command type: <c>account</c>, <c>deposit</c>, <c>withdrawal</c>, <c>transfer</c>, <c>period-transfer</c>,
    /// <c>hold</c>, <c>hold-capture</c>, <c>hold-release</c>, <c>credit-limit</c>, <c>account-freeze</c>,
    /// <c>account-unfreeze</c>, <c>account-close</c> or <c>period-close</c>.</summary>
    public required string Type { get; init; }

    /// <summary>The command's JSON body, as its endpoint takes it.</summary>
    public required JsonObject Body { get; init; }
}

/// <summary>The 200 answer of a batch: one result or problem per command, in the order sent.</summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record BatchResponse
{
    /// <summary>Whether the batch was atomic.</summary>
    public required bool Atomic { get; init; }

    /// <summary>How many commands succeeded.</summary>
    public required int Succeeded { get; init; }

    /// <summary>How many commands were refused (in an aborted atomic batch: all of them).</summary>
    public required int Failed { get; init; }

    /// <summary>One entry per command, in the order sent.</summary>
    public required IReadOnlyList<BatchItemResult> Results { get; init; }
}

/// <summary>The outcome of one command of a batch: its status and either its result or its problem.</summary>
[JsonNumberHandling(JsonNumberHandling.Strict)]
public sealed record BatchItemResult
{
    /// <summary>The status the command would have answered alone (201/200 on success, 202 queued with
    /// <c>Prefer: respond-async</c>, 4xx refused; 422 <c>batch_aborted</c> for the commands of an atomic batch that another
    /// command made fail).</summary>
    public required int Status { get; init; }

    /// <summary>True when this is the stored answer of an earlier submission with the same operation id.</summary>
    public required bool Replayed { get; init; }

    /// <summary>On success: the command's answer (an operation result; for <c>account</c>, the account); with
    /// <c>Prefer: respond-async</c> (status 202), the queued command's status URL.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    [AnyOfContracts(typeof(OperationResult), typeof(AccountView), typeof(CommandAccepted))]
    public JsonObject? Result { get; init; }

    /// <summary>On refusal: the problem the command would have answered alone.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    [AnyOfContracts(typeof(ApiProblem))]
    public JsonObject? Problem { get; init; }
}
