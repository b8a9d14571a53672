using FsCheck;
using FsCheck.Fluent;

namespace ComputeBank.Domain.Tests.Properties;

/// <summary>One generated step: a command kind and small numbers that pick accounts, buckets, amounts and times.</summary>
public sealed record Step(StepKind Kind, int A, int B, int C, int D, long MilliHours)
{
    public override string ToString() => $"{Kind}({A},{B},{C},{D},{MilliHours})";
}

public enum StepKind
{
    Open,
    Deposit,
    Withdraw,
    Transfer,
    TransferAcrossPeriods,
    PlaceHold,
    Capture,
    Release,
    Expire,
    SetCreditLimit,
    Freeze,
    Unfreeze,
    CloseAccount,
    ClosePeriod,
    Resubmit,
}

/// <summary>FsCheck arbitraries: steps over a few accounts, buckets and periods, with amounts small enough to both pass and fail.</summary>
public static class LedgerArbitraries
{
    public static Arbitrary<Step> Steps() => Arb.From(
        from kind in Gen.Frequency(
            (3, Gen.Constant(StepKind.Open)), (6, Gen.Constant(StepKind.Deposit)), (3, Gen.Constant(StepKind.Withdraw)),
            (4, Gen.Constant(StepKind.Transfer)), (3, Gen.Constant(StepKind.TransferAcrossPeriods)), (4, Gen.Constant(StepKind.PlaceHold)),
            (3, Gen.Constant(StepKind.Capture)), (1, Gen.Constant(StepKind.Release)), (2, Gen.Constant(StepKind.Expire)),
            (2, Gen.Constant(StepKind.SetCreditLimit)), (1, Gen.Constant(StepKind.Freeze)), (2, Gen.Constant(StepKind.Unfreeze)),
            (1, Gen.Constant(StepKind.CloseAccount)), (1, Gen.Constant(StepKind.ClosePeriod)), (2, Gen.Constant(StepKind.Resubmit)))
        from a in Gen.Choose(0, 99)
        from b in Gen.Choose(0, 99)
        from c in Gen.Choose(0, 99)
        from d in Gen.Choose(0, 99)
        from milli in Gen.Frequency((6, Gen.Choose(1, 20_000)), (3, Gen.Elements(1, 1_000, 5_000, 10_000)), (1, Gen.Choose(0, 2)))
        select new Step(kind, a, b, c, d, milli));
}

/// <summary>
/// Turns steps into commands and runs them through a <see cref="LedgerModel"/> (states kept as JSON snapshots, as the bus
/// does), calling a check after every step. Time advances ten minutes a step so holds expire while the run goes on.
/// </summary>
public sealed class LedgerSimulation
{
    private static readonly string[] Accounts = ["p1", "p2", "c1", "c2"];
    private static readonly string[] Providers = ["p1", "p2"];
    private static readonly string[] Consumers = ["c1", "c2"];
    // 2028-06 lies more than twelve months after every step's time: credit may not be drawn there, own hours may.
    private static readonly string[] Periods = ["2026-10", "2026-11", "2026-12", "2027-03", "2028-06"];
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly List<OperationId> _holds = [];

    public LedgerModel Model { get; } = new(LedgerCatalogue.Default);

    /// <summary>Every submitted command with its first result (as JSON), for replay checks.</summary>
    public List<(LedgerCommand Command, string FirstDecisionJson)> Submitted { get; } = [];

    public static LedgerSimulation Run(Step[] steps, Action<LedgerSimulation, LedgerCommand, ModelResult> check)
    {
        var simulation = new LedgerSimulation();
        foreach (var id in Accounts)
        {
            var kind = id.StartsWith('p') ? AccountKind.Provider : AccountKind.Consumer;
            simulation.Model.Submit(new OpenAccount(OperationId.Parse($"open-{id}"), AccountId.Parse(id), "party", kind, null, Start.AddMinutes(-1)));
        }

        for (var i = 0; i < steps.Length; i++)
        {
            var command = simulation.ToCommand(steps[i], i);
            var result = simulation.Model.Submit(command);
            if (!result.Replayed && result.Decision is not Rejected { Code: RejectionCodes.OperationIdConflict })
            {
                simulation.Submitted.Add((command, DomainJson.Serialize(result.Decision)));
            }

            check(simulation, command, result);
        }

        return simulation;
    }

