using ComputeBank.EventStore;

namespace ComputeBank.Messaging;

/// <summary>The handlers of the bus, one per command type, registered explicitly (no assembly scanning).</summary>
public sealed class HandlerRegistry
{
    private readonly Dictionary<Type, IHandler> _handlers = [];

    /// <summary>Registers the handler of <typeparamref name="TCommand"/>; a second registration for the same type is a bug.</summary>
    public HandlerRegistry Register<TCommand>(ICommandHandler<TCommand> handler)
        where TCommand : class
    {
        if (!_handlers.TryAdd(typeof(TCommand), new Adapter<TCommand>(handler)))
        {
            throw new InvalidOperationException($"A handler for {typeof(TCommand).Name} is registered already.");
        }

        return this;
    }

    internal IHandler For(object command) =>
        _handlers.TryGetValue(command.GetType(), out var handler)
            ? handler
            : throw new InvalidOperationException($"No handler is registered for {command.GetType().Name}.");

    internal bool Handles(Type commandType) => _handlers.ContainsKey(commandType);

    internal bool RunsAlone(object command) => For(command).RunsAlone;

    internal interface IHandler
    {
        IReadOnlyCollection<string> StreamsToLoad(object command, IReadOnlyDictionary<string, object?> loaded);

        HandlerDecision Decide(object command, IReadOnlyDictionary<string, object?> states);

        LockMode LockFor(object command, string streamId);

        bool RunsAlone { get; }

        ValueTask<object> PrepareAsync(object command, IEventSession session, CancellationToken cancellationToken);
    }

    private sealed class Adapter<TCommand>(ICommandHandler<TCommand> handler) : IHandler
        where TCommand : class
    {
        public IReadOnlyCollection<string> StreamsToLoad(object command, IReadOnlyDictionary<string, object?> loaded) =>
            handler.StreamsToLoad((TCommand)command, loaded);

        public HandlerDecision Decide(object command, IReadOnlyDictionary<string, object?> states) =>
            handler.Decide((TCommand)command, states);

        public LockMode LockFor(object command, string streamId) => handler.LockFor((TCommand)command, streamId);

        public bool RunsAlone => handler.RunsAlone;

        public async ValueTask<object> PrepareAsync(object command, IEventSession session, CancellationToken cancellationToken) =>
            await handler.PrepareAsync((TCommand)command, session, cancellationToken);
    }
}
