namespace ComputeBank.Domain.Holds;

public enum HoldStatus
{
    Pending,
    Captured,
    Released,
    Expired,
}

/// <summary>The state of a hold stream.</summary>
public sealed record HoldState(
    OperationId HoldId,
    AccountId AccountId,
    AccountId? BeneficiaryAccountId,
    Bucket Bucket,
    Hours Hours,
    DateTimeOffset ExpiresAt,
    DateTimeOffset PlacedAt,
    HoldStatus Status,
    Hours CapturedHours,
    DateTimeOffset? EndedAt)
{
    /// <summary>Pending and not yet at its expiry: the only state in which it can be captured or released.</summary>
    public bool IsPendingAt(DateTimeOffset now) => Status == HoldStatus.Pending && now < ExpiresAt;
}

public static class HoldEvolution
{
    public static HoldState? Initial => null;

    public static HoldState Evolve(HoldState? state, HoldEvent @event) => @event switch
    {
        HoldPlaced placed => new HoldState(placed.HoldId, placed.AccountId, placed.BeneficiaryAccountId, placed.Bucket, placed.Hours,
            placed.ExpiresAt, placed.PlacedAt, HoldStatus.Pending, Hours.Zero, null),
        HoldCaptured captured => Existing(state, @event) with { Status = HoldStatus.Captured, CapturedHours = captured.CapturedHours, EndedAt = captured.CapturedAt },
        HoldReleased released => Existing(state, @event) with { Status = HoldStatus.Released, EndedAt = released.ReleasedAt },
        HoldExpired expired => Existing(state, @event) with { Status = HoldStatus.Expired, EndedAt = expired.ExpiredAt },
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "unknown hold event"),
    };

    private static HoldState Existing(HoldState? state, HoldEvent @event) =>
        state ?? throw new InvalidOperationException($"{@event.GetType().Name} before HoldPlaced");
}
