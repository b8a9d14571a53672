using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.FreezingAccounts;

/// <summary>The optional body of POST /api/v1/accounts/{accountId}/freeze, /unfreeze and /close.</summary>
public sealed record AccountStatusRequest
{
    /// <summary>The account (from the path).</summary>
    [PathValue]
    public required string AccountId { get; init; }

    /// <summary>The operation id, when no <c>Idempotency-Key</c> header is sent.</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public string? OperationId { get; init; }

    /// <summary>Validates the body and maps it with <paramref name="create"/> (freeze, unfreeze or close); a generated
    /// operation id is named after <paramref name="type"/>.</summary>
    public TCommand? ToCommand<TCommand>(RequestCheck check, CommandContext context, string type, Func<OperationId, AccountId, DateTimeOffset, TCommand> create)
        where TCommand : LedgerCommand
    {
        var accountId = check.AccountId(AccountId);
        var operationId = check.OperationIdOrKey(OperationId, context, type);
        return accountId is null || operationId is null ? null : create(operationId, accountId, context.Now);
    }
}
