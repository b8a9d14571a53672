using ComputeBank.Api.Contracts;
using ComputeBank.Api.Security;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.OpeningAccounts;

/// <summary>POST /api/v1/accounts: opens a provider or consumer account (201 account). The account id is the operation id.</summary>
public static class OpenAccountEndpoint
{
    public static readonly CommandKind Kind = new CommandKind<OpenAccountRequest, OpenAccount>
    {
        Type = "account",
        Route = CommandRoute.Post("/accounts", "OpenAccount"),
        SuccessStatus = StatusCodes.Status201Created,
        Policy = Policies.AccountHolder,
        Action = "open an account",
        Owner = c => Ownership.Opening(c.OwnerId, c.Kind),
        Body = Body,
        Summary = "Open an account",
        Description = "Opens a provider or consumer account and answers 201 with the account. The account id is the operation id: opening " +
                      "again with the same fields replays the first answer; with other fields it is 409.",
        Response = typeof(AccountView),
        Problems = [new(StatusCodes.Status409Conflict, "account_exists_with_different_fields")],
    };

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
