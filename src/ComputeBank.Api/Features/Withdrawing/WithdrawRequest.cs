using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.Withdrawing;

/// <summary>The body of POST /api/v1/withdrawals: a job consumes credits from one bucket of an account.</summary>
public sealed record WithdrawRequest : ICommandRequest<WithdrawCredits>
{
    /// <summary>The operation id of this withdrawal (1 to 128 printable ASCII characters).</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public required string WithdrawalId { get; init; }

    /// <summary>The account the credits are taken from.</summary>
    [RegularExpression(WirePatterns.AccountId)]
    public required string AccountId { get; init; }

    /// <summary>The resource class of the bucket (from the configured catalogue).</summary>
    [CatalogueValue(CatalogueList.ResourceClasses)]
    public required string ResourceClass { get; init; }

    /// <summary>The region of the bucket (from the configured catalogue).</summary>
    [CatalogueValue(CatalogueList.Regions)]
    public required string Region { get; init; }

    /// <summary>The period of the bucket, such as <c>2026-11</c>; it must not be closed.</summary>
    [RegularExpression(WirePatterns.Period)]
    public required string Period { get; init; }

    /// <summary>The hours withdrawn: more than 0, at most 1,000,000,000, at most 3 decimals; at most the bucket's available hours.</summary>
    [HoursInput]
    public required string Hours { get; init; }

    /// <summary>An optional reference of the job that consumed the credits (at most 256 characters).</summary>
    [MaxLength(256)]
    public string? JobReference { get; init; }


    /// <summary>Validates the body and maps it to <see cref="WithdrawCredits"/>.</summary>
    public WithdrawCredits? ToCommand(RequestCheck check, CommandContext context)
    {
        var operationId = check.OperationId(WithdrawalId);
        var accountId = check.AccountId(AccountId);
        var bucket = check.Bucket(ResourceClass, Region, Period);
        var hours = check.Hours(Hours);
        var jobReference = check.Text(JobReference);
        return operationId is null || accountId is null || bucket is null || hours is null
            ? null
            : new WithdrawCredits(operationId, accountId, bucket, hours.Value, jobReference, context.Now);
    }}
