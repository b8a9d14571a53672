using System.Text.Json;
using ComputeBank.Domain;
using ComputeBank.Messaging;
using ComputeBank.Messaging.Durable;

namespace ComputeBank.Api.Features.SubmittingAsynchronously;

/// <summary>
/// Reads a queued command back with its kind's request record, as the synchronous path does, decided at the time it runs.
/// The stored operation id goes in as the Idempotency-Key, so kinds whose operation id may come from that header (or be
/// generated) read the same id again; kinds with the id in their body read it from there.
/// </summary>
public sealed class QueuedCommandTranslator(LedgerCatalogue catalogue, TimeProvider time)
{
    public (CommandEnvelope? Envelope, CommandReply? Reply) Translate(QueuedCommand command)
    {
        var kind = CommandRegistry.ByType.GetValueOrDefault(command.CommandType);
        if (kind is null)
        {
            return (null, CommandReply.Problem(500, "unknown_command_type", "Unknown command type",
                $"This node does not know command type '{command.CommandType}'."));
        }

        var context = new CommandContext(time.GetUtcNow(), command.UserId, command.OperationId);
        return CommandEndpoints.Read(kind, JsonSerializer.SerializeToElement(command.Body), catalogue, context);
    }
}
