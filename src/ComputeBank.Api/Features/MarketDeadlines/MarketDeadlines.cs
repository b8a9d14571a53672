using System.Text.Json.Nodes;
using ComputeBank.Api.Features.SubmittingAsynchronously;
using ComputeBank.Api.Hosting;
using ComputeBank.Api.Http;
using ComputeBank.Domain;
using ComputeBank.Domain.Market;
using ComputeBank.Messaging;
using ComputeBank.Messaging.Durable;
using ComputeBank.EventStore;
using Wolverine;
using Wolverine.ErrorHandling;
using Wolverine.Runtime.Handlers;

namespace ComputeBank.Api.Features.MarketDeadlines;

/// <summary>
/// The market's deadlines are Wolverine scheduled messages stored in the SAME transaction as the events that set them,
/// as hold expiries are: <c>TradeOpened</c> schedules <see cref="TradePaymentDue"/> at the trade's payBy;
/// <c>OfferListed</c> schedules <see cref="OfferValidityEnded"/> at the offer's validUntil. A trade settled or cancelled,
/// or an offer withdrawn, drops its deadline in that transaction. Whichever node's durability agent is up runs a due
/// deadline once, as the command <c>expire-trade:{tradeId}</c> or <c>expire-offer:{offerId}</c>; if the trade or offer
/// ended first the command is refused and changes nothing. A payment from payBy on is refused by the domain
/// (<c>trade_expired</c>) whether or not the expiry has run.
/// </summary>
/// <remarks>
/// This reads the commit's events, not the streams' states: an offer listed and taken from by an order in the same
/// group commit is written at version 2 by the end of it, so "version 1 and on the book" (how hold expiries are found)
/// would miss its listing and leave it on the book for ever (found by the fault suite's market clients). Schedules are
/// written before drops, so a deadline set and dropped in one commit is gone at its end.
/// </remarks>
public sealed class MarketDeadlineScheduling(ScheduledMessages scheduled) : IInlineProjection
{
    public void Apply(IEventSession session, IReadOnlyList<PendingEvent> events)
    {
        var set = new List<(string, object, DateTimeOffset)>();
        var dropped = new List<string>();
        foreach (var pending in events)
        {
            switch (pending.Data)
            {
                case TradeOpened opened:
                    set.Add((TradeExpiry.OperationIdFor(opened.TradeId).Value, new TradePaymentDue(opened.TradeId.Value, opened.PayBy), opened.PayBy));
                    break;
                case TradeSettled settled:
                    dropped.Add(TradeExpiry.OperationIdFor(settled.TradeId).Value);
                    break;
                case TradeUndone { Reason: TradeUndoReason.Cancelled } cancelled:
                    dropped.Add(TradeExpiry.OperationIdFor(cancelled.TradeId).Value);
                    break;
                case OfferListed listed:
                    set.Add((OfferExpiry.OperationIdFor(listed.OfferId).Value, new OfferValidityEnded(listed.OfferId.Value, listed.ValidUntil), listed.ValidUntil));
                    break;
                case OfferClosed { Reason: OfferCloseReason.Withdrawn } withdrawn:
                    dropped.Add(OfferExpiry.OperationIdFor(withdrawn.OfferId).Value);
                    break;
            }
        }

        if (set.Count > 0)
        {
            session.Enqueue(scheduled.ScheduleStatement(set));
        }

        if (dropped.Count > 0)
        {
            session.Enqueue(scheduled.CancelStatement(dropped));
        }
    }
}

/// <summary>The scheduled message of a trade's payment deadline.</summary>
public sealed record TradePaymentDue(string TradeId, DateTimeOffset PayBy);

/// <summary>The scheduled message of the end of an offer's validity.</summary>
public sealed record OfferValidityEnded(string OfferId, DateTimeOffset ValidUntil);

/// <summary>
/// Runs due market deadlines as commands through the bus (they join a group commit; their answers go into the operation
/// log). The command is decided at its deadline or later: a node whose clock runs a little behind the one that
/// scheduled the message still expires the trade rather than being told it is not due. A refusal (the trade was paid
/// or cancelled, the offer withdrawn) ends the message. Failures follow the hold expiries' policy: a database out of
/// reach is retried for as long as it takes, anything else until <c>MaxAttempts</c> and then a dead letter whose replay
/// runs the queued command <c>trade-expire</c> or <c>offer-expire</c>.
/// </summary>
public static class MarketDeadlineHandler
{
    /// <summary>The durable local queue the market's deadlines run on.</summary>
    public const string Queue = "market-deadlines";

    public static void Route(WolverineOptions options, DurableOptions durable)
    {
        options.PublishMessage<TradePaymentDue>().ToLocalQueue(Queue);
        options.PublishMessage<OfferValidityEnded>().ToLocalQueue(Queue);
        options.LocalQueue(Queue).UseDurableInbox().MaximumParallelMessages(Math.Max(1, durable.Parallelism));
    }