    private LedgerCommand ToCommand(Step s, int i)
    {
        var now = Start.AddMinutes(10 * i);
        var op = OperationId.Parse($"op-{i}");
        var account = AccountId.Parse(Pick(Accounts, s.A));
        var other = AccountId.Parse(Pick(Accounts, s.B));
        // Mostly providers give and consumers take, mostly in one class and region, so that funds meet demand.
        var giver = s.A % 4 == 0 ? account : AccountId.Parse(Pick(Providers, s.A));
        var taker = s.B % 4 == 0 ? other : AccountId.Parse(Pick(Consumers, s.B));
        var bucket = new Bucket(
            ResourceClass.Parse(s.C % 4 == 0 ? "gpu.a100" : "gpu.h100"),
            Region.Parse(s.C % 5 == 0 ? "shanghai" : "beijing"),
            Period.Parse(s.D % 3 == 0 ? Pick(Periods, s.D / 3) : "2026-11"));
        var hours = new Hours(s.MilliHours);
        var holdId = _holds.Count > 0 && s.B % 8 != 0 ? _holds[s.B % _holds.Count] : OperationId.Parse($"h-{s.B}");
        switch (s.Kind)
        {
            case StepKind.Open:
                var natural = account.Value.StartsWith('p') ? AccountKind.Provider : AccountKind.Consumer;
                return new OpenAccount(op, account, "party", s.B % 7 == 0 ? AccountKind.Consumer : natural, null, now);
            case StepKind.Deposit: return new DepositCapacity(op, giver, bucket, new Hours(s.MilliHours * 5), null, now);
            case StepKind.Withdraw: return new WithdrawCredits(op, s.A % 2 == 0 ? account : taker, bucket, hours, null, now);
            case StepKind.Transfer: return new TransferCredits(op, giver, taker, bucket, hours, null, now);
            case StepKind.TransferAcrossPeriods:
                return new TransferAcrossPeriods(op, giver, s.B % 3 == 0 ? null : taker, bucket.ResourceClass, bucket.Region, bucket.Period,
                    Region.Parse(s.C % 7 == 0 ? "shanghai" : "beijing"), Period.Parse(Pick(Periods, s.D / 4)), hours, now);
            case StepKind.PlaceHold:
                var hold = OperationId.Parse($"h{i}");
                _holds.Add(hold);
                return new PlaceHold(hold, giver, s.B % 2 == 0 ? null : taker, bucket, hours, now.AddMinutes(10 * (1 + s.C % 20)), now);
            case StepKind.Capture: return new CaptureHold(op, holdId, s.C % 2 == 0 ? null : hours, now);
            case StepKind.Release: return new ReleaseHold(op, holdId, now);
            case StepKind.Expire: return new ExpireHold(op, holdId, now);
            case StepKind.SetCreditLimit: return new SetCreditLimit(op, account, bucket.ResourceClass, new Hours(s.MilliHours * (s.C % 3)), now);
            case StepKind.Freeze: return new FreezeAccount(op, account, now);
            case StepKind.Unfreeze: return new UnfreezeAccount(op, account, now);
            case StepKind.CloseAccount: return new CloseAccount(op, AccountId.Parse("c2"), now);
            case StepKind.ClosePeriod:
                var period = Period.Parse(s.D % 5 == 0 ? "2026-11" : Pick(["2026-10", "2026-12", "2027-03"], s.D));
                var rollover = s.C % 2 == 0 ? null : Period.Parse(Pick(Periods, s.C));
                var known = Accounts.Select(AccountId.Parse).Where(a => Model.State(StreamIds.Account(a)) is not null).ToList();
                return new ClosePeriod(op, period, rollover is null ? PeriodClosePolicy.Expire : PeriodClosePolicy.Rollover, rollover, known, now);
            case StepKind.Resubmit when Submitted.Count > 0:
                var earlier = Submitted[s.A % Submitted.Count].Command;
                return earlier with { Now = now };
            default:
                return new FreezeAccount(op, account, now);
        }
    }

    private static string Pick(string[] values, int index) => values[index % values.Length];
}
