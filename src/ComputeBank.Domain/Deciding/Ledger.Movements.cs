using ComputeBank.Domain.Accounts;

namespace ComputeBank.Domain;

public static partial class Ledger
{
    private static Decision Depositing(DepositCapacity c, Session s)
    {
        var errors = new FieldErrors(s.Catalogue).Bucket(c.Bucket).Amount("hours", c.Hours).Text(c.Reference, "reference", 256);
        if (errors.Any)
        {
            return errors.ToRejection();
        }

        var account = s.Account(c.AccountId);
        if ((CanMove(account, c.AccountId) ?? Open(s, c.Bucket.Period)) is { } rejected)
        {
            return rejected;
        }

        if (account!.Kind != AccountKind.Provider)
        {
            return Reject(RejectionCodes.InvalidAccountKind, "capacity is deposited into provider accounts only");
        }

        s.Emit(c.AccountId, new CapacityDeposited(c.OperationId, c.AccountId, c.Bucket, c.Hours, c.Reference,
            [new Posting(s.Catalogue.CapacityAccount, c.Bucket, -c.Hours), new Posting(c.AccountId, c.Bucket, c.Hours)], c.Now));
        return s.Accept();
    }

    private static Decision Withdrawing(WithdrawCredits c, Session s)
    {
        var errors = new FieldErrors(s.Catalogue).Bucket(c.Bucket).Amount("hours", c.Hours).Text(c.JobReference, "jobReference", 256);
        if (errors.Any)
        {
            return errors.ToRejection();
        }

        var account = s.Account(c.AccountId);
        if ((CanMove(account, c.AccountId) ?? Open(s, c.Bucket.Period) ?? Covers(s, account!, c.Bucket, c.Hours)) is { } rejected)
        {
            return rejected;
        }

        s.Emit(c.AccountId, new CreditsWithdrawn(c.OperationId, c.AccountId, c.Bucket, c.Hours, c.JobReference,
            [new Posting(c.AccountId, c.Bucket, -c.Hours), new Posting(s.Catalogue.ConsumptionAccount, c.Bucket, c.Hours)], c.Now));
        return s.Accept();
    }

    private static Decision Transferring(TransferCredits c, Session s)
    {
        var errors = new FieldErrors(s.Catalogue).Bucket(c.Bucket).Amount("hours", c.Hours);
        if (c.Settlement is { } settlement)
        {
            ValidateSettlement(settlement, errors);
        }

        if (errors.Any)
        {
            return errors.ToRejection();
        }

        if (c.FromAccountId == c.ToAccountId)
        {
            return Reject(RejectionCodes.SameAccount, "a transfer needs two different accounts");
        }

        // The sender's own account and balance are checked before anything about the receiver's account is told, so
        // that a transfer is no probe of which accounts exist or what another account may receive.
        var from = s.Account(c.FromAccountId);
        var to = s.Account(c.ToAccountId);
        if ((CanMove(from, c.FromAccountId) ?? Open(s, c.Bucket.Period) ?? Covers(s, from!, c.Bucket, c.Hours) ?? CanMove(to, c.ToAccountId)) is { } rejected)
        {
            return rejected;
        }

        s.Emit(c.FromAccountId, new CreditsTransferredOut(c.OperationId, c.FromAccountId, c.ToAccountId, c.Bucket, c.Hours, c.Settlement,
            [new Posting(c.FromAccountId, c.Bucket, -c.Hours)], c.Now));
        s.Emit(c.ToAccountId, new CreditsTransferredIn(c.OperationId, c.ToAccountId, c.FromAccountId, c.Bucket, c.Hours, c.Settlement,
            [new Posting(c.ToAccountId, c.Bucket, c.Hours)], c.Now));
        return s.Accept();
    }

    private static Decision TransferringAcrossPeriods(TransferAcrossPeriods c, Session s)
    {
        var errors = new FieldErrors(s.Catalogue)
            .ResourceClass(c.ResourceClass, "resourceClass")
            .Region(c.FromRegion, "from.region").Period(c.FromPeriod, "from.period")
            .Region(c.ToRegion, "to.region").Period(c.ToPeriod, "to.period")
            .Amount("hours", c.Hours);
        if (c.FromBucket == c.ToBucket && c.Destination == c.FromAccountId)
        {
            errors.Add("to", "must be another region or period (or another account)");
        }

        if (errors.Any)
        {
            return errors.ToRejection();
        }

        // As for a transfer: the sender's side first, the receiver's account last.
        var to = c.Destination;
        var from = s.Account(c.FromAccountId);
        var receiver = s.Account(to);
        if ((CanMove(from, c.FromAccountId) ?? Open(s, c.FromPeriod) ?? Open(s, c.ToPeriod)) is { } rejected)
        {
            return rejected;
        }

        if (s.Catalogue.Conversion.RateFor(c.FromBucket, c.ToBucket) is not { } rate)
        {
            return Reject(RejectionCodes.NoConversionRate, $"no conversion rate from {c.FromBucket} to {c.ToBucket}");
        }

        var credited = rate.Apply(c.Hours);
        if (credited.IsZero)
        {
            return new FieldErrors(s.Catalogue).Add("hours", $"converts to 0.000 hours at rate {rate}").ToRejection();
        }

        if ((Covers(s, from!, c.FromBucket, c.Hours) ?? CanMove(receiver, to)) is { } refused)
        {
            return refused;
        }

        var debit = new Posting(c.FromAccountId, c.FromBucket, -c.Hours);
        var credit = new Posting(to, c.ToBucket, credited);
        var difference = c.Hours - credited;
        List<Posting> conversion = difference.IsZero ? [] : [new Posting(s.Catalogue.ConversionAccount, c.FromBucket, difference)];
        var sameAccount = to == c.FromAccountId;
        s.Emit(c.FromAccountId, new CreditsTransferredAcrossPeriods(c.OperationId, c.FromAccountId, to, c.FromBucket, c.ToBucket, c.Hours,
            credited, rate, sameAccount ? [debit, credit, .. conversion] : [debit, .. conversion], c.Now));
        if (!sameAccount)
        {
            s.Emit(to, new PeriodTransferReceived(c.OperationId, to, c.FromAccountId, c.FromBucket, c.ToBucket, c.Hours, credited, rate,
                [credit], c.Now));
        }

        return s.Accept(new PeriodTransferOutcome(c.Hours, credited, rate));
    }

    private static void ValidateSettlement(Settlement settlement, FieldErrors errors)
    {
        if (settlement.Amount <= 0m || decimal.Round(settlement.Amount, 2) != settlement.Amount)
        {
            errors.Add("settlement.amount", "must be a positive amount with at most 2 decimals");
        }

        if (!string.Equals(settlement.Currency, "CNY", StringComparison.Ordinal))
        {
            errors.Add("settlement.currency", "must be CNY");
        }

        if (!Enum.IsDefined(settlement.Rail))
        {
            errors.Add("settlement.rail", "must be e-cny or bank-transfer");
        }

        errors.Text(settlement.PaymentReference, "settlement.paymentReference", 128, required: true);
    }
}