    /// <summary>Wolverine calls this once for each handler chain: its error policy.</summary>
    public static void Configure(HandlerChain chain) =>
        chain.OnAnyException().CustomActionIndefinitely(QueuedCommandHandler.RetryLaterAsync, "retry after a cooldown");

    public static Task Handle(
        TradePaymentDue message, Envelope envelope, CommandBus bus, TimeProvider time, DurableQueue queue, DurableOptions options, ILogger<CommandQueue> logger,
        CancellationToken cancellationToken)
    {
        var tradeId = OperationId.Parse(message.TradeId);
        var operationId = TradeExpiry.OperationIdFor(tradeId);
        var at = Later(time.GetUtcNow(), message.PayBy);
        return RunAsync(new ExpireTrade(operationId, tradeId, at), TradeExpiry.Type, new JsonObject { ["tradeId"] = tradeId.Value },
            envelope, bus, queue, options, logger, cancellationToken);
    }

    public static Task Handle(
        OfferValidityEnded message, Envelope envelope, CommandBus bus, TimeProvider time, DurableQueue queue, DurableOptions options, ILogger<CommandQueue> logger,
        CancellationToken cancellationToken)
    {
        var offerId = OperationId.Parse(message.OfferId);
        var operationId = OfferExpiry.OperationIdFor(offerId);
        var at = Later(time.GetUtcNow(), message.ValidUntil);
        return RunAsync(new ExpireOffer(operationId, offerId, at), OfferExpiry.Type, new JsonObject { ["offerId"] = offerId.Value },
            envelope, bus, queue, options, logger, cancellationToken);
    }

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a >= b ? a : b;

    private static async Task RunAsync(
        LedgerCommand command, string type, JsonObject body, Envelope envelope, CommandBus bus, DurableQueue queue, DurableOptions options, ILogger<CommandQueue> logger,
        CancellationToken cancellationToken)
    {
        // The fingerprint leaves the decision time out (as every command's), so a retry after a crash replays the answer.
        var reply = await bus.SendAsync(new CommandEnvelope(command.OperationId.Value, type, CommandFingerprint.Of(command), command), cancellationToken);
        if (reply.Status >= 500)
        {
            await QueuedCommandHandler.NotDecidedAsync(command.OperationId.Value, type, body, Math.Max(1, envelope.Attempts), reply, queue, options, logger);
        }
    }
}

/// <summary>The scheduler's command kind <c>trade-expire</c> (not offered to clients): body <c>{tradeId}</c>, operation id
/// <c>expire-trade:{tradeId}</c>, decided when it runs.</summary>
public static class TradeExpiry
{
    public const string Type = "trade-expire";

    public static readonly CommandKind Kind = new CommandKind<ExpireTradeRequest, ExpireTrade>
    {
        Type = Type,
        SuccessStatus = StatusCodes.Status200OK,
        Action = "expire a trade",
        Body = Ledger.MarketResults.TradeBody,
    };

    public static OperationId OperationIdFor(OperationId tradeId) => DerivedOperationIds.Of("expire-trade", tradeId.Value);
}

/// <summary>The queued body of <c>trade-expire</c>.</summary>
public sealed record ExpireTradeRequest : ICommandRequest<ExpireTrade>
{
    /// <summary>The trade id.</summary>
    public required string TradeId { get; init; }

    public ExpireTrade? ToCommand(RequestCheck check, CommandContext context)
    {
        var tradeId = check.OperationId(TradeId);
        return tradeId is null ? null : new ExpireTrade(TradeExpiry.OperationIdFor(tradeId), tradeId, context.Now);
    }
}

/// <summary>The scheduler's command kind <c>offer-expire</c> (not offered to clients): body <c>{offerId}</c>, operation id
/// <c>expire-offer:{offerId}</c>, decided when it runs.</summary>
public static class OfferExpiry
{
    public const string Type = "offer-expire";

    public static readonly CommandKind Kind = new CommandKind<ExpireOfferRequest, ExpireOffer>
    {
        Type = Type,
        SuccessStatus = StatusCodes.Status200OK,
        Action = "expire an offer",
        Body = Ledger.MarketResults.OfferBody,
    };

    public static OperationId OperationIdFor(OperationId offerId) => DerivedOperationIds.Of("expire-offer", offerId.Value);
}

/// <summary>The queued body of <c>offer-expire</c>.</summary>
public sealed record ExpireOfferRequest : ICommandRequest<ExpireOffer>
{
    /// <summary>The offer id.</summary>
    public required string OfferId { get; init; }

    public ExpireOffer? ToCommand(RequestCheck check, CommandContext context)
    {
        var offerId = check.OperationId(OfferId);
        return offerId is null ? null : new ExpireOffer(OfferExpiry.OperationIdFor(offerId), offerId, context.Now);
    }
}
