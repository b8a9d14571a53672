using ComputeBank.Domain;
using ComputeBank.Domain.Accounts;

namespace ComputeBank.Api.Projections;

/// <summary>
/// Totals of one bucket over every non-system account, in milli-hours: what was deposited, withdrawn (directly or by
/// a captured hold without beneficiary), moved between accounts, moved across periods/regions in and out, rolled over,
/// expired, what is held now, and what is posted now. Mutable on purpose: folds add into it; all sums are checked.
/// </summary>
public sealed class PoolTotals
{
    public long Deposited { get; set; }

    public long Withdrawn { get; set; }

    public long TransferredBetweenAccounts { get; set; }

    public long TransferredIn { get; set; }

    public long TransferredOut { get; set; }

    public long RolledOverIn { get; set; }

    public long RolledOverOut { get; set; }

    public long Expired { get; set; }

    public long Held { get; set; }

    public long Posted { get; set; }

    /// <summary>posted − held: what the pool can still hand out (credit limits are loans, not inventory).</summary>
    public long Available => checked(Posted - Held);

    /// <summary>The fields in their table column order, with their column names (for comparisons and reports).</summary>
    public IEnumerable<(string Column, long Value)> Fields() =>
    [
        ("deposited", Deposited), ("withdrawn", Withdrawn), ("transferred_between_accounts", TransferredBetweenAccounts),
        ("transferred_in", TransferredIn), ("transferred_out", TransferredOut), ("rolled_over_in", RolledOverIn),
        ("rolled_over_out", RolledOverOut), ("expired", Expired), ("held", Held), ("posted", Posted),
    ];

    public PoolTotals Clone() => (PoolTotals)MemberwiseClone();

    public bool IsZero => Fields().All(f => f.Value == 0);
}

/// <summary>The pure fold of ledger events into <see cref="PoolTotals"/> per bucket; used by the projection, its rebuild
/// and the auditor, so all three agree by construction.</summary>
public sealed class PoolFold(SystemAccountNames systemAccounts)
{
    private readonly HashSet<string> _system = new(systemAccounts.All, StringComparer.Ordinal);

    public Dictionary<Bucket, PoolTotals> Totals { get; } = [];

    /// <summary>Adds one event's effect on the pools (events of hold and period streams change no pool).</summary>
    public void Apply(object @event)
    {
        if (@event is not AccountEvent)
        {
            return;
        }

        foreach (var posting in DomainEvents.PostingsOf(@event))
        {
            if (!_system.Contains(posting.AccountId.Value))
            {
                Of(posting.Bucket).Posted = checked(Of(posting.Bucket).Posted + posting.Amount.MilliHours);
            }
        }

        switch (@event)
        {
            case CapacityDeposited e: Add(e.Bucket, Field.Deposited, e.Hours.MilliHours); break;
            case CreditsWithdrawn e: Add(e.Bucket, Field.Withdrawn, e.Hours.MilliHours); break;
            case CreditsTransferredOut e: Add(e.Bucket, Field.TransferredBetweenAccounts, e.Hours.MilliHours); break;
            case CreditsTransferredAcrossPeriods e:
                Add(e.FromBucket, Field.TransferredOut, e.HoursDebited.MilliHours);
                foreach (var credit in e.Postings.Where(p => p.Bucket == e.ToBucket && p.Amount.IsPositive && !_system.Contains(p.AccountId.Value)))
                {
                    Add(e.ToBucket, Field.TransferredIn, credit.Amount.MilliHours);
                }

                break;
            case PeriodTransferReceived e: Add(e.ToBucket, Field.TransferredIn, e.HoursCredited.MilliHours); break;
            case CreditsHeld e: Add(e.Bucket, Field.Held, e.Hours.MilliHours); break;
            case HeldCreditsReleased e: Add(e.Bucket, Field.Held, -e.Hours.MilliHours); break;
            case HeldCreditsCaptured e:
                Add(e.Bucket, Field.Held, -e.HeldHours.MilliHours);
                Add(e.Bucket, e.BeneficiaryAccountId is null ? Field.Withdrawn : Field.TransferredBetweenAccounts, e.CapturedHours.MilliHours);

                break;
            case CreditsExpired e: Add(e.Bucket, Field.Expired, e.Hours.MilliHours); break;
            // Hours listed on the market are pending like held ones until sold or released; a sale moves them between accounts.
            case HoursListed e: Add(e.Bucket, Field.Held, e.Hours.MilliHours); break;
            case ListedHoursReleased e: Add(e.Bucket, Field.Held, -e.Hours.MilliHours); break;
            case MarketSaleSettled e:
                Add(e.Bucket, Field.Held, -e.Hours.MilliHours);
                Add(e.Bucket, Field.TransferredBetweenAccounts, e.Hours.MilliHours);
                break;
            case CreditsRolledOver e:
                Add(e.FromBucket, Field.RolledOverOut, e.Hours.MilliHours);
                Add(e.ToBucket, Field.RolledOverIn, e.Hours.MilliHours);
                break;
        }
    }

    private PoolTotals Of(Bucket bucket)
    {
        if (!Totals.TryGetValue(bucket, out var totals))
        {
            Totals[bucket] = totals = new PoolTotals();
        }

        return totals;
    }

    // Every change goes through here with checked arithmetic: an overflowing total is an error, never a wrap.
    private void Add(Bucket bucket, Field field, long amount)
    {
        var t = Of(bucket);
        checked
        {
            switch (field)
            {
                case Field.Deposited: t.Deposited += amount; break;
                case Field.Withdrawn: t.Withdrawn += amount; break;
                case Field.TransferredBetweenAccounts: t.TransferredBetweenAccounts += amount; break;
                case Field.TransferredIn: t.TransferredIn += amount; break;
                case Field.TransferredOut: t.TransferredOut += amount; break;
                case Field.RolledOverIn: t.RolledOverIn += amount; break;
                case Field.RolledOverOut: t.RolledOverOut += amount; break;
                case Field.Expired: t.Expired += amount; break;
                case Field.Held: t.Held += amount; break;
                default: throw new ArgumentOutOfRangeException(nameof(field), field, null);
            }
        }
    }

    private enum Field
    {
        Deposited,
        Withdrawn,
        TransferredBetweenAccounts,
        TransferredIn,
        TransferredOut,
        RolledOverIn,
        RolledOverOut,
        Expired,
        Held,
    }
}
