using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ComputeBank.Api.Http;
using ComputeBank.Domain;
using ComputeBank.Domain.Holds;
using ComputeBank.Messaging;
using ComputeBank.Messaging.Durable;
using Npgsql;

namespace ComputeBank.Api.Features.ExpiringHolds;

/// <summary>
/// A hold's expiry is a durable scheduled message: when a hold stream is written at version 1 and pending (it was just
/// placed), an <see cref="ExpireHold"/> command with operation id <c>expire:{holdId}</c> is queued for <c>expiresAt</c>
/// in the SAME transaction as <c>HoldPlaced</c>; whichever node's worker is up runs it on time. When the hold is
/// captured or released first, the scheduled command is dropped in that transaction. Capturing at or after
/// <c>expiresAt</c> is refused by the domain (<c>hold_not_pending</c>) even if the expiry has not run yet.
/// </summary>
public sealed class HoldExpiryScheduling(DurableQueue queue) : IStateProjection
{
    public IEnumerable<NpgsqlBatchCommand> Project(IReadOnlyList<(string StreamId, long Version, object State)> states)
    {
        var placed = states
            .Where(s => s is { Version: 1, State: HoldState { Status: HoldStatus.Pending } })
            .Select(s => HoldExpiry.Submission((HoldState)s.State))
            .ToList();
        var ended = states
            .Where(s => s.State is HoldState { Status: HoldStatus.Captured or HoldStatus.Released })
            .Select(s => HoldExpiry.OperationIdFor(((HoldState)s.State).HoldId).Value)
            .ToList();
        if (placed.Count > 0)
        {
            yield return queue.ScheduleStatement(placed);
            yield return queue.NotifyStatement();
        }

        if (ended.Count > 0)
        {
            yield return queue.CancelStatement(ended);
        }
    }
}

/// <summary>The scheduler's own command kind, <c>hold-expire</c> (not offered to clients): body <c>{holdId}</c>,
/// operation id <c>expire:{holdId}</c>, decided at the time it runs.</summary>
public static class HoldExpiry
{
    public const string Type = "hold-expire";

    /// <summary>Not offered to clients: no route and no policy; the durable worker reads it back from the queue.</summary>
    public static readonly CommandKind Kind = new CommandKind<ExpireHoldRequest, ExpireHold>
    {
        Type = Type,
        SuccessStatus = StatusCodes.Status200OK,
        Action = "expire a hold",
    };

    /// <summary><c>expire:{holdId}</c>, or a digest of the hold id when that would be longer than an operation id may be.</summary>
    public static OperationId OperationIdFor(OperationId holdId)
    {
        var text = "expire:" + holdId.Value;
        if (text.Length > 128)
        {
            text = "expire:sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(holdId.Value)));
        }

        return OperationId.Parse(text);
    }

    public static QueueSubmission Submission(HoldState hold)
    {
        var operationId = OperationIdFor(hold.HoldId);
        var command = new ExpireHold(operationId, hold.HoldId, hold.ExpiresAt);
        return new QueueSubmission(operationId.Value, Type, CommandFingerprint.Of(command), new JsonObject { ["holdId"] = hold.HoldId.Value }, null, hold.ExpiresAt);
    }
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
