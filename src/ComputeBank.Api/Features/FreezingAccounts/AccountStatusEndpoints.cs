using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.FreezingAccounts;

/// <summary>POST /api/v1/accounts/{accountId}/freeze, /unfreeze, /close: operator changes an account's status.
/// Idempotent with an <c>Idempotency-Key</c> header or an <c>operationId</c> field.</summary>
public static class AccountStatusEndpoints
{
    public static readonly CommandKind Freeze = Kind("account-freeze", (id, account, now) => new FreezeAccount(id, account, now));

    public static readonly CommandKind Unfreeze = Kind("account-unfreeze", (id, account, now) => new UnfreezeAccount(id, account, now));

    public static readonly CommandKind Close = Kind("account-close", (id, account, now) => new CloseAccount(id, account, now));

    public static void Map(IEndpointRouteBuilder api)
    {
        api.MapCommand("/accounts/{accountId}/freeze", Freeze, "FreezeAccount", bodyRequired: false)
            .DocumentCommand<AccountStatusRequest, OperationResult>(StatusCodes.Status200OK, "Freeze an account",
                "An operator freezes an account: no credits move in or out until it is unfrozen.", bodyOptional: true, idempotencyKey: true)
            .ProducesProblems(StatusCodes.Status404NotFound, "account_not_found")
            .ProducesProblems(StatusCodes.Status422UnprocessableEntity, "account_closed");
        api.MapCommand("/accounts/{accountId}/unfreeze", Unfreeze, "UnfreezeAccount", bodyRequired: false)
            .DocumentCommand<AccountStatusRequest, OperationResult>(StatusCodes.Status200OK, "Unfreeze an account",
                "An operator makes a frozen account active again.", bodyOptional: true, idempotencyKey: true)
            .ProducesProblems(StatusCodes.Status404NotFound, "account_not_found")
            .ProducesProblems(StatusCodes.Status422UnprocessableEntity, "account_closed");
        api.MapCommand("/accounts/{accountId}/close", Close, "CloseAccount", bodyRequired: false)
            .DocumentCommand<AccountStatusRequest, OperationResult>(StatusCodes.Status200OK, "Close an account",
                "An operator closes an account that has no balance and no open hold left.", bodyOptional: true, idempotencyKey: true)
            .ProducesProblems(StatusCodes.Status404NotFound, "account_not_found")
            .ProducesProblems(StatusCodes.Status422UnprocessableEntity, "account_not_empty");
    }

    private static CommandKind Kind(string type, Func<OperationId, AccountId, DateTimeOffset, LedgerCommand> create) =>
        new(type, StatusCodes.Status200OK, (fields, context) =>
        {
            var accountId = fields.Value<AccountId>("accountId");
            var operationId = CommandKind.OperationIdOf(fields, context, "operationId", () => type + ":" + Guid.NewGuid().ToString("N"));
            return accountId is null || operationId is null ? null : create(operationId, accountId, context.Now);
        });
}
