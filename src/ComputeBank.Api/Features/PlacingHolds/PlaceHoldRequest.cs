using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.PlacingHolds;

/// <summary>The body of POST /api/v1/holds: reserves credits of one bucket until they are captured, released or expire.</summary>
public sealed record PlaceHoldRequest : ICommandRequest<PlaceHold>
{
    /// <summary>The hold id, which is also the operation id (1 to 128 printable ASCII characters).</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public required string HoldId { get; init; }

    /// <summary>The account whose credits are held.</summary>
    [RegularExpression(WirePatterns.AccountId)]
    public required string AccountId { get; init; }

    /// <summary>Optionally, the account that receives the captured hours (otherwise they are consumed).</summary>
    [RegularExpression(WirePatterns.AccountId)]
    public string? BeneficiaryAccountId { get; init; }

    /// <summary>The resource class of the bucket (from the configured catalogue).</summary>
    [CatalogueValue(CatalogueList.ResourceClasses)]
    public required string ResourceClass { get; init; }

    /// <summary>The region of the bucket (from the configured catalogue).</summary>
    [CatalogueValue(CatalogueList.Regions)]
    public required string Region { get; init; }

    /// <summary>The period of the bucket, such as <c>2026-11</c>; it must not be closed.</summary>
    [RegularExpression(WirePatterns.Period)]
    public required string Period { get; init; }

    /// <summary>The hours held: more than 0, at most 1,000,000,000, at most 3 decimals; at most the bucket's available hours.</summary>
    [HoursInput]
    public required string Hours { get; init; }

    /// <summary>When the hold expires (ISO 8601, in the future), such as <c>2026-11-24T10:00:00Z</c>.</summary>
    [UtcTimestamp]
    public required string ExpiresAt { get; init; }

    /// <summary>Validates the body and maps it to <see cref="PlaceHold"/>.</summary>
    public PlaceHold? ToCommand(RequestCheck check, CommandContext context)
    {
        var holdId = check.OperationId(HoldId);
        var accountId = check.AccountId(AccountId);
        var beneficiary = check.AccountId(BeneficiaryAccountId);
        var bucket = check.Bucket(ResourceClass, Region, Period);
        var hours = check.Hours(Hours);
        var expiresAt = check.Timestamp(ExpiresAt);
        if (expiresAt is { } expiry && expiry <= context.Now)
        {
            check.Add(nameof(ExpiresAt), "must be in the future");
        }

        return holdId is null || accountId is null || bucket is null || hours is null || expiresAt is null || !check.IsValid
            ? null
            : new PlaceHold(holdId, accountId, beneficiary, bucket, hours.Value, expiresAt.Value, context.Now);
    }
}
