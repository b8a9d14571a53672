using System.ComponentModel.DataAnnotations;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Api.Ledger;
using ComputeBank.Api.Security;
using ComputeBank.Domain.Market;

namespace ComputeBank.Api.Features.PlacingOrders;

/// <summary>POST /api/v1/market/orders: a consumer buys hours of a resource class in one period, in any of the regions
/// named (all when none), at the best prices on the book now: one trade per offer it takes from, each to be paid by its
/// payBy. What the book cannot fill is dropped (no resting orders). The order id is the operation id.</summary>
public static class PlaceOrderEndpoint
{
    public static readonly CommandKind Kind = new CommandKind<PlaceOrderRequest, PlaceOrder>
    {
        Type = "order",
        Route = CommandRoute.Post("/market/orders", "PlaceOrder"),
        SuccessStatus = StatusCodes.Status201Created,
        Policy = Policies.Consumer,
        Action = "place an order",
        Owner = c => Ownership.Of(c.BuyerAccountId),
        Summary = "Place an order",
        Description = "Buys hours at the best prices on the book (lowest unit price, then earliest listed), across the regions named or all; one trade per offer taken, each to be paid by its payBy.",
        Response = typeof(OrderView),
        Body = MarketResults.OrderBody,
        Problems =
        [
            new(StatusCodes.Status404NotFound, "account_not_found"),
            new(StatusCodes.Status422UnprocessableEntity, "no_matching_offer", "insufficient_supply", "invalid_account_kind", "account_frozen", "account_closed", "period_closed"),
        ],
    };
}

/// <summary>The body of POST /api/v1/market/orders.</summary>
public sealed record PlaceOrderRequest : ICommandRequest<PlaceOrder>
{
    /// <summary>The order id, which is also the operation id: 1 to 58 printable ASCII characters (its trades are <c>{orderId}.{n}</c>).</summary>
    [RegularExpression(WirePatterns.OperationId)]
    [StringLength(PlaceOrder.MaxOrderIdLength, MinimumLength = 1)]
    public required string OrderId { get; init; }

    /// <summary>The consumer account that buys.</summary>
    [RegularExpression(WirePatterns.AccountId)]
    public required string AccountId { get; init; }

    /// <summary>The resource class (from the configured catalogue).</summary>
    [CatalogueValue(CatalogueList.ResourceClasses)]
    public required string ResourceClass { get; init; }

    /// <summary>The period, such as <c>2026-11</c>; it must not be closed.</summary>
    [RegularExpression(WirePatterns.Period)]
    public required string Period { get; init; }

    /// <summary>The regions the hours may come from (each from the catalogue, named once); empty or absent: every region.</summary>
    public IReadOnlyList<string>? Regions { get; init; }

    /// <summary>The hours wanted: more than 0, at most 3 decimals.</summary>
    [HoursInput]
    public required string Hours { get; init; }

    /// <summary>The highest unit price accepted, CNY per hour, at most 2 decimals.</summary>
    [HoursInput(maxDecimals: 2)]
    public required string MaxUnitPrice { get; init; }

    /// <summary>When true, the order fills every hour or nothing (<c>insufficient_supply</c>); default false.</summary>
    public bool? AllOrNothing { get; init; }

    /// <summary>Seconds from the match to each trade's payBy: 30 to 86,400, default 900.</summary>
    public int? PaymentWindowSeconds { get; init; }

    /// <summary>Validates the body and maps it to <see cref="PlaceOrder"/>.</summary>
    public PlaceOrder? ToCommand(RequestCheck check, CommandContext context)
    {
        var orderId = check.OperationId(OrderId);
        var accountId = check.AccountId(AccountId);
        var resourceClass = check.ResourceClass(ResourceClass);
        var period = check.Period(Period);
        var regions = check.Regions(Regions);
        var hours = check.Hours(Hours);
        var maxUnitPrice = check.Money(MaxUnitPrice, TradeAmount.MaxUnitPrice);
        var window = check.WholeNumber(PaymentWindowSeconds, 30, 86_400, PlaceOrder.DefaultPaymentWindowSeconds);
        return orderId is null || accountId is null || resourceClass is null || period is null || hours is null || maxUnitPrice is null || !check.IsValid
            ? null
            : new PlaceOrder(orderId, accountId, resourceClass, period, regions, hours.Value, maxUnitPrice.Value, AllOrNothing ?? false, window, context.Now);
    }
}
