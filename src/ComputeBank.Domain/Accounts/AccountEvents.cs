namespace ComputeBank.Domain.Accounts;

/// <summary>Events of an account stream (<c>account-{accountId}</c>). Closed hierarchy.</summary>
public abstract record AccountEvent
{
    private protected AccountEvent()
    {
    }
}

/// <summary>An event that moves credits; its postings are counted exactly once over all streams.</summary>
public interface IHasPostings
{
    IReadOnlyList<Posting> Postings { get; }
}

/// <summary>A provider or consumer account was opened.</summary>
[EventName("V1.AccountOpened")]
public sealed record AccountOpened(
    OperationId OperationId, AccountId AccountId, string OwnerId, AccountKind Kind, string? DisplayName, DateTimeOffset OpenedAt) : AccountEvent;

/// <summary>A provider deposited capacity: postings debit <c>bank.capacity</c> and credit the provider.</summary>
[EventName("V1.CapacityDeposited")]
public sealed record CapacityDeposited(
    OperationId OperationId, AccountId AccountId, Bucket Bucket, Hours Hours, string? Reference,
    IReadOnlyList<Posting> Postings, DateTimeOffset DepositedAt) : AccountEvent, IHasPostings;

/// <summary>Credits were consumed: postings debit the account and credit <c>bank.consumption</c>.</summary>
[EventName("V1.CreditsWithdrawn")]
public sealed record CreditsWithdrawn(
    OperationId OperationId, AccountId AccountId, Bucket Bucket, Hours Hours, string? JobReference,
    IReadOnlyList<Posting> Postings, DateTimeOffset WithdrawnAt) : AccountEvent, IHasPostings;

/// <summary>The sending side of a transfer (or of a capture to a beneficiary): its posting debits this account.</summary>
[EventName("V1.CreditsTransferredOut")]
public sealed record CreditsTransferredOut(
    OperationId OperationId, AccountId AccountId, AccountId ToAccountId, Bucket Bucket, Hours Hours, Settlement? Settlement,
    IReadOnlyList<Posting> Postings, DateTimeOffset TransferredAt) : AccountEvent, IHasPostings;

/// <summary>The receiving side of a transfer (or of a capture to a beneficiary): its posting credits this account.</summary>
[EventName("V1.CreditsTransferredIn")]
public sealed record CreditsTransferredIn(
    OperationId OperationId, AccountId AccountId, AccountId FromAccountId, Bucket Bucket, Hours Hours, Settlement? Settlement,
    IReadOnlyList<Posting> Postings, DateTimeOffset TransferredAt) : AccountEvent, IHasPostings;

/// <summary>
/// The sending side of a cross-period/region transfer, with the rate fixed in. Postings: the source bucket −HoursDebited,
/// <c>bank.conversion</c> +(HoursDebited − HoursCredited), and, when the destination is this same account, its destination
/// bucket +HoursCredited (otherwise that posting is on the receiver's <see cref="PeriodTransferReceived"/>).
/// </summary>
[EventName("V1.CreditsTransferredAcrossPeriods")]
public sealed record CreditsTransferredAcrossPeriods(
    OperationId OperationId, AccountId AccountId, AccountId ToAccountId, Bucket FromBucket, Bucket ToBucket,
    Hours HoursDebited, Hours HoursCredited, ConversionRate Rate,
    IReadOnlyList<Posting> Postings, DateTimeOffset TransferredAt) : AccountEvent, IHasPostings;

/// <summary>The receiving side of a cross-period/region transfer to another account: its posting credits HoursCredited.</summary>
[EventName("V1.PeriodTransferReceived")]
public sealed record PeriodTransferReceived(
    OperationId OperationId, AccountId AccountId, AccountId FromAccountId, Bucket FromBucket, Bucket ToBucket,
    Hours HoursDebited, Hours HoursCredited, ConversionRate Rate,
    IReadOnlyList<Posting> Postings, DateTimeOffset ReceivedAt) : AccountEvent, IHasPostings;

/// <summary>A hold reserved credits of this account: pending rises, posted does not.</summary>
[EventName("V1.CreditsHeld")]
public sealed record CreditsHeld(
    OperationId HoldId, AccountId AccountId, Bucket Bucket, Hours Hours, DateTimeOffset ExpiresAt, DateTimeOffset HeldAt) : AccountEvent;

