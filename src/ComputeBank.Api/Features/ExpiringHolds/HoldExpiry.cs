using System.Text.Json.Nodes;
using ComputeBank.Api.Features.SubmittingAsynchronously;
using ComputeBank.Api.Hosting;
using ComputeBank.Api.Http;
using ComputeBank.Domain;
using ComputeBank.Domain.Holds;
using ComputeBank.Messaging;
using ComputeBank.Messaging.Durable;
using Npgsql;
using Wolverine;
using Wolverine.ErrorHandling;
using Wolverine.Runtime.Handlers;

namespace ComputeBank.Api.Features.ExpiringHolds;

/// <summary>
/// A hold's expiry is a Wolverine scheduled message: when a hold stream is written at version 1 and pending (it was just
/// placed), a <see cref="HoldExpiryDue"/> for <c>expiresAt</c> is stored in the SAME transaction as <c>HoldPlaced</c>
/// (see <see cref="ScheduledMessages"/>); whichever node's durability agent is up runs it on time, as the command
/// <c>expire:{holdId}</c>. When the hold is captured or released first, the scheduled message is dropped in that
/// transaction. Capturing at or after <c>expiresAt</c> is refused by the domain (<c>hold_not_pending</c>) even if the
/// expiry has not run yet.
/// </summary>
public sealed class HoldExpiryScheduling(ScheduledMessages scheduled) : IStateProjection
{
    public IEnumerable<NpgsqlBatchCommand> Project(IReadOnlyList<(string StreamId, long Version, object State)> states)
    {
        var placed = new List<(string, object, DateTimeOffset)>();
        var ended = new List<string>();
        foreach (var (_, version, state) in states)
        {
            if (state is HoldState { Status: HoldStatus.Pending } hold && version == 1)
            {
                placed.Add((HoldExpiry.OperationIdFor(hold.HoldId).Value, new HoldExpiryDue(hold.HoldId.Value, hold.ExpiresAt), hold.ExpiresAt));
            }
            else if (state is HoldState { Status: HoldStatus.Captured or HoldStatus.Released } done)
            {
                ended.Add(HoldExpiry.OperationIdFor(done.HoldId).Value);
            }
        }

        if (placed.Count > 0)
        {
            yield return scheduled.ScheduleStatement(placed);
        }

        if (ended.Count > 0)
        {
            yield return scheduled.CancelStatement(ended);
        }
    }
}

/// <summary>The scheduled message of a hold's expiry: the hold, and the expiry it was placed with.</summary>
public sealed record HoldExpiryDue(string HoldId, DateTimeOffset ExpiresAt);

/// <summary>
/// Runs a due <see cref="HoldExpiryDue"/> as the command <c>expire:{holdId}</c> through the bus (so it joins a group
/// commit and its answer goes into the operation log like any command's). A refusal (the hold was captured, released
/// or expired already) ends the message. Failures follow the queued commands' policy
/// (<see cref="QueuedCommandHandler.NotDecidedAsync"/>): a database out of reach is retried for as long as it takes (a
/// hold must not stay pending past its expiry because the database was down); anything else until
/// <c>MaxAttempts</c>, and then the expiry is a dead letter behind <c>/api/v1/dead-letters</c>, whose replay runs it as
/// the queued command <c>hold-expire</c>.
/// </summary>
public static class HoldExpiryHandler
{
    /// <summary>The durable local queue hold expiries run on.</summary>
    public const string Queue = "hold-expiry";

    public static void Route(WolverineOptions options, DurableOptions durable)
    {
        options.PublishMessage<HoldExpiryDue>().ToLocalQueue(Queue);
        // Many at once, like queued commands, so that expiries due together share group commits instead of running
        // a few at a time (Wolverine's default is one per core).
        options.LocalQueue(Queue).UseDurableInbox().MaximumParallelMessages(Math.Max(1, durable.Parallelism));
    }

    /// <summary>Wolverine calls this once for the handler's chain: its error policy.</summary>
    public static void Configure(HandlerChain chain) =>
        chain.OnAnyException().CustomActionIndefinitely(QueuedCommandHandler.RetryLaterAsync, "retry after a cooldown");

    public static async Task Handle(
        HoldExpiryDue message, Envelope envelope, CommandBus bus, TimeProvider time, DurableQueue queue, DurableOptions options, ILogger<CommandQueue> logger,
        CancellationToken cancellationToken)
    {
        var holdId = OperationId.Parse(message.HoldId);
        var operationId = HoldExpiry.OperationIdFor(holdId);
        var fingerprint = CommandFingerprint.Of(new ExpireHold(operationId, holdId, message.ExpiresAt));
        var command = new ExpireHold(operationId, holdId, time.GetUtcNow());
        var reply = await bus.SendAsync(new CommandEnvelope(operationId.Value, HoldExpiry.Type, fingerprint, command), cancellationToken);
        if (reply.Status >= 500)
        {
            await QueuedCommandHandler.NotDecidedAsync(
                operationId.Value, HoldExpiry.Type, new JsonObject { ["holdId"] = holdId.Value }, Math.Max(1, envelope.Attempts), reply, queue, options, logger);
        }
    }
}

/// <summary>The scheduler's own command kind, <c>hold-expire</c> (not offered to clients): body <c>{holdId}</c>,
/// operation id <c>expire:{holdId}</c>, decided at the time it runs.</summary>
public static class HoldExpiry
{
    public const string Type = "hold-expire";

    /// <summary>Not offered to clients: no route and no policy. A command kind so GET /operations can read an expiry's
    /// body (who may see it) and so a dead-lettered expiry, replayed, runs from the durable command queue.</summary>
    public static readonly CommandKind Kind = new CommandKind<ExpireHoldRequest, ExpireHold>
    {
        Type = Type,
        SuccessStatus = StatusCodes.Status200OK,
        Action = "expire a hold",
    };

    /// <summary><c>expire:{holdId}</c>, or a digest of the hold id when that would be longer than an operation id may be.</summary>
    public static OperationId OperationIdFor(OperationId holdId) => DerivedOperationIds.Of("expire", holdId.Value);
}

/// <summary>The queued body of <c>hold-expire</c>: the hold whose expiry is due.</summary>
public sealed record ExpireHoldRequest : ICommandRequest<ExpireHold>
{
    /// <summary>The hold id.</summary>
    public required string HoldId { get; init; }

    /// <summary>Validates the body and maps it to <see cref="ExpireHold"/>, decided at the time it runs.</summary>
    public ExpireHold? ToCommand(RequestCheck check, CommandContext context)
    {
        var holdId = check.OperationId(HoldId);
        return holdId is null ? null : new ExpireHold(HoldExpiry.OperationIdFor(holdId), holdId, context.Now);
    }
}
