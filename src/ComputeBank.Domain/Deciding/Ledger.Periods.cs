using ComputeBank.Domain.Accounts;
using ComputeBank.Domain.Holds;
using ComputeBank.Domain.Periods;

namespace ComputeBank.Domain;

public static partial class Ledger
{
    private static Decision ClosingPeriod(ClosePeriod c, Session s)
    {
        var errors = new FieldErrors(s.Catalogue).Period(c.Period, "period");
        if (!Enum.IsDefined(c.Policy))
        {
            errors.Add("policy", "must be expire or rollover");
        }
        else if (c.Policy == PeriodClosePolicy.Rollover &&
                 (c.RolloverTo is null || c.RolloverTo.Granularity != c.Period.Granularity || c.RolloverTo.CompareTo(c.Period) <= 0))
        {
            errors.Add("rolloverTo", "a rollover needs a later period");
        }
        else if (c.Policy == PeriodClosePolicy.Expire && c.RolloverTo is not null)
        {
            errors.Add("rolloverTo", "only a rollover has a rolloverTo period");
        }

        if (errors.Any)
        {
            return errors.ToRejection();
        }

        if (s.IsClosed(c.Period))
        {
            return Reject(RejectionCodes.PeriodAlreadyClosed, $"period {c.Period} is already closed");
        }

        if (c.RolloverTo is not null && Open(s, c.RolloverTo) is { } rolloverClosed)
        {
            return rolloverClosed;
        }

        if (MarketOpenIn(c, s) is { } open)
        {
            return open;
        }

        foreach (var accountId in c.AccountIds.Distinct())
        {
            if (s.Account(accountId) is not { } account)
            {
                continue;
            }

            foreach (var (holdId, _) in account.OpenHolds.Where(h => h.Value.Bucket.Period == c.Period))
            {
                var hold = s.Hold(holdId) ?? throw new InvalidOperationException($"open hold '{holdId}' has no stream");
                s.Emit(holdId, new HoldReleased(c.OperationId, holdId, HoldReleaseReason.PeriodClosed, c.Now));
                s.Emit(accountId, new HeldCreditsReleased(c.OperationId, holdId, accountId, hold.Bucket, hold.Hours, HoldReleaseReason.PeriodClosed, c.Now));
            }

            foreach (var (bucket, balance) in account.Balances.Where(b => b.Key.Period == c.Period && b.Value.Posted.IsPositive))
            {
                var hours = balance.Posted;
                if (c.RolloverTo is null)
                {
                    s.Emit(accountId, new CreditsExpired(c.OperationId, accountId, bucket, hours,
                        [new Posting(accountId, bucket, -hours), new Posting(s.Catalogue.ExpiryAccount, bucket, hours)], c.Now));
                }
                else
                {
                    var target = bucket with { Period = c.RolloverTo };
                    s.Emit(accountId, new CreditsRolledOver(c.OperationId, accountId, bucket, target, hours,
                        [new Posting(accountId, bucket, -hours), new Posting(accountId, target, hours)], c.Now));
                }
            }
        }

        s.Emit(c.Period, new PeriodClosed(c.OperationId, c.Period, c.Policy, c.RolloverTo, c.Now));
        return s.Accept();
    }

    /// <summary>
    /// Hours listed on the market or in trades awaiting payment are pending beyond the account's holds. Closing the
    /// period under them would expire (or roll over) the posted hours they stand on and leave available below zero, so
    /// the close is refused until the period's offers are withdrawn or expired and its trades have ended.
    /// </summary>
    private static Rejected? MarketOpenIn(ClosePeriod c, Session s)
    {
        foreach (var accountId in c.AccountIds.Distinct())
        {
            if (s.Account(accountId) is not { } account)
            {
                continue;
            }

            foreach (var (bucket, balance) in account.Balances.Where(b => b.Key.Period == c.Period))
            {
                var held = account.OpenHolds.Values.Where(h => h.Bucket == bucket).Aggregate(Hours.Zero, (sum, h) => sum + h.Hours);
                if (balance.Pending > held)
                {
                    return Reject(RejectionCodes.MarketOpenInPeriod,
                        $"{accountId} has {balance.Pending - held} h of {bucket} listed or in trades awaiting payment; withdraw the period's offers and let its trades end before closing it");
                }
            }
        }

        return null;
    }
}
