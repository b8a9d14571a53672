using ComputeBank.Domain.Accounts;

namespace ComputeBank.Domain;

public static partial class Ledger
{
    private static Decision Opening(OpenAccount c, Session s)
    {
        var errors = new FieldErrors(s.Catalogue).Text(c.OwnerId, "ownerId", 128, required: true).Text(c.DisplayName, "displayName", 200);
        if (s.Catalogue.IsSystemAccount(c.AccountId) || LedgerCatalogue.IsReservedAccountId(c.AccountId))
        {
            errors.Add("accountId", $"'{c.AccountId}' is reserved: ids starting with '{LedgerCatalogue.ReservedAccountPrefix}' belong to the bank's system accounts");
        }

        if (!Enum.IsDefined(c.Kind))
        {
            errors.Add("kind", "must be provider or consumer");
        }

        if (errors.Any)
        {
            return errors.ToRejection();
        }

        if (c.Kind == AccountKind.System)
        {
            return Reject(RejectionCodes.InvalidAccountKind, "system accounts cannot be opened");
        }

        var existing = s.Account(c.AccountId);
        if (existing is not null)
        {
            var same = string.Equals(existing.OwnerId, c.OwnerId, StringComparison.Ordinal) && existing.Kind == c.Kind &&
                       string.Equals(existing.DisplayName, c.DisplayName, StringComparison.Ordinal);
            if (!same)
            {
                return Reject(RejectionCodes.AccountExistsWithDifferentFields, $"account '{c.AccountId}' exists with other fields");
            }

            s.Touch(c.AccountId, []);
            return s.Accept();
        }

        s.Emit(c.AccountId, new AccountOpened(c.OperationId, c.AccountId, c.OwnerId, c.Kind, c.DisplayName, c.Now));
        return s.Accept();
    }

    private static Decision SettingCreditLimit(SetCreditLimit c, Session s)
    {
        var errors = new FieldErrors(s.Catalogue).ResourceClass(c.ResourceClass, "resourceClass");
        if (c.Limit.IsNegative)
        {
            errors.Add("hours", "must not be negative");
        }
        else if (c.Limit > Hours.MaxPerOperation)
        {
            errors.Add("hours", "must be at most 1000000000 hours");
        }

        if (errors.Any)
        {
            return errors.ToRejection();
        }

        var account = s.Account(c.AccountId);
        if ((Exists(account, c.AccountId) ?? NotClosed(account!)) is { } rejected)
        {
            return rejected;
        }

        if (account!.Kind != AccountKind.Consumer)
        {
            return Reject(RejectionCodes.InvalidAccountKind, "credit limits are for consumer accounts");
        }

        s.Touch(c.AccountId, []);
        if (account.CreditLimit(c.ResourceClass) == c.Limit)
        {
            return s.Accept();
        }

        if (account.CreditUsed(c.ResourceClass) is var used && used > c.Limit)
        {
            return Reject(RejectionCodes.InsufficientCredits,
                $"account '{c.AccountId}' has drawn {used} of credit in {c.ResourceClass}, more than the new limit {c.Limit}");
        }

        s.Emit(c.AccountId, new CreditLimitSet(c.OperationId, c.AccountId, c.ResourceClass, c.Limit, c.Now));
        return s.Accept();
    }

    private static Decision Freezing(FreezeAccount c, Session s)
    {
        var account = s.Account(c.AccountId);
        if ((Exists(account, c.AccountId) ?? NotClosed(account!)) is { } rejected)
        {
            return rejected;
        }

        s.Touch(c.AccountId, []);
        if (account!.Status == AccountStatus.Active)
        {
            s.Emit(c.AccountId, new AccountFrozen(c.OperationId, c.AccountId, c.Now));
        }

        return s.Accept();
    }

    private static Decision Unfreezing(UnfreezeAccount c, Session s)
    {
        var account = s.Account(c.AccountId);
        if ((Exists(account, c.AccountId) ?? NotClosed(account!)) is { } rejected)
        {
            return rejected;
        }

        s.Touch(c.AccountId, []);
        if (account!.Status == AccountStatus.Frozen)
        {
            s.Emit(c.AccountId, new AccountUnfrozen(c.OperationId, c.AccountId, c.Now));
        }

        return s.Accept();
    }

    private static Decision ClosingAccount(CloseAccount c, Session s)
    {
        var account = s.Account(c.AccountId);
        if (Exists(account, c.AccountId) is { } rejected)
        {
            return rejected;
        }

        s.Touch(c.AccountId, []);
        if (account!.Status == AccountStatus.Closed)
        {
            return s.Accept();
        }

        if (!account.IsEmpty)
        {
            return Reject(RejectionCodes.AccountNotEmpty, $"account '{c.AccountId}' still has balances or open holds");
        }

        s.Emit(c.AccountId, new AccountClosed(c.OperationId, c.AccountId, c.Now));
        return s.Accept();
    }

    private static Rejected? Exists(AccountState? account, AccountId id) =>
        account is null ? Reject(RejectionCodes.AccountNotFound, $"account '{id}' does not exist") : null;

    private static Rejected? NotClosed(AccountState account) =>
        account.Status == AccountStatus.Closed ? Reject(RejectionCodes.AccountClosed, $"account '{account.AccountId}' is closed") : null;

    /// <summary>The account exists, is not closed and not frozen: it may be debited or credited.</summary>
    private static Rejected? CanMove(AccountState? account, AccountId id) =>
        Exists(account, id) ?? NotClosed(account!) ??
        (account!.Status == AccountStatus.Frozen ? Reject(RejectionCodes.AccountFrozen, $"account '{id}' is frozen") : null);

    private static Rejected? Open(Session s, Period period) =>
        s.IsClosed(period) ? Reject(RejectionCodes.PeriodClosed, $"period {period} is closed") : null;

    /// <summary>How many periods after the one of the command's time credit may still be drawn in (twelve months).</summary>
    private const int CreditMonthsAhead = 12;

    /// <summary>
    /// available ≥ hours, and what is taken beyond the bucket's own hours (credit) is drawn in a period at most twelve
    /// months after the command's; that the period is open is checked before. System accounts are never checked (they
    /// have no state here).
    /// </summary>
    private static Rejected? Covers(Session s, AccountState account, Bucket bucket, Hours hours)
    {
        var available = account.Available(bucket);
        if (available < hours)
        {
            return Reject(RejectionCodes.InsufficientCredits, $"account '{account.AccountId}' has {available} available in {bucket}, needs {hours}");
        }

        var own = account.Net(bucket) is { IsPositive: true } net ? net : Hours.Zero;
        if (hours <= own)
        {
            return null;
        }

        var granularity = bucket.Period.Granularity;
        var latest = Period.Containing(s.Now, granularity).AddPeriods(CreditMonthsAhead * bucket.Period.PeriodsPerYear / 12);
        return bucket.Period.CompareTo(latest) > 0
            ? Reject(RejectionCodes.InsufficientCredits,
                $"account '{account.AccountId}' has {own} of its own in {bucket}, needs {hours}; credit can be drawn only in periods up to {latest}, twelve months ahead")
            : null;
    }
}
