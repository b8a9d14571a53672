using System.Text.Json;
using System.Text.Json.Nodes;
using ComputeBank.Domain;
using ComputeBank.Domain.Accounts;
using ComputeBank.Domain.Holds;
using ComputeBank.Domain.Market;
using ComputeBank.Api.Hosting;
using ComputeBank.EventStore;

namespace ComputeBank.Api.Features.PublishingIntegrationEvents;

/// <summary>
/// Stores the integration events other systems subscribe to as Wolverine messages, one <see cref="WebhookDelivery"/>
/// per event and subscriber that wants it, inline in the append's transaction (so an event is announced if and only if
/// it committed), and hands them to this node's queue <c>webhooks</c> once the commit is done. Each event has a stable
/// id, <c>{streamId}/{version}</c>, that every retry repeats; each delivery's envelope id is derived from it and the
/// subscriber.
/// </summary>
public sealed class IntegrationEventsProjection(ScheduledMessages messages, WebhookOptions options) : IInlineProjection
{
    /// <summary>Domain event -> integration event name. The sending side of a transfer carries the settlement.</summary>
    private static readonly Dictionary<Type, string> Published = new()
    {
        [typeof(CapacityDeposited)] = "CapacityDeposited",
        [typeof(CreditsWithdrawn)] = "CreditsWithdrawn",
        [typeof(CreditsTransferredOut)] = "CreditsTransferred",
        [typeof(HoldPlaced)] = "HoldPlaced",
        [typeof(HoldCaptured)] = "HoldCaptured",
        [typeof(HoldReleased)] = "HoldReleased",
        [typeof(HoldExpired)] = "HoldExpired",
        [typeof(TradeOpened)] = "trade.matched",
        [typeof(TradeSettled)] = "trade.settled",
    };

    /// <summary>Every integration event name, those that depend on how a trade or offer ended included.</summary>
    public static IReadOnlyCollection<string> EventTypes => [.. Published.Values, "trade.cancelled", "trade.expired", "offer.expired"];

    /// <summary>The integration event an event is announced as, or null when it is not announced.</summary>
    public static string? NameOf(object @event) => @event switch
    {
        TradeUndone undone => undone.Reason == TradeUndoReason.Cancelled ? "trade.cancelled" : "trade.expired",
        OfferClosed { Reason: OfferCloseReason.Expired } => "offer.expired",
        _ => Published.GetValueOrDefault(@event.GetType()),
    };

    public void Apply(IEventSession session, IReadOnlyList<PendingEvent> events)
    {
        if (options.Subscribers.Count == 0)
        {
            return;
        }

        var deliveries = new List<(Guid, object)>();
        foreach (var pending in events)
        {
            if (NameOf(pending.Data) is not { } type)
            {
                continue;
            }

            var (id, payload) = ToIntegrationEvent(pending, type);
            foreach (var subscriber in options.Subscribers.Where(s => s.Wants(type)))
            {
                deliveries.Add((DeliveryId(subscriber.Key, id), new WebhookDelivery(id, subscriber.Key, type, payload)));
            }
        }

        if (deliveries.Count == 0)
        {
            return;
        }

        var (statement, envelopes) = messages.QueueStatement(deliveries);
        session.Enqueue(statement);
        session.AfterCommit(() => messages.HandOverAsync(envelopes));
    }

    /// <summary>The envelope id of the delivery of event <paramref name="eventId"/> to <paramref name="subscriber"/>.</summary>
    public static Guid DeliveryId(string subscriber, string eventId) => ScheduledMessages.IdFor($"webhook:{subscriber}:{eventId}");

    /// <summary>The event's id and the JSON body subscribers receive.</summary>
    private static (string Id, string Payload) ToIntegrationEvent(PendingEvent pending, string type)
    {
        var operationId = pending.Metadata.Headers?.GetValueOrDefault("operationId");
        var id = pending.Version is { } version
            ? $"{pending.StreamId}/{version.ToString(System.Globalization.CultureInfo.InvariantCulture)}"
            : $"{pending.StreamId}/{operationId}/{pending.TypeName}";
        var payload = new JsonObject
        {
            ["id"] = id,
            ["type"] = type,
            ["operationId"] = operationId,
            ["streamId"] = pending.StreamId,
            ["streamVersion"] = pending.Version,
            ["data"] = JsonSerializer.SerializeToNode(pending.Data, pending.Data.GetType(), DomainJson.Options),
        };
        return (id, payload.ToJsonString());
    }
}
