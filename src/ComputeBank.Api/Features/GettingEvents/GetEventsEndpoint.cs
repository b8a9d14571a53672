using System.Text.Json.Nodes;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Api.Ledger;
using ComputeBank.EventStore;

namespace ComputeBank.Api.Features.GettingEvents;

/// <summary>
/// GET /api/v1/events?afterSequence=&amp;limit=: the global feed in sequence order, only below the high-water mark (a
/// page stops at a gap a running transaction could still fill, so a reader never skips an event that commits later).
/// <c>next</c> is the <c>afterSequence</c> of the following request (the same as given when nothing new is there).
/// Always read from the primary: deciding that a gap can be passed needs a fresh transaction id
/// (<c>pg_current_xact_id()</c>), which a hot standby cannot give.
/// </summary>
public static class GetEventsEndpoint
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public static void Map(IEndpointRouteBuilder api) =>
        api.MapGet("/events", GetAsync)
            .WithName("GetEvents")
            .RequireAuthorization(Security.Policies.ReadAll)
            .WithTags(ApiDocs.QueriesTag)
            .WithSummary("Get the global event feed")
            .WithDescription("Events in global sequence order after ?afterSequence= (?limit=), with the next cursor.")
            .AcceptsQuery(new QueryParameter("afterSequence", "Events after this global sequence (0, the default, starts at the first); the next of the previous page.", QueryParameterType.Int64, Minimum: 0, Default: 0))
            .AcceptsQuery(new QueryParameter("limit", "At most this many events.", QueryParameterType.Int32, Minimum: 1, Maximum: MaxLimit, Default: DefaultLimit))
            .Produces<EventPage>(StatusCodes.Status200OK, ApiDocs.Json)
            .ProducesProblems(400, "validation_failed");

    private static async Task<IResult> GetAsync(HttpRequest request, MartenEventStore store, CancellationToken ct)
    {
        var query = new QueryFields(request.Query);
        var afterSequence = query.Integer("afterSequence", 0, 0);
        var limit = query.Integer("limit", DefaultLimit, 1, MaxLimit);
        if (!query.IsValid)
        {
            return query.Problem();
        }

        var events = await store.ReadAllAsync(afterSequence!.Value, (int)limit!.Value, ct);
        return Results.Json(new JsonObject
        {
            ["events"] = new JsonArray([.. events.Select(e => (JsonNode)new JsonObject
            {
                ["sequence"] = e.Sequence,
                ["streamId"] = e.StreamId,
                ["version"] = e.Version,
                ["type"] = e.TypeName,
                ["time"] = OperationResults.Timestamp(e.Timestamp),
                ["data"] = EventData.ToNode(e.Data),
                ["metadata"] = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(e.Metadata, MetadataJson)),
            })]),
            ["next"] = events.Count == 0 ? afterSequence.Value : events[^1].Sequence,
        });
    }

    private static readonly System.Text.Json.JsonSerializerOptions MetadataJson = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };
}
