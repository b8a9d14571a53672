using System.Text.Json;
using System.Text.Json.Nodes;
using ComputeBank.Domain;
using ComputeBank.Domain.Accounts;
using ComputeBank.Domain.Holds;
using ComputeBank.EventStore;
using ComputeBank.Messaging.Outbox;

namespace ComputeBank.Api.Features.PublishingIntegrationEvents;

/// <summary>
/// Writes the integration events other systems subscribe to into the outbox, inline in the append's transaction (so an
/// event is announced if and only if it committed). Each has a stable id, <c>{streamId}/{version}</c>, that every
/// retry repeats. The relay (<see cref="OutboxRelay"/>) delivers them after commit.
/// </summary>
public sealed class IntegrationEventsProjection(OutboxWriter outbox, WebhookOptions options) : IInlineProjection
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
    };

    public static IReadOnlyCollection<string> EventTypes => Published.Values;

    public void Apply(IEventSession session, IReadOnlyList<PendingEvent> events)
    {
        if (options.Subscribers.Count == 0)
        {
            return;
        }

        var integration = events.Where(e => Published.ContainsKey(e.Data.GetType())).Select(ToIntegrationEvent).ToList();
        foreach (var statement in outbox.InsertStatements(integration, options.Subscribers))
        {
            session.Enqueue(statement);
        }
    }

    private static IntegrationEvent ToIntegrationEvent(PendingEvent pending)
    {
        var type = Published[pending.Data.GetType()];
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
        return new IntegrationEvent(id, type, payload);
    }
}
