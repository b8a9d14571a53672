using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace ComputeBank.Domain.Accounts;

public enum AccountStatus
{
    Active,
    Frozen,
    Closed,
}

/// <summary>Balance of one bucket: posted movements and open holds (both in hours).</summary>
public sealed record BucketBalance(Hours Posted, Hours Pending)
{
    public static readonly BucketBalance Empty = new(Hours.Zero, Hours.Zero);

    [JsonIgnore]
    public bool IsEmpty => Posted.IsZero && Pending.IsZero;
}

/// <summary>An open hold as the account sees it.</summary>
public sealed record OpenHold(Bucket Bucket, Hours Hours);

/// <summary>The state of an account stream. Sorted collections keep its JSON deterministic.</summary>
public sealed record AccountState(
    AccountId AccountId,
    string OwnerId,
    AccountKind Kind,
    AccountStatus Status,
    string? DisplayName,
    ImmutableSortedDictionary<ResourceClass, Hours> CreditLimits,
    ImmutableSortedDictionary<Bucket, BucketBalance> Balances,
    ImmutableSortedDictionary<OperationId, OpenHold> OpenHolds)
{
    public Hours CreditLimit(ResourceClass resourceClass) => CreditLimits.GetValueOrDefault(resourceClass);

    public BucketBalance Balance(Bucket bucket) => Balances.GetValueOrDefault(bucket) ?? BucketBalance.Empty;

    /// <summary>posted − pending of one bucket: what the account has there of its own (negative: credit drawn there).</summary>
    public Hours Net(Bucket bucket)
    {
        var balance = Balance(bucket);
        return balance.Posted - balance.Pending;
    }

    /// <summary>
    /// The credit drawn in a resource class: the negative nets of every bucket of that class (every region and period)
    /// added up, as a positive amount. The credit limit bounds this total, not each bucket.
    /// </summary>
    public Hours CreditUsed(ResourceClass resourceClass)
    {
        var used = Hours.Zero;
        foreach (var (bucket, balance) in Balances)
        {
            if (bucket.ResourceClass == resourceClass && balance.Posted < balance.Pending)
            {
                used += balance.Pending - balance.Posted;
            }
        }

        return used;
    }

    /// <summary>
    /// What a debit or hold may take from <paramref name="bucket"/>: its net plus the credit of its class not drawn in the
    /// account's other buckets (checked arithmetic). Without a credit limit that is the net.
    /// </summary>
    public Hours Available(Bucket bucket)
    {
        var net = Net(bucket);
        var limit = CreditLimit(bucket.ResourceClass);
        if (limit.IsZero)
        {
            return net;
        }

        var usedElsewhere = CreditUsed(bucket.ResourceClass) - (net.IsNegative ? -net : Hours.Zero);
        return net + limit - usedElsewhere;
    }

    [JsonIgnore]
    public bool IsEmpty => OpenHolds.IsEmpty && Balances.Values.All(b => b.IsEmpty);
}

/// <summary>Evolve of the account aggregate: pure, and the only place that changes balances (from postings).</summary>
public static class AccountEvolution
{
    public static AccountState? Initial => null;

    public static AccountState Evolve(AccountState? state, AccountEvent @event)
    {
        if (@event is AccountOpened opened)
        {
            return new AccountState(opened.AccountId, opened.OwnerId, opened.Kind, AccountStatus.Active, opened.DisplayName,
                ImmutableSortedDictionary<ResourceClass, Hours>.Empty,
                ImmutableSortedDictionary<Bucket, BucketBalance>.Empty,
                ImmutableSortedDictionary<OperationId, OpenHold>.Empty);
        }

        if (state is null)
        {
            throw new InvalidOperationException($"{@event.GetType().Name} before AccountOpened");
        }

        if (@event is IHasPostings moved)
        {
            state = moved.Postings.Where(p => p.AccountId == state.AccountId)
                .Aggregate(state, (s, p) => s.WithBalance(p.Bucket, b => b with { Posted = b.Posted + p.Amount }));
        }

        return @event switch
        {
            CreditsHeld held => state.WithBalance(held.Bucket, b => b with { Pending = b.Pending + held.Hours }) with
            {
                OpenHolds = state.OpenHolds.Add(held.HoldId, new OpenHold(held.Bucket, held.Hours)),
            },
            HeldCreditsCaptured captured => state.EndHold(captured.HoldId),
            HoursListed listed => state.WithBalance(listed.Bucket, b => b with { Pending = b.Pending + listed.Hours }),
            ListedHoursReleased released => state.WithBalance(released.Bucket, b => b with { Pending = b.Pending - released.Hours }),
            MarketSaleSettled sold => state.WithBalance(sold.Bucket, b => b with { Pending = b.Pending - sold.Hours }),
            HeldCreditsReleased released => state.EndHold(released.HoldId),
            CreditLimitSet limit => state with
            {
                CreditLimits = limit.Limit.IsZero ? state.CreditLimits.Remove(limit.ResourceClass) : state.CreditLimits.SetItem(limit.ResourceClass, limit.Limit),
            },
            AccountFrozen => state with { Status = AccountStatus.Frozen },
            AccountUnfrozen => state with { Status = AccountStatus.Active },
            AccountClosed => state with { Status = AccountStatus.Closed },
            _ => state,
        };
    }

    /// <summary>The buckets of <paramref name="account"/> an event changes (for outcomes and per-event balance views).</summary>
    public static IReadOnlyList<Bucket> BucketsOf(AccountEvent @event, AccountId account)
    {
        var buckets = @event is IHasPostings moved ? moved.Postings.Where(p => p.AccountId == account).Select(p => p.Bucket).ToList() : [];
        switch (@event)
        {
            case CreditsHeld e: buckets.Add(e.Bucket); break;
            case HeldCreditsCaptured e: buckets.Add(e.Bucket); break;
            case HeldCreditsReleased e: buckets.Add(e.Bucket); break;
            case HoursListed e: buckets.Add(e.Bucket); break;
            case ListedHoursReleased e: buckets.Add(e.Bucket); break;
            case MarketSaleSettled e: buckets.Add(e.Bucket); break;
        }

        return buckets.Distinct().ToList();
    }

    private static AccountState EndHold(this AccountState state, OperationId holdId)
    {
        var hold = state.OpenHolds[holdId];
        return state.WithBalance(hold.Bucket, b => b with { Pending = b.Pending - hold.Hours }) with { OpenHolds = state.OpenHolds.Remove(holdId) };
    }

    private static AccountState WithBalance(this AccountState state, Bucket bucket, Func<BucketBalance, BucketBalance> change)
    {
        var balance = change(state.Balance(bucket));
        return state with { Balances = balance.IsEmpty ? state.Balances.Remove(bucket) : state.Balances.SetItem(bucket, balance) };
    }
}
