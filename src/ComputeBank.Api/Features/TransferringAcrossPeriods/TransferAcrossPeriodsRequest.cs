using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.TransferringAcrossPeriods;

/// <summary>The body of POST /api/v1/period-transfers: credits move to another region and/or period (and optionally
/// another account) at the rate the configured conversion policy gives.</summary>
public sealed record TransferAcrossPeriodsRequest : ICommandRequest<TransferAcrossPeriods>
{
    /// <summary>The operation id of this transfer (1 to 128 printable ASCII characters).</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public required string TransferId { get; init; }

    /// <summary>The account debited.</summary>
    [RegularExpression(WirePatterns.AccountId)]
    public required string FromAccountId { get; init; }

    /// <summary>The account credited; the same account when absent.</summary>
    [RegularExpression(WirePatterns.AccountId)]
    public string? ToAccountId { get; init; }

    /// <summary>The resource class of both buckets (from the configured catalogue).</summary>
    [CatalogueValue(CatalogueList.ResourceClasses)]
    public required string ResourceClass { get; init; }

    /// <summary>The source bucket's region and period.</summary>
    public required BucketLocation From { get; init; }

    /// <summary>The target bucket's region and period; another bucket than <c>from</c> unless the account differs.</summary>
    public required BucketLocation To { get; init; }

    /// <summary>The hours debited: more than 0, at most 1,000,000,000, at most 3 decimals.</summary>
    [HoursInput]
    public required string Hours { get; init; }

    /// <summary>Validates the body and maps it to <see cref="Domain.TransferAcrossPeriods"/>.</summary>
    public TransferAcrossPeriods? ToCommand(RequestCheck check, CommandContext context)
    {
        var operationId = check.OperationId(TransferId);
        var from = check.AccountId(FromAccountId);
        var to = check.AccountId(ToAccountId);
        var resourceClass = check.ResourceClass(ResourceClass);
        var source = check.Nested(From);
        var target = check.Nested(To);
        var (fromRegion, fromPeriod) = source is null ? default : (source.Region(From.Region), source.Period(From.Period));
        var (toRegion, toPeriod) = target is null ? default : (target.Region(To.Region), target.Period(To.Period));
        var hours = check.Hours(Hours);
        return operationId is null || from is null || resourceClass is null || fromRegion is null || fromPeriod is null
               || toRegion is null || toPeriod is null || hours is null
            ? null
            : new TransferAcrossPeriods(operationId, from, to, resourceClass, fromRegion, fromPeriod, toRegion, toPeriod, hours.Value, context.Now);
    }
}

/// <summary>Where a bucket is, for one resource class: its region and period.</summary>
public sealed record BucketLocation
{
    /// <summary>The region (from the configured catalogue).</summary>
    [CatalogueValue(CatalogueList.Regions)]
    public required string Region { get; init; }

    /// <summary>The period, such as <c>2026-11</c>; it must not be closed.</summary>
    [RegularExpression(WirePatterns.Period)]
    public required string Period { get; init; }
}
