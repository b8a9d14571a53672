using ComputeBank.Api.Hosting;
using ComputeBank.Messaging;
using Wolverine.Runtime;

namespace ComputeBank.Api.Features;

/// <summary>Commands the bus decides together, all or none when <paramref name="Atomic"/> (a batch request's).</summary>
public sealed record CommandBatch(IReadOnlyList<CommandEnvelope> Commands, bool Atomic);

/// <summary>
/// Every command of the API is a Wolverine message: the HTTP endpoints hand a <see cref="CommandEnvelope"/> (or a
/// <see cref="CommandBatch"/>) to Wolverine, which runs <see cref="LedgerCommandHandler"/> inline and answers with its
/// reply. Until Wolverine has started (the database has not been reached since this node started) a command is
/// answered 503 as the bus answers one the database cannot take.
/// </summary>
public sealed class LedgerCommands(IWolverineRuntime runtime, DatabaseDependentServices wolverine)
{
    private static readonly CommandReply NotStarted = CommandReply.Problem(StatusCodes.Status503ServiceUnavailable, "service_unavailable", "Try again",
        "This node has not reached the ledger's database since it started, so it cannot take commands yet; retry with the same operation id.");

    public async Task<CommandReply> SendAsync(CommandEnvelope command, CancellationToken cancellationToken) =>
        wolverine.Started ? await new MessageBus(runtime).InvokeAsync<CommandReply>(command, cancellationToken) : NotStarted;

    public async Task<IReadOnlyList<CommandReply>> SendManyAsync(IReadOnlyList<CommandEnvelope> commands, bool atomic, CancellationToken cancellationToken) =>
        wolverine.Started
            ? await new MessageBus(runtime).InvokeAsync<IReadOnlyList<CommandReply>>(new CommandBatch(commands, atomic), cancellationToken)
            : [.. commands.Select(_ => NotStarted)];
}

/// <summary>Wolverine's handler of the API's commands: it joins them to the <see cref="CommandBus"/>'s next group commit,
/// which decides them with every other command of the node in arrival order.</summary>
public static class LedgerCommandHandler
{
    public static Task<CommandReply> Handle(CommandEnvelope command, CommandBus bus, CancellationToken cancellationToken) =>
        bus.SendAsync(command, cancellationToken);

    public static Task<IReadOnlyList<CommandReply>> Handle(CommandBatch batch, CommandBus bus, CancellationToken cancellationToken) =>
        bus.SendManyAsync(batch.Commands, batch.Atomic, cancellationToken);
}
