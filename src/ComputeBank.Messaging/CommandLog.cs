using Microsoft.Extensions.Logging;

namespace ComputeBank.Messaging;

/// <summary>
/// One Information line per answered command, so that an operator sees what the ledger does without a collector:
/// operation id, command type, outcome (succeeded, replayed, rejected with its problem code, failed with its code and
/// status) and milliseconds from queueing to the answer. Every command of a batch gets its own line, and nothing else is
/// logged per command.
/// <para>
/// The category is <see cref="CommandBus.CommandLogCategory"/> (<c>ComputeBank.Messaging.Commands</c>), apart from the
/// bus's own warnings, so <c>Logging:LogLevel:ComputeBank.Messaging.Commands</c> = <c>Warning</c> (environment variable
/// <c>Logging__LogLevel__ComputeBank.Messaging.Commands=Warning</c>) turns these lines off and leaves everything else.
/// Then they cost one <see cref="ILogger.IsEnabled"/> per answered unit: the caller asks once before its loop, and the
/// generated methods ask again before anything is boxed or formatted.
/// </para>
/// Event ids of the messaging component: 2001-2009 the bus, 2010-2019 this log, 2101-2199 the durable queue's worker,
/// 2201-2299 the outbox relay.
/// </summary>
internal static partial class CommandLog
{
    public const string Succeeded = "succeeded";
    public const string Replayed = "replayed";

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "Command {OperationId} {CommandType} {Outcome} in {DurationMs} ms")]
    public static partial void Answered(ILogger logger, string operationId, string commandType, string outcome, double durationMs);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information, Message = "Command {OperationId} {CommandType} rejected {Code} in {DurationMs} ms")]
    public static partial void Rejected(ILogger logger, string operationId, string commandType, string code, double durationMs);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Information, Message = "Command {OperationId} {CommandType} failed {Code} ({Status}) in {DurationMs} ms")]
    public static partial void Failed(ILogger logger, string operationId, string commandType, string code, int status, double durationMs);
}
