using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.OpeningAccounts;

/// <summary>The body of POST /api/v1/accounts. The account id is also the operation id: opening again with the same
/// fields replays the first answer; with other fields it is <c>409 operation_id_conflict</c>.</summary>
public sealed record OpenAccountRequest : ICommandRequest<OpenAccount>
{
    /// <summary>The client-chosen account id: lower-case letters, digits and <c>. _ : -</c>, at most 64 characters.</summary>
    [RegularExpression(WirePatterns.AccountId)]
    public required string AccountId { get; init; }

    /// <summary>Who owns the account (at most 128 characters).</summary>
    [StringLength(128, MinimumLength = 1)]
    public required string OwnerId { get; init; }

    /// <summary><c>provider</c> deposits capacity; <c>consumer</c> spends credits.</summary>
    [AllowedValues("provider", "consumer")]
    public required string Kind { get; init; }

    /// <summary>An optional display name (at most 200 characters).</summary>
    [MaxLength(200)]
    public string? DisplayName { get; init; }

    private static readonly Dictionary<string, AccountKind> Kinds = new(StringComparer.Ordinal)
    {
        ["provider"] = AccountKind.Provider,
        ["consumer"] = AccountKind.Consumer,
    };

    /// <summary>Validates the body and maps it to <see cref="OpenAccount"/>, whose operation id is <c>open-account:{accountId}</c>.</summary>
    public OpenAccount? ToCommand(RequestCheck check, CommandContext context)
    {
        var accountId = check.AccountId(AccountId);
        var ownerId = check.Text(OwnerId);
        var kind = check.Choice(Kind, Kinds);
        var displayName = check.Text(DisplayName);
        if (accountId is null || ownerId is null || kind is null)
        {
            return null;
        }

        var operationId = Domain.OperationId.Parse("open-account:" + accountId.Value);
        return new OpenAccount(operationId, accountId, ownerId, kind.Value, displayName, context.Now);
    }
}
