using ComputeBank.Api.Http;
using ComputeBank.Api.Security;
using ComputeBank.EventStore;
using Npgsql;

namespace ComputeBank.Api.Features.GettingAccount;

/// <summary>
/// GET /api/v1/accounts?ownerId=: the accounts of one owner (id, kind, status), from the inline <c>accounts</c> read
/// model, so that a provider or an SME (and the console) can find its accounts without knowing their ids. A provider or
/// consumer may list only its own owner's; auditors and operators any owner's.
/// </summary>
public static class ListAccountsEndpoint
{
    public const int MaxAccounts = 1000;

    public static void Map(IEndpointRouteBuilder api) =>
        api.MapGet("/accounts", ListAsync)
            .WithName("ListAccounts")
            .RequireAuthorization(Policies.Reader)
            .WithTags(ApiDocs.QueriesTag)
            .WithSummary("List an owner's accounts")
            .WithDescription("The accounts whose ownerId is ownerId (at most 1,000, by id): id, kind and status. Providers and consumers list their own owner's only.")
            .AcceptsQuery(new QueryParameter("ownerId", "The owner, such as acme-cloud.", QueryParameterType.Text, Required: true))
            .Produces<Contracts.AccountList>(StatusCodes.Status200OK, ApiDocs.Json)
            .ProducesProblems(400, "validation_failed");

    private static async Task<IResult> ListAsync(HttpContext http, MartenEventStore store, AuthSettings settings, CancellationToken ct)
    {
        var query = new QueryFields(http.Request.Query);
        var owner = query.Text("ownerId", required: true);
        if (!query.IsValid)
        {
            return query.Problem();
        }

        if (!ReadAuthorization.ReadsEverything(http.User, settings) && !string.Equals(http.User.FindFirst(ClaimNames.Owner)?.Value, owner, StringComparison.Ordinal))
        {
            return ReadAuthorization.Refused(http, $"owner '{owner}' is not the caller's");
        }

        await using var command = store.DataSource.CreateCommand(
            $"SELECT account_id, kind, status FROM {store.Schema}.accounts WHERE owner_id = $1 ORDER BY account_id LIMIT {MaxAccounts}");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = owner! });
        var accounts = new List<Contracts.AccountSummary>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            accounts.Add(new Contracts.AccountSummary { AccountId = reader.GetString(0), Kind = reader.GetString(1), Status = reader.GetString(2) });
        }

        return Results.Json(new Contracts.AccountList { OwnerId = owner!, Accounts = accounts }, Contracts.ContractJson.Options);
    }
}
