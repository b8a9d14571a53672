using System.Text.Json;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Api.Ledger;
using ComputeBank.Api.Security;
using ComputeBank.Domain;
using ComputeBank.Messaging;

namespace ComputeBank.Api.Features;

/// <summary>Operation ids the service derives for commands it sends itself (expiries) or whose body names none of its own
/// (payments): <c>{prefix}:{key}</c>, or <c>{prefix}:sha256:{hex}</c> of the key when that is longer than an operation id
/// may be or a digest is asked for.</summary>
public static class DerivedOperationIds
{
    public static OperationId Of(string prefix, string key, bool digest = false)
    {
        var text = prefix + ":" + key;
        if (digest || text.Length > 128 || !OperationId.TryParse(text, out var id, out _))
        {
            // A key too long (or not printable ASCII) is hashed; the readable form of a payment, "trade:reference", is
            // unambiguous because a trade id with a colon is always hashed with a newline between the two.
            return OperationId.Parse(prefix + ":sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key))));
        }

        return id;
    }
}

/// <summary>What a command is told besides its body: the time it is decided at, who sent it, and the
/// <c>Idempotency-Key</c> header for the few commands whose body has no operation id of its own.</summary>
public sealed record CommandContext(DateTimeOffset Now, string? UserId, string? IdempotencyKey);

/// <summary>A command's request record: validated from its own values and mapped to its domain command.</summary>
/// <typeparam name="TCommand">The domain command.</typeparam>
public interface ICommandRequest<out TCommand>
    where TCommand : LedgerCommand
{
    /// <summary>Checks every value (problems go to <paramref name="check"/>) and maps the record to its command; null when invalid.</summary>
    TCommand? ToCommand(RequestCheck check, CommandContext context);
}

/// <summary>The HTTP route of a command's own endpoint (under <c>/api/v1</c>) and its endpoint (OpenAPI operation) name.</summary>
public sealed record CommandRoute(string Method, string Pattern, string Name)
{
    public static CommandRoute Post(string pattern, string name) => new(HttpMethods.Post, pattern, name);

    public static CommandRoute Put(string pattern, string name) => new(HttpMethods.Put, pattern, name);
}

/// <summary>Which account's (or hold's, offer's, trade's) owner a provider or consumer must be to send a command;
/// <see cref="None"/> for the operator's and the settlement system's commands, which act on no account of the caller's.</summary>
public sealed record Ownership(string? AccountId = null, OwnedResource? Resource = null, (string Owner, AccountKind Kind)? OpensFor = null)
{
    public static readonly Ownership None = new();

    public static Ownership Of(AccountId account) => new(AccountId: account.Value);

    public static Ownership OfHold(OperationId holdId) => new(Resource: new OwnedResource(ResourceKind.Hold, holdId.Value));

    /// <summary>The offer's provider account.</summary>
    public static Ownership OfOffer(OperationId offerId) => new(Resource: new OwnedResource(ResourceKind.Offer, offerId.Value));

    /// <summary>The trade's buyer account.</summary>
    public static Ownership OfTrade(OperationId tradeId) => new(Resource: new OwnedResource(ResourceKind.Trade, tradeId.Value));

    public static Ownership Opening(string owner, AccountKind kind) => new(OpensFor: (owner, kind));
}

/// <summary>
/// Everything the API knows about one kind of command, in one place: its name in batches and on the queue
/// (<c>deposit</c>, ...), its request record (what is read, validated and documented), its domain command type, the status
/// of its success, its endpoint's route, policy and documentation, the ownership rule of its callers, and its bus handler.
/// Each slice declares its kind; <see cref="CommandRegistry"/> lists them all.
/// </summary>
public abstract class CommandKind
{
    /// <summary>The name in batches and on the durable queue.</summary>
    public required string Type { get; init; }

    /// <summary>The command's own endpoint; null for a command the API does not offer to clients (the scheduler's own).</summary>
    public CommandRoute? Route { get; init; }

    public required int SuccessStatus { get; init; }

    /// <summary>The endpoint's authorization policy (<see cref="Policies"/>); its roles are the roles that may send the
    /// command in a batch or as a message too. Null for a command the API does not offer to clients.</summary>
    public string? Policy { get; init; }

    /// <summary>What a caller refused this command may not do, for the 403 detail (<c>the role consumer may not deposit</c>).</summary>
    public required string Action { get; init; }

