using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.OpeningAccounts;

/// <summary>POST /api/v1/accounts: opens a provider or consumer account (201 account). The account id is the operation id.</summary>
public static class OpenAccountEndpoint
{
    private static readonly Dictionary<string, AccountKind> Kinds = new(StringComparer.Ordinal)
    {
        ["provider"] = AccountKind.Provider,
        ["consumer"] = AccountKind.Consumer,
    };

    public static readonly CommandKind Kind = new("account", StatusCodes.Status201Created, (fields, context) =>
    {
        var accountId = fields.Value<AccountId>("accountId");
        var ownerId = fields.Text("ownerId", maxLength: 128);
        var kind = fields.Choice("kind", Kinds);
        var displayName = fields.Text("displayName", required: false, maxLength: 200);
        if (accountId is null || ownerId is null || kind is null)
        {
            return null;
        }

        var operationId = OperationId.Parse("open-account:" + accountId.Value);
        return new OpenAccount(operationId, accountId, ownerId, kind.Value, displayName, context.Now);
    });

    public static void Map(IEndpointRouteBuilder api) => api.MapCommand("/accounts", Kind, "OpenAccount")
        .DocumentCommand<OpenAccountRequest, AccountView>(StatusCodes.Status201Created, "Open an account",
            "Opens a provider or consumer account and answers 201 with the account. The account id is the operation id: opening " +
            "again with the same fields replays the first answer; with other fields it is 409.")
        .ProducesProblems(StatusCodes.Status409Conflict, "account_exists_with_different_fields");

    /// <summary>The 201 body: the account as it now is, with the global sequence of its opening.</summary>
    public static byte[] Body(OpenAccount command, OperationOutcome outcome, Messaging.CommittedOperation committed) => ContractJson.ToUtf8(new AccountView
    {
        AccountId = command.AccountId.Value,
        OwnerId = command.OwnerId,
        Kind = command.Kind.ToString().ToLowerInvariant(),
        DisplayName = command.DisplayName,
        Status = "active",
        Version = committed.StreamVersions.GetValueOrDefault(StreamIds.Account(command.AccountId), 1),
        CreditLimits = new Dictionary<string, string>(StringComparer.Ordinal),
        Balances = [],
        LastSequence = committed.LastSequence,
    });
}
