using System.Text.Json.Serialization;

namespace ComputeBank.Domain;

/// <summary>Kinds of account. <see cref="System"/> accounts are the bank's own and cannot be opened by a command.</summary>
public enum AccountKind
{
    Provider,
    Consumer,
    System,
}

/// <summary>What happens to the balances of a period when it closes.</summary>
public enum PeriodClosePolicy
{
    Expire,
    Rollover,
}

/// <summary>
/// A command to the ledger. Closed hierarchy: every command carries the client's <see cref="OperationId"/> (the unit of
/// idempotency) and the time it is decided at, <see cref="Now"/> (the domain never reads a clock).
/// </summary>
public abstract record LedgerCommand
{
    private protected LedgerCommand(OperationId operationId, DateTimeOffset now)
    {
        OperationId = operationId;
        Now = now;
    }

    public OperationId OperationId { get; init; }

    public DateTimeOffset Now { get; init; }
}

/// <summary>Opens a provider or consumer account. Opening it again with the same fields changes nothing.</summary>
[CommandName("V1.OpenAccount")]
public sealed record OpenAccount(OperationId OperationId, AccountId AccountId, string OwnerId, AccountKind Kind, string? DisplayName, DateTimeOffset Now)
    : LedgerCommand(OperationId, Now);

/// <summary>A provider deposits capacity into a bucket: debit <c>bank.capacity</c>, credit the provider.</summary>
[CommandName("V1.DepositCapacity")]
public sealed record DepositCapacity(OperationId OperationId, AccountId AccountId, Bucket Bucket, Hours Hours, string? Reference, DateTimeOffset Now)
    : LedgerCommand(OperationId, Now);

/// <summary>Credits are consumed by a job: debit the account, credit <c>bank.consumption</c>.</summary>
[CommandName("V1.WithdrawCredits")]
public sealed record WithdrawCredits(OperationId OperationId, AccountId AccountId, Bucket Bucket, Hours Hours, string? JobReference, DateTimeOffset Now)
    : LedgerCommand(OperationId, Now);

/// <summary>Moves credits between two accounts in one bucket, optionally recording what was paid for them.</summary>
[CommandName("V1.TransferCredits")]
public sealed record TransferCredits(
    OperationId OperationId,
    AccountId FromAccountId,
    AccountId ToAccountId,
    Bucket Bucket,
    Hours Hours,
    Settlement? Settlement,
    DateTimeOffset Now) : LedgerCommand(OperationId, Now);

/// <summary>
/// Moves credits of one resource class to another region and/or period, at the configured conversion rate.
/// The source is debited <see cref="Hours"/>, the destination credited floor(hours × rate), the rest goes to <c>bank.conversion</c>.
/// <see cref="ToAccountId"/> null means the same account.
/// </summary>
[CommandName("V1.TransferAcrossPeriods")]
public sealed record TransferAcrossPeriods(
    OperationId OperationId,
    AccountId FromAccountId,
    AccountId? ToAccountId,
    ResourceClass ResourceClass,
    Region FromRegion,
    Period FromPeriod,
    Region ToRegion,
    Period ToPeriod,
    Hours Hours,
    DateTimeOffset Now) : LedgerCommand(OperationId, Now)
{
    [JsonIgnore]
    public Bucket FromBucket => new(ResourceClass, FromRegion, FromPeriod);

    [JsonIgnore]
    public Bucket ToBucket => new(ResourceClass, ToRegion, ToPeriod);

    [JsonIgnore]
    public AccountId Destination => ToAccountId ?? FromAccountId;
}

/// <summary>
/// Reserves credits until <see cref="ExpiresAt"/>: available falls, posted does not. The operation id is the hold's id.
/// With a beneficiary, a capture transfers to it; without, a capture is a withdrawal.
/// </summary>
[CommandName("V1.PlaceHold")]
public sealed record PlaceHold(
    OperationId OperationId,
    AccountId AccountId,
    AccountId? BeneficiaryAccountId,
    Bucket Bucket,
    Hours Hours,
    DateTimeOffset ExpiresAt,
    DateTimeOffset Now) : LedgerCommand(OperationId, Now)
{
    [JsonIgnore]
    public OperationId HoldId => OperationId;
}

/// <summary>Posts <see cref="Hours"/> of a pending hold (null: all of it) and releases the rest.</summary>
[CommandName("V1.CaptureHold")]
public sealed record CaptureHold(OperationId OperationId, OperationId HoldId, Hours? Hours, DateTimeOffset Now) : LedgerCommand(OperationId, Now);

/// <summary>Releases a pending hold without posting anything.</summary>
[CommandName("V1.ReleaseHold")]
public sealed record ReleaseHold(OperationId OperationId, OperationId HoldId, DateTimeOffset Now) : LedgerCommand(OperationId, Now);

/// <summary>Issued by the scheduler at the hold's <c>expiresAt</c>: releases the reservation.</summary>
[CommandName("V1.ExpireHold")]
public sealed record ExpireHold(OperationId OperationId, OperationId HoldId, DateTimeOffset Now) : LedgerCommand(OperationId, Now);

/// <summary>Operator: lets a consumer's buckets of one resource class go down to minus <see cref="Limit"/>.</summary>
[CommandName("V1.SetCreditLimit")]
public sealed record SetCreditLimit(OperationId OperationId, AccountId AccountId, ResourceClass ResourceClass, Hours Limit, DateTimeOffset Now)
    : LedgerCommand(OperationId, Now);

/// <summary>Operator: the account accepts no debits or credits (releases still happen) until unfrozen.</summary>
[CommandName("V1.FreezeAccount")]
public sealed record FreezeAccount(OperationId OperationId, AccountId AccountId, DateTimeOffset Now) : LedgerCommand(OperationId, Now);

/// <summary>Operator: a frozen account becomes active again.</summary>
[CommandName("V1.UnfreezeAccount")]
public sealed record UnfreezeAccount(OperationId OperationId, AccountId AccountId, DateTimeOffset Now) : LedgerCommand(OperationId, Now);

/// <summary>Operator: closes an account whose buckets are all zero and which has no open hold. Final.</summary>
[CommandName("V1.CloseAccount")]
public sealed record CloseAccount(OperationId OperationId, AccountId AccountId, DateTimeOffset Now) : LedgerCommand(OperationId, Now);

/// <summary>
/// Operator: closes a period. Open holds in it are released, then every positive balance in it expires to
/// <c>bank.expiry</c> or rolls over to <see cref="RolloverTo"/> (a later, open period). <see cref="AccountIds"/> are
/// the accounts having a bucket or an open hold in the period, supplied by the caller from a read model.
/// </summary>
[CommandName("V1.ClosePeriod")]
public sealed record ClosePeriod(
    OperationId OperationId,
    Period Period,
    PeriodClosePolicy Policy,
    Period? RolloverTo,
    IReadOnlyList<AccountId> AccountIds,
    DateTimeOffset Now) : LedgerCommand(OperationId, Now);

/// <summary>The stable, versioned wire name of a command (used by the idempotency fingerprint).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class CommandNameAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>The stable, versioned wire name of an event, stored instead of its CLR name so a rename never breaks history.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class EventNameAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}
