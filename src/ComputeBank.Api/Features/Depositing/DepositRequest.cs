using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.Depositing;

/// <summary>The body of POST /api/v1/deposits: a provider deposits capacity into one bucket.</summary>
public sealed record DepositRequest : ICommandRequest<DepositCapacity>
{
    /// <summary>The operation id of this deposit (1 to 128 printable ASCII characters), unique per deposit.</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public required string DepositId { get; init; }

    /// <summary>The provider account that receives the capacity.</summary>
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

    /// <summary>The hours deposited: more than 0, at most 1,000,000,000, at most 3 decimals.</summary>
    [HoursInput]
    public required string Hours { get; init; }

    /// <summary>An optional free-text reference (at most 256 characters).</summary>
    [MaxLength(256)]
    public string? Reference { get; init; }


    /// <summary>Validates the body and maps it to <see cref="DepositCapacity"/>.</summary>
    public DepositCapacity? ToCommand(RequestCheck check, CommandContext context)
    {
        var operationId = check.OperationId(DepositId);
        var accountId = check.AccountId(AccountId);
        var bucket = check.Bucket(ResourceClass, Region, Period);
        var hours = check.Hours(Hours);
        var reference = check.Text(Reference);
        return operationId is null || accountId is null || bucket is null || hours is null
            ? null
            : new DepositCapacity(operationId, accountId, bucket, hours.Value, reference, context.Now);
    }}
