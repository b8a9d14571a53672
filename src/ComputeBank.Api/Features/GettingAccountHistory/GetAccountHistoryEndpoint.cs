using System.Text.Json.Nodes;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Features.ReadingSystemAccounts;
using ComputeBank.Api.Hosting;
using ComputeBank.Api.Http;
using ComputeBank.Api.Ledger;
using ComputeBank.Api.Security;
using ComputeBank.Domain;
using ComputeBank.Domain.Accounts;

namespace ComputeBank.Api.Features.GettingAccountHistory;

/// <summary>
/// GET /api/v1/accounts/{accountId}/history?afterVersion=&amp;limit=: the account's events in stream order, each with its
/// version, global sequence, stable type name, time, data, and the balance (posted, pending, available) of every bucket
/// it touched right after it. <c>next</c> is the <c>afterVersion</c> of the following page, null on the last page.
/// </summary>
public static class GetAccountHistoryEndpoint
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public static void Map(IEndpointRouteBuilder api) =>
        api.MapGet("/accounts/{accountId}/history", GetAsync)
            .WithName("GetAccountHistory")
            .ReadsFromReplica()
            .RequireAccountReader()
            .WithTags(ApiDocs.QueriesTag)
            .WithSummary("Get an account's history")
            .WithDescription("Events in stream order (?afterVersion=&limit=, at most 1000) with version, global sequence, type, time, data and the bucket balance after each; next is the cursor of the following page. For a system account, every event that posted to it, numbered 1, 2, ... as its versions (from an async projection; asOfSequence says how far it has read).")
            .AcceptsQuery(new QueryParameter("afterVersion", "Events after this stream version (0, the default, starts at the first).", QueryParameterType.Int64, Minimum: 0, Default: 0))
            .AcceptsQuery(new QueryParameter("limit", "At most this many events.", QueryParameterType.Int32, Minimum: 1, Maximum: MaxLimit, Default: DefaultLimit))
            .Produces<HistoryPage>(StatusCodes.Status200OK, ApiDocs.Json)
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

        var afterVersion = query.Integer("afterVersion", 0, 0);
        var limit = query.Integer("limit", DefaultLimit, 1, MaxLimit);
        if (!query.IsValid)
        {
            return query.Problem();
        }

        if (catalogue.IsSystemAccount(id!))
        {
            return Results.Json(await systemAccounts.HistoryAsync(id!.Value, afterVersion!.Value, (int)limit!.Value, ct));
        }

        // The balances after each event need the state before the page: replay from the first event, one more than
        // the page to know whether a next page exists.
        var streamId = StreamIds.Account(id!);
        var events = await store.ReadStreamAsync(streamId, 1, ct, toVersion: checked(afterVersion!.Value + limit!.Value + 1));
        if (events.Count == 0)
        {
            return Problems.NotFound("account_not_found", $"No account '{accountId}'.");
        }

        var page = new JsonArray();
        object? state = null;
        foreach (var e in events.Take((int)Math.Min(events.Count, afterVersion.Value + limit.Value)))
        {
            state = Domain.Ledger.Evolve(streamId, state, e.Data);
            if (e.Version <= afterVersion.Value)
            {
                continue;
            }

            var account = (AccountState)state!;
            page.Add(new JsonObject
            {
                ["version"] = e.Version,
                ["sequence"] = e.Sequence,
                ["type"] = e.TypeName,
                ["time"] = OperationResults.Timestamp(e.Timestamp),
                ["data"] = EventData.ToNode(e.Data),
                ["balances"] = new JsonArray([.. AccountEvolution.BucketsOf((AccountEvent)e.Data, id!).Order().Select(b =>
                    (JsonNode)ContractJson.ToNode(OperationResults.Bucket(b, account.Balance(b).Posted, account.Balance(b).Pending, account.Available(b))))]),
            });
        }

        var more = events.Count > afterVersion.Value + limit.Value;
        return Results.Json(new JsonObject
        {
            ["accountId"] = id!.Value,
            ["events"] = page,
            ["next"] = more ? afterVersion.Value + limit.Value : null,
        });
    }
}
