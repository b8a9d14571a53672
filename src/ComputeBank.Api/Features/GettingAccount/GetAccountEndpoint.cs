using ComputeBank.Api.Contracts;
using ComputeBank.Api.Features.ReadingSystemAccounts;
using ComputeBank.Api.Http;
using ComputeBank.Api.Ledger;
using ComputeBank.Api.Security;
using ComputeBank.Domain;
using ComputeBank.Domain.Accounts;
using ComputeBank.EventStore;

namespace ComputeBank.Api.Features.GettingAccount;

/// <summary>GET /api/v1/accounts/{accountId}: the account with its credit limits and balances per bucket, read from the
/// inline snapshot the command bus keeps in the same transaction as the events.</summary>
public static class GetAccountEndpoint
{
    public static void Map(IEndpointRouteBuilder api) =>
        api.MapGet("/accounts/{accountId}", GetAsync)
            .WithName("GetAccount")
            .RequireAccountReader()
            .WithTags(ApiDocs.QueriesTag)
            .WithSummary("Get an account")
            .WithDescription("The account with its status, kind, owner, stream version, credit limits and balances per bucket (posted, pending, available). The bank's system accounts (bank.capacity, bank.consumption, bank.expiry, bank.conversion; auditors and operators only) answer kind system with their posted balances from an async projection, and asOfSequence says how far it has read.")
            .Produces<AccountView>(StatusCodes.Status200OK, ApiDocs.Json)
            .ProducesProblems(StatusCodes.Status400BadRequest, "validation_failed")
            .ProducesProblems(StatusCodes.Status404NotFound, "account_not_found");

    private static async Task<IResult> GetAsync(
        string accountId, MartenEventStore store, LedgerCatalogue catalogue, SystemAccountReader systemAccounts, CancellationToken cancellationToken)
    {
        if (!AccountId.TryParse(accountId, out var id, out var error))
        {
            return Problems.Validation(new Dictionary<string, string[]>(StringComparer.Ordinal) { ["accountId"] = [error ?? "is not valid"] });
        }

        if (catalogue.IsSystemAccount(id))
        {
            return Results.Json(await systemAccounts.AccountAsync(id.Value, cancellationToken));
        }

        var (state, version) = await store.CurrentAsync(StreamIds.Account(id), cancellationToken);
        return state is AccountState account
            ? Results.Json(AccountViews.Of(account, version), ContractJson.Options)
            : Problems.NotFound("account_not_found", $"No account '{accountId}'.");
    }
}
