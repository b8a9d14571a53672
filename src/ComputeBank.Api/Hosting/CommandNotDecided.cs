using ComputeBank.Messaging;

namespace ComputeBank.Api.Hosting;

/// <summary>The bus answered a command run from a Wolverine message with a 5xx (it could not reach a decision): the
/// message's error policy retries it.</summary>
public sealed class CommandNotDecided(string operationId, CommandReply reply)
    : Exception($"Operation '{operationId}' was answered {reply.Status} {(string?)reply.Body["code"]}: {(string?)reply.Body["detail"]}");
