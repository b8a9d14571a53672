using System.Text.Json.Serialization;

namespace ComputeBank.Domain.Market;

/// <summary>
/// A provider lists <see cref="Hours"/> of one bucket at <see cref="UnitPrice"/> CNY per hour until
/// <see cref="ValidUntil"/>; the hours become pending on its account. The operation id is the offer's id.
/// </summary>
[CommandName("V1.ListOffer")]
public sealed record ListOffer(
    OperationId OperationId,
    AccountId ProviderAccountId,
    Bucket Bucket,
    Hours Hours,
    decimal UnitPrice,
    Hours MinHours,
    DateTimeOffset ValidUntil,
    DateTimeOffset Now) : LedgerCommand(OperationId, Now)
{
    [JsonIgnore]
    public OperationId OfferId => OperationId;
}

/// <summary>The provider takes its offer off the book; what was not traded is released.</summary>
[CommandName("V1.WithdrawOffer")]
public sealed record WithdrawOffer(OperationId OperationId, OperationId OfferId, DateTimeOffset Now) : LedgerCommand(OperationId, Now);

/// <summary>Issued by the scheduler at the offer's <c>validUntil</c>: what is left is released.</summary>
[CommandName("V1.ExpireOffer")]
public sealed record ExpireOffer(OperationId OperationId, OperationId OfferId, DateTimeOffset Now) : LedgerCommand(OperationId, Now);

/// <summary>
/// A consumer buys <see cref="Hours"/> of a resource class in one period, in any of <see cref="Regions"/> (empty: all),
/// at most <see cref="MaxUnitPrice"/> per hour: one trade per offer it takes from, each to be paid within
/// <see cref="PaymentWindowSeconds"/>. The operation id is the order's id; its trades are <c>{orderId}.{n}</c>.
/// </summary>
[CommandName("V1.PlaceOrder")]
public sealed record PlaceOrder(
    OperationId OperationId,
    AccountId BuyerAccountId,
    ResourceClass ResourceClass,
    Period Period,
    IReadOnlyList<Region> Regions,
    Hours Hours,
    decimal MaxUnitPrice,
    bool AllOrNothing,
    int PaymentWindowSeconds,
    DateTimeOffset Now) : LedgerCommand(OperationId, Now)
{
    /// <summary>The longest order id: room is left for <c>.{n}</c> of up to 99,999 trades within the 64 characters of an id.</summary>
    public const int MaxOrderIdLength = 58;

    public const int DefaultPaymentWindowSeconds = 900;

    [JsonIgnore]
    public OperationId OrderId => OperationId;

    /// <summary>The id of the order's <paramref name="n"/>-th trade (1-based).</summary>
    public OperationId TradeId(int n) => OperationId.Parse($"{OperationId.Value}.{n}");
}

/// <summary>
/// The payment system confirms that the buyer paid the trade: the hours move from seller to buyer with the settlement
/// record, in the same commit (delivery versus payment). Refused from payBy on: the payment system refunds.
/// </summary>
[CommandName("V1.PayTrade")]
public sealed record PayTrade(
    OperationId OperationId,
    OperationId TradeId,
    string PaymentReference,
    decimal Amount,
    string Currency,
    SettlementRail Rail,
    DateTimeOffset Now) : LedgerCommand(OperationId, Now)
{
    /// <summary>The longest payment reference.</summary>
    public const int MaxReferenceLength = 128;
}

/// <summary>The buyer cancels a trade it has not paid; the hours go back to the offer, or to the provider.</summary>
[CommandName("V1.CancelTrade")]
public sealed record CancelTrade(OperationId OperationId, OperationId TradeId, DateTimeOffset Now) : LedgerCommand(OperationId, Now);

/// <summary>Issued by the scheduler at the trade's payBy: an unpaid trade is undone as a cancel would.</summary>
[CommandName("V1.ExpireTrade")]
public sealed record ExpireTrade(OperationId OperationId, OperationId TradeId, DateTimeOffset Now) : LedgerCommand(OperationId, Now);
