using System.Text.Json.Nodes;
using ComputeBank.Api.Hosting;
using ComputeBank.Messaging;
using ComputeBank.Messaging.Durable;
using Wolverine;
using Wolverine.ErrorHandling;
using Wolverine.Runtime;
using Wolverine.Runtime.Handlers;

namespace ComputeBank.Api.Features.SubmittingAsynchronously;

/// <summary>
/// Runs a queued command: Wolverine delivers its <see cref="QueuedCommand"/> from the durable local queue
/// <c>commands</c> (persisted with the queue row, recovered from a node that died), and the handler reads the body the
/// way the synchronous path does and hands the command to the <see cref="CommandBus"/>, whose commit records the
/// outcome on the row with the events. A body that no longer reads as a valid command is refused without the bus.
/// Failures that reach no decision (a 5xx) are retried after a cooldown by Wolverine (<see cref="Configure"/>); a
/// database out of reach (503) for as long as it takes, anything else until <see cref="DurableOptions.MaxAttempts"/>,
/// then the command goes to the dead letters behind <c>/api/v1/dead-letters</c>.
/// </summary>
public static partial class QueuedCommandHandler
{
    /// <summary>The durable local queue queued commands run on.</summary>
    public const string Queue = "commands";

    public static void Route(WolverineOptions options, DurableOptions durable)
    {
        options.PublishMessage<QueuedCommand>().ToLocalQueue(Queue);
        // Many at once on a node, so that they share group commits as concurrent HTTP requests do.
        options.LocalQueue(Queue).UseDurableInbox().MaximumParallelMessages(Math.Max(1, durable.Parallelism));
    }

    /// <summary>Wolverine calls this once for the handler's chain: every failure is retried after a cooldown that grows
    /// with the attempts (the handler itself decides when a command has had enough).</summary>
    public static void Configure(HandlerChain chain) =>
        chain.OnAnyException().CustomActionIndefinitely(RetryLaterAsync, "retry after a cooldown");

    public static async Task Handle(
        QueuedCommand message, Envelope envelope, CommandBus bus, QueuedCommandTranslator translator, DurableQueue queue, DurableOptions options,
        ILogger<CommandQueue> logger)
    {
        // From here the run finishes even when the node is asked to stop: the bus may commit it regardless.
        var attempt = Math.Max(1, envelope.Attempts);
        var (command, refusal) = Read(message, translator);
        var reply = command is not null
            ? await bus.SendAsync(command with { Queued = new QueuedRun(attempt) }, CancellationToken.None)
            : refusal!;
        if (command is null && reply.Status < 500)
        {
            await queue.RecordRefusalAsync(message.OperationId, attempt, reply, CancellationToken.None);
        }

        if (reply.Status < 500)
        {
            DurableTelemetry.Processed.Add(1, new KeyValuePair<string, object?>("outcome", reply.Succeeded ? "succeeded" : "failed"));
            return;
        }

        await NotDecidedAsync(message.OperationId, message.CommandType, message.Body, attempt, reply, queue, options, logger);
    }

    /// <summary>What a run whose command reached no decision (a 5xx) does: a database out of reach (503) is retried
    /// without counting, as it is not the command's fault; anything else is recorded as a failed attempt and retried
    /// until <see cref="DurableOptions.MaxAttempts"/>, and then the command goes to the dead letters. Throws
    /// <see cref="CommandNotDecided"/> for Wolverine to retry.</summary>
    internal static async Task NotDecidedAsync(
        string operationId, string commandType, JsonObject body, int attempt, CommandReply reply, DurableQueue queue, DurableOptions options, ILogger logger)
    {
        if (reply.Status == StatusCodes.Status503ServiceUnavailable)
        {
            throw new CommandNotDecided(operationId, reply);
        }

        var error = $"{reply.Status} {(string?)reply.Body["code"]}: {(string?)reply.Body["detail"]}";
        if (attempt >= Math.Max(1, options.MaxAttempts))
        {
            if (await queue.DeadLetterAsync(operationId, commandType, body, attempt, reply, error, CancellationToken.None) is { } letter)
            {
                LogDeadLettered(logger, operationId, letter, error);
                DurableTelemetry.DeadLettered.Add(1);
            }

            return;
        }

        await queue.RecordAttemptAsync(operationId, attempt, error, CancellationToken.None);
        DurableTelemetry.Retried.Add(1);
        throw new CommandNotDecided(operationId, reply);
    }

    /// <summary>The command to send, or the reply that ends it without the bus.</summary>
    private static (CommandEnvelope? Command, CommandReply? Refusal) Read(QueuedCommand message, QueuedCommandTranslator translator)
    {
        try
        {
            var (command, reply) = translator.Translate(message);
            if (command is not null && command.OperationId != message.OperationId)
            {
                return (null, CommandReply.Problem(500, "operation_id_mismatch", "Internal error",
                    $"The queued body reads as operation '{command.OperationId}', not '{message.OperationId}'."));
            }

            return command is not null ? (command, null)
                : (null, reply ?? CommandReply.Problem(500, "internal_error", "Internal error", "The queued command could not be read."));
        }
        catch (Exception ex)
        {
            return (null, CommandReply.Problem(500, "internal_error", "Internal error", $"{ex.GetType().Name}: {ex.Message}"));
        }
    }

    /// <summary>The error policy's action: another attempt after <see cref="DurableOptions.Cooldown"/>.</summary>
    internal static ValueTask RetryLaterAsync(IWolverineRuntime runtime, IEnvelopeLifecycle lifecycle, Exception exception) =>
        WolverineRetries.LaterAsync(lifecycle, runtime.Services.GetRequiredService<DurableOptions>().Cooldown(lifecycle.Envelope?.Attempts ?? 1));

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Command {OperationId} went to dead letter {DeadLetterId}: {Error}")]
    private static partial void LogDeadLettered(ILogger logger, string operationId, long deadLetterId, string error);
}
