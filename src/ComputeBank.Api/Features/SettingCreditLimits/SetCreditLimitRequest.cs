using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.SettingCreditLimits;

/// <summary>The body of PUT /api/v1/accounts/{accountId}/credit-limits/{resourceClass}.</summary>
public sealed record SetCreditLimitRequest : ICommandRequest<SetCreditLimit>
{
    /// <summary>The consumer account (from the path).</summary>
    [PathValue]
    public required string AccountId { get; init; }

    /// <summary>The resource class the limit applies to (from the path).</summary>
    [PathValue]
    public required string ResourceClass { get; init; }

    /// <summary>The credit limit in hours: 0 (removes it) to 1,000,000,000, at most 3 decimals.</summary>
    [HoursInput]
    public required string Hours { get; init; }

    /// <summary>The operation id, when no <c>Idempotency-Key</c> header is sent.</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public string? OperationId { get; init; }

    /// <summary>Validates the body and maps it to <see cref="SetCreditLimit"/>.</summary>
    public SetCreditLimit? ToCommand(RequestCheck check, CommandContext context)
    {
        var accountId = check.AccountId(AccountId);
        var resourceClass = check.ResourceClass(ResourceClass);
        var hours = check.Hours(Hours, allowZero: true);
        var operationId = check.OperationIdOrKey(OperationId, context, "credit-limit");
        return accountId is null || resourceClass is null || hours is null || operationId is null
            ? null
            : new SetCreditLimit(operationId, accountId, resourceClass, hours.Value, context.Now);
    }
}
