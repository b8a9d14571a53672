namespace ComputeBank.Domain.Periods;

/// <summary>Events of a period stream (<c>period-{period}</c>). A period without events is open.</summary>
public abstract record PeriodEvent
{
    private protected PeriodEvent()
    {
    }
}

/// <summary>The operator closed the period; its holds were released and its balances expired or rolled over to RolloverTo.</summary>
[EventName("V1.PeriodClosed")]
public sealed record PeriodClosed(
    OperationId OperationId, Period Period, PeriodClosePolicy Policy, Period? RolloverTo, DateTimeOffset ClosedAt) : PeriodEvent;

/// <summary>The state of a period stream; null (no stream) means open.</summary>
public sealed record PeriodState(Period Period, bool Closed, PeriodClosePolicy Policy, Period? RolloverTo, DateTimeOffset ClosedAt);

public static class PeriodEvolution
{
    public static PeriodState? Initial => null;

    public static PeriodState Evolve(PeriodState? state, PeriodEvent @event) => @event switch
    {
        PeriodClosed closed => new PeriodState(closed.Period, true, closed.Policy, closed.RolloverTo, closed.ClosedAt),
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "unknown period event"),
    };
}