/// <summary>
/// A hold was captured: the whole reservation (HeldHours) leaves pending; CapturedHours are posted (debit this account, and
/// credit <c>bank.consumption</c> when there is no beneficiary; a beneficiary gets <see cref="CreditsTransferredIn"/>).
/// </summary>
[EventName("V1.HeldCreditsCaptured")]
public sealed record HeldCreditsCaptured(
    OperationId OperationId, OperationId HoldId, AccountId AccountId, AccountId? BeneficiaryAccountId, Bucket Bucket,
    Hours HeldHours, Hours CapturedHours, IReadOnlyList<Posting> Postings, DateTimeOffset CapturedAt) : AccountEvent, IHasPostings;

/// <summary>Why a reservation ended without being captured.</summary>
public enum HoldReleaseReason
{
    Released,
    Expired,
    PeriodClosed,
}

/// <summary>A hold's reservation was released (by request, expiry or period close): pending falls by Hours.</summary>
[EventName("V1.HeldCreditsReleased")]
public sealed record HeldCreditsReleased(
    OperationId OperationId, OperationId HoldId, AccountId AccountId, Bucket Bucket, Hours Hours, HoldReleaseReason Reason,
    DateTimeOffset ReleasedAt) : AccountEvent;

/// <summary>The operator set a consumer's credit limit for one resource class.</summary>
[EventName("V1.CreditLimitSet")]
public sealed record CreditLimitSet(
    OperationId OperationId, AccountId AccountId, ResourceClass ResourceClass, Hours Limit, DateTimeOffset SetAt) : AccountEvent;

/// <summary>The operator froze the account.</summary>
[EventName("V1.AccountFrozen")]
public sealed record AccountFrozen(OperationId OperationId, AccountId AccountId, DateTimeOffset FrozenAt) : AccountEvent;

/// <summary>The operator unfroze the account.</summary>
[EventName("V1.AccountUnfrozen")]
public sealed record AccountUnfrozen(OperationId OperationId, AccountId AccountId, DateTimeOffset UnfrozenAt) : AccountEvent;

/// <summary>The operator closed the (empty) account.</summary>
[EventName("V1.AccountClosed")]
public sealed record AccountClosed(OperationId OperationId, AccountId AccountId, DateTimeOffset ClosedAt) : AccountEvent;

/// <summary>A positive balance of a closing period expired: postings debit the bucket and credit <c>bank.expiry</c>.</summary>
[EventName("V1.CreditsExpired")]
public sealed record CreditsExpired(
    OperationId OperationId, AccountId AccountId, Bucket Bucket, Hours Hours,
    IReadOnlyList<Posting> Postings, DateTimeOffset ExpiredAt) : AccountEvent, IHasPostings;

/// <summary>A positive balance of a closing period rolled over: postings debit FromBucket and credit ToBucket of this account.</summary>
[EventName("V1.CreditsRolledOver")]
public sealed record CreditsRolledOver(
    OperationId OperationId, AccountId AccountId, Bucket FromBucket, Bucket ToBucket, Hours Hours,
    IReadOnlyList<Posting> Postings, DateTimeOffset RolledOverAt) : AccountEvent, IHasPostings;

/// <summary>A provider listed hours of this account on the market: pending rises, as for a hold, until they are sold or released.</summary>
[EventName("V1.HoursListed")]
public sealed record HoursListed(OperationId OfferId, AccountId AccountId, Bucket Bucket, Hours Hours, DateTimeOffset ListedAt) : AccountEvent;

/// <summary>Listed hours that will not be sold (the offer was withdrawn or expired) are released: pending falls.</summary>
[EventName("V1.ListedHoursReleased")]
public sealed record ListedHoursReleased(
    OperationId OperationId, OperationId OfferId, AccountId AccountId, Bucket Bucket, Hours Hours, DateTimeOffset ReleasedAt) : AccountEvent;

/// <summary>
/// The seller's side of a paid trade: its posting debits the hours, which leave pending with it; the buyer's side is a
/// <see cref="CreditsTransferredIn"/> with the same settlement.
/// </summary>
[EventName("V1.MarketSaleSettled")]
public sealed record MarketSaleSettled(
    OperationId OperationId, OperationId TradeId, AccountId AccountId, AccountId BuyerAccountId, Bucket Bucket, Hours Hours,
    Settlement Settlement, IReadOnlyList<Posting> Postings, DateTimeOffset SettledAt) : AccountEvent, IHasPostings;
