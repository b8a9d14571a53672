using System.Text.Json.Nodes;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Features.ReadingSystemAccounts;
using ComputeBank.Api.Hosting;
using ComputeBank.Api.Http;
using ComputeBank.Api.Ledger;
using ComputeBank.Api.Security;
using ComputeBank.Domain;
using ComputeBank.Domain.Accounts;

namespace ComputeBank.Api.Features.GettingBalances;

/// <summary>
/// GET /api/v1/accounts/{accountId}/balances?asOf=T | ?version=N: the balances per bucket as they were at instant T or
/// after stream version N (now, with neither), replayed from the account's own events (never read from a projection:
/// DOMAIN.md invariant 7). Before the account's first event the answer is version 0 with no balances.
/// </summary>
public static class GetBalancesEndpoint
{
    public static void Map(IEndpointRouteBuilder api) =>
        api.MapGet("/accounts/{accountId}/balances", GetAsync)
            .WithName("GetBalances")
            .ReadsFromReplica()
            .RequireAccountReader()
            .WithTags(ApiDocs.QueriesTag)
            .WithSummary("Get balances as of an instant or version")
            .WithDescription("Balances per bucket replayed from the account's events alone, as of ?asOf=<ISO timestamp> or at stream ?version=N (time travel).")
            .AcceptsQuery(new QueryParameter("asOf", "The instant to replay to (ISO 8601; UTC when it carries no offset). Not with version.", QueryParameterType.Timestamp))
            .AcceptsQuery(new QueryParameter("version", "The stream version to replay to (1 or more, at most the stream's length). Not with asOf.", QueryParameterType.Int64, Minimum: 1))
            .Produces<BalancesView>(StatusCodes.Status200OK, ApiDocs.Json)
            .ProducesProblems(400, "validation_failed")
            .ProducesProblems(404, "account_not_found");

    private static async Task<IResult> GetAsync(
        string accountId, HttpRequest request, ReadReplica replica, LedgerCatalogue catalogue, SystemAccountReader systemAccounts, CancellationToken ct)
    {
        var store = replica.Store;
        var query = new QueryFields(request.Query);
        if (!AccountId.TryParse(accountId, out var id, out var error))
        {
            query.Add("accountId", error ?? "is not valid");
        }

        var asOf = query.Timestamp("asOf");
        var version = query.Integer("version", null, 1);
        if (query.Has("asOf") && query.Has("version"))
        {
            query.Add("version", "give either asOf or version, not both");
        }

        if (!query.IsValid)
        {
            return query.Problem();
        }

        if (catalogue.IsSystemAccount(id!))
        {
            return Results.Json(await systemAccounts.BalancesAsync(id!.Value, asOf, version, ct));
        }

        var streamId = StreamIds.Account(id!);
        var events = await store.FetchStreamAsync(streamId, ct, version, asOf);
        if (events.Count == 0 && (await store.FetchStreamAsync(streamId, ct, version: 1)).Count == 0)
        {
            return Problems.NotFound("account_not_found", $"No account '{accountId}'.");
        }

        if (version is { } wanted && events.Count < wanted)
        {
            query.Add("version", $"the account's stream has only {events.Count} events");
            return query.Problem();
        }

        var state = (AccountState?)events.Aggregate((object?)null, (s, e) => Domain.Ledger.Evolve(streamId, s, e.Data));
        return Results.Json(new JsonObject
        {
            ["accountId"] = id!.Value,
            ["asOf"] = asOf is { } at ? OperationResults.Timestamp(at) : null,
            ["version"] = events.Count == 0 ? 0 : events[^1].Version,
            ["lastEventAt"] = events.Count == 0 ? null : OperationResults.Timestamp(events[^1].Timestamp),
            ["status"] = state is null ? null : OperationResults.Lower(state.Status.ToString()),
            ["balances"] = state is null
                ? new JsonArray()
                : new JsonArray([.. state.Balances.Select(b => (JsonNode)ContractJson.ToNode(OperationResults.Bucket(b.Key, b.Value.Posted, b.Value.Pending, state.Available(b.Key))))]),
        });
    }
}
