using ComputeBank.Domain.Accounts;
using ComputeBank.Domain.Holds;

namespace ComputeBank.Domain;

public static partial class Ledger
{
    private static Decision PlacingHold(PlaceHold c, Session s)
    {
        var errors = new FieldErrors(s.Catalogue).Bucket(c.Bucket).Amount("hours", c.Hours);
        if (c.ExpiresAt <= c.Now)
        {
            errors.Add("expiresAt", "must be in the future");
        }

        if (s.Hold(c.HoldId) is not null)
        {
            errors.Add("holdId", $"hold '{c.HoldId}' already exists");
        }

        if (errors.Any)
        {
            return errors.ToRejection();
        }

        if (c.BeneficiaryAccountId == c.AccountId)
        {
            return Reject(RejectionCodes.SameAccount, "the beneficiary must be another account");
        }

        var account = s.Account(c.AccountId);
        var beneficiary = c.BeneficiaryAccountId is null ? null : s.Account(c.BeneficiaryAccountId);
        // The holder's own account and balance first: the beneficiary's account is told of last (no existence probe).
        if ((CanMove(account, c.AccountId) ?? Open(s, c.Bucket.Period) ?? Covers(s, account!, c.Bucket, c.Hours) ??
             (c.BeneficiaryAccountId is null ? null : CanMove(beneficiary, c.BeneficiaryAccountId))) is { } rejected)
        {
            return rejected;
        }

        s.Emit(c.HoldId, new HoldPlaced(c.HoldId, c.AccountId, c.BeneficiaryAccountId, c.Bucket, c.Hours, c.ExpiresAt, c.Now));
        s.Emit(c.AccountId, new CreditsHeld(c.HoldId, c.AccountId, c.Bucket, c.Hours, c.ExpiresAt, c.Now));
        return s.Accept(holdId: c.HoldId);
    }

    private static Decision CapturingHold(CaptureHold c, Session s)
    {
        if (c.Hours is { } requested && new FieldErrors(s.Catalogue).Amount("hours", requested) is { Any: true } errors)
        {
            return errors.ToRejection();
        }

        if (PendingHold(c.HoldId, s) is not { } hold)
        {
            return HoldUnavailable(c.HoldId, s);
        }

        var captured = c.Hours ?? hold.Hours;
        if (captured > hold.Hours)
        {
            return Reject(RejectionCodes.CaptureExceedsHold, $"capture of {captured} exceeds the {hold.Hours} held");
        }

        var beneficiaryId = hold.BeneficiaryAccountId;
        if ((CanMove(s.Account(hold.AccountId), hold.AccountId) ??
             (beneficiaryId is null ? null : CanMove(s.Account(beneficiaryId), beneficiaryId)) ??
             Open(s, hold.Bucket.Period)) is { } rejected)
        {
            return rejected;
        }

        var debit = new Posting(hold.AccountId, hold.Bucket, -captured);
        s.Emit(hold.HoldId, new HoldCaptured(c.OperationId, hold.HoldId, captured, hold.Hours - captured, c.Now));
        if (beneficiaryId is null)
        {
            s.Emit(hold.AccountId, new HeldCreditsCaptured(c.OperationId, hold.HoldId, hold.AccountId, null, hold.Bucket, hold.Hours, captured,
                [debit, new Posting(s.Catalogue.ConsumptionAccount, hold.Bucket, captured)], c.Now));
        }
        else
        {
            s.Emit(hold.AccountId, new HeldCreditsCaptured(c.OperationId, hold.HoldId, hold.AccountId, beneficiaryId, hold.Bucket, hold.Hours, captured,
                [debit], c.Now));
            s.Emit(beneficiaryId, new CreditsTransferredIn(c.OperationId, beneficiaryId, hold.AccountId, hold.Bucket, captured, null,
                [new Posting(beneficiaryId, hold.Bucket, captured)], c.Now));
        }

        return s.Accept(holdId: hold.HoldId);
    }

    private static Decision ReleasingHold(ReleaseHold c, Session s)
    {
        if (PendingHold(c.HoldId, s) is not { } hold)
        {
            return HoldUnavailable(c.HoldId, s);
        }

        s.Emit(hold.HoldId, new HoldReleased(c.OperationId, hold.HoldId, HoldReleaseReason.Released, c.Now));
        s.Emit(hold.AccountId, new HeldCreditsReleased(c.OperationId, hold.HoldId, hold.AccountId, hold.Bucket, hold.Hours, HoldReleaseReason.Released, c.Now));
        return s.Accept(holdId: hold.HoldId);
    }

    private static Decision ExpiringHold(ExpireHold c, Session s)
    {
        var hold = s.Hold(c.HoldId);
        if (hold is null)
        {
            return Reject(RejectionCodes.HoldNotFound, $"hold '{c.HoldId}' does not exist");
        }

        if (hold.Status != HoldStatus.Pending)
        {
            return Reject(RejectionCodes.HoldNotPending, $"hold '{c.HoldId}' is {hold.Status.ToString().ToLowerInvariant()}");
        }

        if (c.Now < hold.ExpiresAt)
        {
            return new FieldErrors(s.Catalogue).Add("now", $"the hold expires at {hold.ExpiresAt:O}, not before").ToRejection();
        }

        s.Emit(hold.HoldId, new HoldExpired(c.OperationId, hold.HoldId, c.Now));
        s.Emit(hold.AccountId, new HeldCreditsReleased(c.OperationId, hold.HoldId, hold.AccountId, hold.Bucket, hold.Hours, HoldReleaseReason.Expired, c.Now));
        return s.Accept(holdId: hold.HoldId);
    }

    /// <summary>The hold if it can still be captured or released: pending and before its expiry (TigerBeetle's timeout rule).</summary>
    private static HoldState? PendingHold(OperationId holdId, Session s) => s.Hold(holdId) is { } hold && hold.IsPendingAt(s.Now) ? hold : null;

    private static Rejected HoldUnavailable(OperationId holdId, Session s) => s.Hold(holdId) is { } hold
        ? Reject(RejectionCodes.HoldNotPending, hold.Status == HoldStatus.Pending
            ? $"hold '{holdId}' expired at {hold.ExpiresAt:O}"
            : $"hold '{holdId}' is {hold.Status.ToString().ToLowerInvariant()}")
        : Reject(RejectionCodes.HoldNotFound, $"hold '{holdId}' does not exist");
}
