using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ComputeBank.EventStore;

namespace ComputeBank.Messaging;

/// <summary>
/// A command as the bus carries it: the client's operation id, a fingerprint of the command's fields (the same id with
/// another fingerprint is an <c>operation_id_conflict</c>), the command itself, and the trace context it arrived with.
/// </summary>
/// <param name="OperationId">The client-chosen operation id; the idempotency key.</param>
/// <param name="CommandType">Stable name of the command type, e.g. <c>deposit</c>; stored with the operation.</param>
/// <param name="Fingerprint">Hash of the command's fields (not of its arrival time).</param>
/// <param name="Command">The command object; a handler must be registered for its CLR type.</param>
/// <param name="UserId">Who sent it, recorded in event metadata.</param>
public sealed record CommandEnvelope(string OperationId, string CommandType, string Fingerprint, object Command, string? UserId = null)
{
    /// <summary>Correlation id written to the events' metadata (the trace id where there is one).</summary>
    public string? CorrelationId { get; init; }

    /// <summary>Causation id written to the events' metadata (the span or message that caused the command).</summary>
    public string? CausationId { get; init; }

    /// <summary>Set when the command runs from the durable queue: its final outcome (a success or a business refusal)
    /// is recorded on its queue row in the same transaction as its events.</summary>
    public QueuedRun? Queued { get; init; }
}

/// <summary>A run of a queued command: its attempt number (1 for the first), recorded with the outcome.</summary>
public sealed record QueuedRun(int Attempt);

/// <summary>A decision about one command, made by its handler from the states of the streams it touches.</summary>
public abstract record HandlerDecision;

/// <summary>The command is accepted: these events go to these streams; the answer is built once they are committed.</summary>
/// <param name="Changes">Events per stream, in order.</param>
/// <param name="Respond">Builds the answer from the committed stream versions and global sequence.</param>
public sealed record HandlerAccepted(IReadOnlyList<StreamAppend> Changes, Func<CommittedOperation, CommandReply> Respond) : HandlerDecision;

/// <summary>The command is refused for a business rule or bad input; nothing is written but (when
/// <paramref name="Remember"/>) the refusal, so that a retry with the same operation id answers the same.</summary>
public sealed record HandlerRejected(CommandReply Reply, bool Remember) : HandlerDecision;

/// <summary>Events to append to one stream.</summary>
public sealed record StreamAppend(string StreamId, string AggregateType, IReadOnlyList<object> Events);

/// <summary>What the commit gave an accepted command: the new version of every stream it wrote and the global
/// sequence of the last event it wrote.</summary>
public sealed record CommittedOperation(IReadOnlyDictionary<string, long> StreamVersions, long LastSequence, DateTimeOffset CommittedAt);

/// <summary>The answer to a command: an HTTP-like status and a JSON body (a result or a problem).</summary>
/// <remarks>The body is kept as the UTF-8 JSON it goes out as (to the operation log, the HTTP answer, a batch's
/// results), so an answer built on the hot path is serialised once and never turned into a node tree; <see cref="Body"/>
/// parses it on first use for the few readers that look inside.</remarks>
public sealed record CommandReply
{
    private JsonObject? _body;
    private byte[]? _json;

    /// <param name="status">201/200 for success, 4xx for refusals, 503 when the database could not be reached in time.</param>
    /// <param name="body">The result or problem document.</param>
    /// <param name="replayed">True when this is the stored answer of an earlier command with the same operation id.</param>
    public CommandReply(int status, JsonObject body, bool replayed = false)
    {
        ArgumentNullException.ThrowIfNull(body);
        Status = status;
        _body = body;
        Replayed = replayed;
    }

    private CommandReply(int status, byte[] json, bool replayed)
    {
        Status = status;
        _json = json;
        Replayed = replayed;
    }

    /// <summary>An answer whose body is already UTF-8 JSON (an object); it is not parsed unless <see cref="Body"/> is read.</summary>
    public static CommandReply FromJson(int status, byte[] utf8Json, bool replayed = false)
    {
        ArgumentNullException.ThrowIfNull(utf8Json);
        return new CommandReply(status, utf8Json, replayed);
    }

