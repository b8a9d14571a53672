using System.Text.Json.Nodes;
using ComputeBank.EventStore;

namespace ComputeBank.Messaging.Tests;

// A tiny ledger of integer counters, enough to exercise the bus without the compute-bank domain: counters that may
// never go below zero, moves between them, and a command that always throws (a poisoned message).

public sealed record Move(string OperationId, string From, string To, long Amount);

public sealed record Add(string OperationId, string Counter, long Amount);

public sealed record Explode(string OperationId, string Counter);

public sealed record Added(long Amount);

public sealed record CounterState(long Value);

public sealed class CounterFolder : IStreamFolder
{
    public object? Evolve(string streamId, object? state, object @event) =>
        new CounterState(((state as CounterState)?.Value ?? 0) + ((Added)@event).Amount);
}

public sealed class MoveHandler : ICommandHandler<Move>
{
    public IReadOnlyCollection<string> StreamsToLoad(Move command, IReadOnlyDictionary<string, object?> loaded) => [command.From, command.To];

    public HandlerDecision Decide(Move command, IReadOnlyDictionary<string, object?> states)
    {
        var available = (states[command.From] as CounterState)?.Value ?? 0;
        if (available < command.Amount)
        {
            return new HandlerRejected(CommandReply.Problem(422, "insufficient", "Insufficient", $"{command.From} has {available}"), Remember: true);
        }

        return new HandlerAccepted(
            [new StreamAppend(command.From, "counter", [new Added(-command.Amount)]), new StreamAppend(command.To, "counter", [new Added(command.Amount)])],
            committed => new CommandReply(201, new JsonObject
            {
                ["from"] = committed.StreamVersions[command.From],
                ["to"] = committed.StreamVersions[command.To],
                ["sequence"] = committed.LastSequence,
            }));
    }
}

public sealed class AddHandler : ICommandHandler<Add>
{
    public IReadOnlyCollection<string> StreamsToLoad(Add command, IReadOnlyDictionary<string, object?> loaded) => [command.Counter];

    public HandlerDecision Decide(Add command, IReadOnlyDictionary<string, object?> states) =>
        command.Amount <= 0
            ? new HandlerRejected(CommandReply.Problem(400, "validation_failed", "Bad amount"), Remember: false)
            : new HandlerAccepted([new StreamAppend(command.Counter, "counter", [new Added(command.Amount)])],
                committed => new CommandReply(201, new JsonObject { ["version"] = committed.StreamVersions[command.Counter] }));
}

public sealed class ExplodeHandler : ICommandHandler<Explode>
{
    public IReadOnlyCollection<string> StreamsToLoad(Explode command, IReadOnlyDictionary<string, object?> loaded) => [command.Counter];

    public HandlerDecision Decide(Explode command, IReadOnlyDictionary<string, object?> states) =>
        throw new InvalidOperationException("this command always fails");
}

public static class Counters
{
    public static EventTypeRegistry Types() => new EventTypeRegistry().Register<Added>("V1.Added").Register<CounterState>("V1.CounterState");

    public static HandlerRegistry Handlers() => new HandlerRegistry().Register(new MoveHandler()).Register(new AddHandler()).Register(new ExplodeHandler());

    public static CommandEnvelope Envelope(Move m) => new(m.OperationId, "move", $"{m.From}>{m.To}:{m.Amount}", m);

    public static CommandEnvelope Envelope(Add a) => new(a.OperationId, "add", $"{a.Counter}+{a.Amount}", a);

    public static CommandEnvelope Envelope(Explode e) => new(e.OperationId, "explode", e.Counter, e);
}