    public string Summary { get; init; } = string.Empty;

    public string Description { get; init; } = string.Empty;

    /// <summary>The success body's contract.</summary>
    public Type Response { get; init; } = typeof(OperationResult);

    /// <summary>Whether the operation id may come from the <c>Idempotency-Key</c> header (documented as a parameter).</summary>
    public bool IdempotencyKey { get; init; }

    /// <summary>The problems of this command beyond those every command can answer.</summary>
    public IReadOnlyList<ProblemCodes> Problems { get; init; } = [];

    public abstract Type RequestType { get; }

    public abstract Type CommandType { get; }

    public RequestShape Shape => RequestShape.Of(RequestType);

    /// <summary>
    /// Reads one command body: deserialised into the request record, validated from it and mapped to the domain command;
    /// or every field error.
    /// </summary>
    public (LedgerCommand? Command, IReadOnlyDictionary<string, string[]> Errors) Read(JsonElement body, LedgerCatalogue catalogue, CommandContext context)
    {
        var shape = Shape;
        var check = new RequestCheck(shape, catalogue);
        var request = RequestReader.Read(shape, body, check);
        var command = ToCommand(request, check, context);
        return check.IsValid && command is not null ? (command, check.Errors) : (null, check.Errors);
    }

    /// <summary>The authorization rule of one command of this kind.</summary>
    public CommandRule RuleOf(LedgerCommand command)
    {
        var roles = Policy is null ? Array.Empty<string>() : Policies.RolesByPolicy[Policy];
        var ownership = OwnershipOf(command);
        return new CommandRule(Action, roles, ownership.AccountId, ownership.Resource, ownership.OpensFor);
    }

    /// <summary>The bus handler of this kind's commands.</summary>
    public abstract object Handler(LedgerCatalogue catalogue, string schema);

    internal abstract void Register(HandlerRegistry handlers, LedgerCatalogue catalogue, string schema);

    private protected abstract LedgerCommand? ToCommand(object request, RequestCheck check, CommandContext context);

    private protected abstract Ownership OwnershipOf(LedgerCommand command);
}

/// <summary>A command kind with its request record <typeparamref name="TRequest"/> and domain command <typeparamref name="TCommand"/>.</summary>
public sealed class CommandKind<TRequest, TCommand> : CommandKind
    where TRequest : class
    where TCommand : LedgerCommand
{
    /// <summary>Validates the request record and maps it to the domain command: the record's own
    /// <see cref="ICommandRequest{TCommand}.ToCommand"/> unless given.</summary>
    public Func<TRequest, RequestCheck, CommandContext, TCommand?> ToDomain { get; init; } = (request, check, context) =>
        request is ICommandRequest<TCommand> own
            ? own.ToCommand(check, context)
            : throw new InvalidOperationException($"{typeof(TRequest).Name} is no ICommandRequest<{typeof(TCommand).Name}>: give the kind its ToDomain.");

    /// <summary>Whose account or hold a provider or consumer must own to send the command.</summary>
    public Func<TCommand, Ownership> Owner { get; init; } = _ => Ownership.None;

    /// <summary>The success body, when it is not the operation result.</summary>
    public Func<TCommand, OperationOutcome, CommittedOperation, byte[]>? Body { get; init; }

    /// <summary>The bus handler, given the ledger's handler of the command and the database schema; the ledger's handler itself when null.</summary>
    public Func<LedgerHandler<TCommand>, string, ICommandHandler<TCommand>>? CustomHandler { get; init; }

    public override Type RequestType => typeof(TRequest);

    public override Type CommandType => typeof(TCommand);

    public override object Handler(LedgerCatalogue catalogue, string schema) => HandlerOf(catalogue, schema);

    internal override void Register(HandlerRegistry handlers, LedgerCatalogue catalogue, string schema) => handlers.Register(HandlerOf(catalogue, schema));

    private protected override LedgerCommand? ToCommand(object request, RequestCheck check, CommandContext context) =>
        ToDomain((TRequest)request, check, context);

    private protected override Ownership OwnershipOf(LedgerCommand command) => Owner((TCommand)command);

    private ICommandHandler<TCommand> HandlerOf(LedgerCatalogue catalogue, string schema)
    {
        var ledger = new LedgerHandler<TCommand>(catalogue, SuccessStatus, Body);
        return CustomHandler is null ? ledger : CustomHandler(ledger, schema);
    }
}