    /// <summary>201/200 for success, 4xx for refusals, 503 when the database could not be reached in time.</summary>
    public int Status { get; init; }

    /// <summary>True when this is the stored answer of an earlier command with the same operation id.</summary>
    public bool Replayed { get; init; }

    /// <summary>The result or problem document (parsed from <see cref="Json"/> on first use; treat it as read-only).</summary>
    public JsonObject Body => _body ??= JsonNode.Parse(_json!)!.AsObject();

    /// <summary>The body as UTF-8 JSON, as it is stored and sent.</summary>
    public ReadOnlySpan<byte> Json => JsonMemory.Span;

    /// <summary><see cref="Json"/> for an asynchronous write.</summary>
    public ReadOnlyMemory<byte> JsonMemory => _json ??= JsonSerializer.SerializeToUtf8Bytes(_body!);

    /// <summary>The body as a JSON string (for a <c>json</c> parameter).</summary>
    public string JsonText => Encoding.UTF8.GetString(Json);

    /// <summary>Whether the command took (or had taken) effect.</summary>
    public bool Succeeded => Status is >= 200 and < 300;

    /// <summary>A problem+json reply (RFC 9457) with a stable <c>code</c>.</summary>
    public static CommandReply Problem(int status, string code, string title, string? detail = null, JsonObject? extensions = null)
    {
        var body = new JsonObject
        {
            ["type"] = $"https://computebank.dev/problems/{code.Replace('_', '-')}",
            ["title"] = title,
            ["status"] = status,
            ["detail"] = detail ?? title,
            ["code"] = code,
        };
        if (extensions is not null)
        {
            foreach (var (key, value) in extensions)
            {
                body[key] = value?.DeepClone();
            }
        }

        return new CommandReply(status, body);
    }
}

/// <summary>
/// Decides one command type. Registered per command type on the <see cref="CommandBus"/>; handlers are pure: the bus
/// loads the streams they ask for, calls <see cref="Decide"/> in arrival order within a group commit, and writes.
/// </summary>
public interface ICommandHandler<TCommand>
    where TCommand : class
{
    /// <summary>Stream ids to load before deciding. Asked again with what is loaded until nothing new is asked.</summary>
    IReadOnlyCollection<string> StreamsToLoad(TCommand command, IReadOnlyDictionary<string, object?> loaded);

    /// <summary>Decide from the current states (null = stream does not exist).</summary>
    HandlerDecision Decide(TCommand command, IReadOnlyDictionary<string, object?> states);

    /// <summary>How the command locks a stream it loads: exclusively (the default; it may write to it) or shared (it
    /// only reads it, and must not see it change until it commits).</summary>
    LockMode LockFor(TCommand command, string streamId) => LockMode.Exclusive;

    /// <summary>
    /// A command that must see the whole ledger as of its own locks (closing a period lists every account with a
    /// balance in it) runs alone in its transaction, and is completed by <see cref="PrepareAsync"/> after its first
    /// streams are locked and loaded.
    /// </summary>
    bool RunsAlone => false;

    /// <summary>Completes a <see cref="RunsAlone"/> command from the database, inside its transaction and locks.</summary>
    ValueTask<TCommand> PrepareAsync(TCommand command, IEventSession session, CancellationToken cancellationToken) => ValueTask.FromResult(command);
}

/// <summary>
/// Keeps a read model current in the same transaction as the events: given the new state of every stream a group
/// commit wrote, returns the statements that update its rows (e.g. balances per account and bucket).
/// </summary>
public interface IStateProjection
{
    /// <summary>Statements for the states after this transaction, keyed by stream id; empty when nothing applies.</summary>
    IEnumerable<Npgsql.NpgsqlBatchCommand> Project(IReadOnlyList<(string StreamId, long Version, object State)> states);
}

/// <summary>Folds events into the state of their stream; one for the whole application, so that the bus can keep the
/// states of a group commit current between commands and store them as inline snapshots.</summary>
public interface IStreamFolder
{
    /// <summary>The state after <paramref name="event"/>, given the state before (null = initial).</summary>
    object? Evolve(string streamId, object? state, object @event);
}
