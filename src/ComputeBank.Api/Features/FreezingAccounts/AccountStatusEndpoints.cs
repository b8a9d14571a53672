using ComputeBank.Api.Security;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.FreezingAccounts;

/// <summary>POST /api/v1/accounts/{accountId}/freeze, /unfreeze, /close: operator changes an account's status.
/// Idempotent with an <c>Idempotency-Key</c> header or an <c>operationId</c> field.</summary>
public static class AccountStatusEndpoints
{
    public static readonly CommandKind Freeze = Kind("account-freeze", "freeze", "FreezeAccount", "freeze an account", "Freeze an account",
        "An operator freezes an account: no credits move in or out until it is unfrozen.", "account_closed",
        (id, account, now) => new FreezeAccount(id, account, now));

    public static readonly CommandKind Unfreeze = Kind("account-unfreeze", "unfreeze", "UnfreezeAccount", "unfreeze an account", "Unfreeze an account",
        "An operator makes a frozen account active again.", "account_closed",
        (id, account, now) => new UnfreezeAccount(id, account, now));

    public static readonly CommandKind Close = Kind("account-close", "close", "CloseAccount", "close an account", "Close an account",
        "An operator closes an account that has no balance and no open hold left.", "account_not_empty",
        (id, account, now) => new CloseAccount(id, account, now));

    private static CommandKind<AccountStatusRequest, TCommand> Kind<TCommand>(
        string type, string path, string name, string action, string summary, string description, string refusal,
        Func<OperationId, AccountId, DateTimeOffset, TCommand> create)
        where TCommand : LedgerCommand => new()
    {
        Type = type,
        Route = CommandRoute.Post("/accounts/{accountId}/" + path, name),
        SuccessStatus = StatusCodes.Status200OK,
        Policy = Policies.Operator,
        Action = action,
        ToDomain = (request, check, context) => request.ToCommand(check, context, type, create),
        Summary = summary,
        Description = description,
        IdempotencyKey = true,
        Problems =
        [
            new(StatusCodes.Status404NotFound, "account_not_found"),
            new(StatusCodes.Status422UnprocessableEntity, refusal),
        ],
    };
}
