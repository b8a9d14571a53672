namespace ComputeBank.Domain.Holds;

/// <summary>Events of a hold stream (<c>hold-{holdId}</c>). They carry no postings: the account's events do.</summary>
public abstract record HoldEvent
{
    private protected HoldEvent()
    {
    }
}

/// <summary>A hold (two-phase transfer) was placed; it is pending until captured, released or expired at ExpiresAt.</summary>
[EventName("V1.HoldPlaced")]
public sealed record HoldPlaced(
    OperationId HoldId, AccountId AccountId, AccountId? BeneficiaryAccountId, Bucket Bucket, Hours Hours,
    DateTimeOffset ExpiresAt, DateTimeOffset PlacedAt) : HoldEvent;

/// <summary>The hold was captured: CapturedHours posted, ReleasedHours (the rest) released.</summary>
[EventName("V1.HoldCaptured")]
public sealed record HoldCaptured(
    OperationId OperationId, OperationId HoldId, Hours CapturedHours, Hours ReleasedHours, DateTimeOffset CapturedAt) : HoldEvent;

/// <summary>The hold was released on request, or because its period closed.</summary>
[EventName("V1.HoldReleased")]
public sealed record HoldReleased(
    OperationId OperationId, OperationId HoldId, Accounts.HoldReleaseReason Reason, DateTimeOffset ReleasedAt) : HoldEvent;

/// <summary>The hold reached its ExpiresAt while pending and was released.</summary>
[EventName("V1.HoldExpired")]
public sealed record HoldExpired(OperationId OperationId, OperationId HoldId, DateTimeOffset ExpiredAt) : HoldEvent;
