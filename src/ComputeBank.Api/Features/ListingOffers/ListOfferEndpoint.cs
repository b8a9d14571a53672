using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Api.Ledger;
using ComputeBank.Api.Security;
using ComputeBank.Domain.Market;

namespace ComputeBank.Api.Features.ListingOffers;

/// <summary>POST /api/v1/market/offers: a provider lists hours of one bucket at a unit price until <c>validUntil</c>.
/// The hours become pending on its account. The offer id is the operation id.</summary>
public static class ListOfferEndpoint
{
    public static readonly CommandKind Kind = new CommandKind<ListOfferRequest, ListOffer>
    {
        Type = "offer",
        Route = CommandRoute.Post("/market/offers", "ListOffer"),
        SuccessStatus = StatusCodes.Status201Created,
        Policy = Policies.Provider,
        Action = "list an offer",
        Owner = c => Ownership.Of(c.ProviderAccountId),
        Summary = "List an offer",
        Description = "Lists hours of one bucket at a unit price until validUntil; the hours become pending on the provider's account. The answer is the offer.",
        Response = typeof(OfferView),
        Body = MarketResults.OfferBody,
        Problems =
        [
            new(StatusCodes.Status404NotFound, "account_not_found"),
            new(StatusCodes.Status422UnprocessableEntity, "insufficient_credits", "invalid_account_kind", "account_frozen", "account_closed", "period_closed"),
        ],
    };
}

/// <summary>The body of POST /api/v1/market/offers.</summary>
public sealed record ListOfferRequest : ICommandRequest<ListOffer>
{
    /// <summary>The offer id, which is also the operation id (1 to 128 printable ASCII characters).</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public required string OfferId { get; init; }

    /// <summary>The provider account whose hours are listed.</summary>
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

    /// <summary>The hours listed: more than 0, at most 3 decimals; at most the bucket's available hours.</summary>
    [HoursInput]
    public required string Hours { get; init; }

    /// <summary>CNY per hour: more than 0, at most 1,000,000,000, at most 2 decimals (<c>"12.50"</c>).</summary>
    [HoursInput(maxDecimals: 2)]
    public required string UnitPrice { get; init; }

    /// <summary>Only <c>CNY</c> (the default).</summary>
    [AllowedValues("CNY")]
    public string? Currency { get; init; }

    /// <summary>The fewest hours one trade may take (default 0.001); at most <c>hours</c>.</summary>
    [HoursInput]
    public string? MinHours { get; init; }

    /// <summary>When the offer expires (ISO 8601, in the future); what is left then is released.</summary>
    [UtcTimestamp]
    public required string ValidUntil { get; init; }

    /// <summary>Validates the body and maps it to <see cref="ListOffer"/>.</summary>
    public ListOffer? ToCommand(RequestCheck check, CommandContext context)
    {
        var offerId = check.OperationId(OfferId);
        var accountId = check.AccountId(AccountId);
        var bucket = check.Bucket(ResourceClass, Region, Period);
        var hours = check.Hours(Hours);
        var unitPrice = check.Money(UnitPrice, TradeAmount.MaxUnitPrice);
        var minHours = MinHours is null ? new Domain.Hours(1) : check.Hours(MinHours);
        var validUntil = check.Timestamp(ValidUntil);
        if ((check.Text(Currency, maxLength: 3) ?? "CNY") != "CNY")
        {
            check.Add(nameof(Currency), "must be CNY");
        }

        if (validUntil is { } until && until <= context.Now)
        {
            check.Add(nameof(ValidUntil), "must be in the future");
        }

        if (minHours is { } least && hours is { } all && least > all)
        {
            check.Add(nameof(MinHours), "must be at most the hours listed");
        }

        return offerId is null || accountId is null || bucket is null || hours is null || unitPrice is null || minHours is null || validUntil is null || !check.IsValid
            ? null
            : new ListOffer(offerId, accountId, bucket, hours.Value, unitPrice.Value, minHours.Value, validUntil.Value, context.Now);
    }
}
