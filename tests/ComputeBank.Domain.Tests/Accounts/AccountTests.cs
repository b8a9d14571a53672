using ComputeBank.Domain.Accounts;

namespace ComputeBank.Domain.Tests.Accounts;

/// <summary>
/// Given/When/Then tests of the ledger's commands, one partial file per command. Given commands run through the
/// <see cref="LedgerModel"/> (and must be accepted); When returns the decision of one more command.
/// </summary>
public sealed partial class AccountTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private static readonly Bucket B = Bucket.Of("gpu.h100", "beijing", "2026-11");
    private readonly LedgerModel _ledger = new(LedgerCatalogue.Default);
    private int _operations;

    private OperationId NextOperation() => OperationId.Parse($"op-{++_operations}");

    private static AccountId Id(string id) => AccountId.Parse(id);

    private static Hours H(string hours) => Hours.Parse(hours);

    private void Given(params LedgerCommand[] commands)
    {
        foreach (var command in commands)
        {
            var decision = _ledger.Submit(command).Decision;
            Assert.True(decision is Accepted, $"given {command.GetType().Name} was not accepted: {decision}");
        }
    }

    private Decision When(LedgerCommand command) => _ledger.Submit(command).Decision;

    private static IReadOnlyList<object> ThenEvents(Decision decision, string streamId)
    {
        var accepted = Assert.IsType<Accepted>(decision);
        return accepted.Changes.Where(c => c.StreamId == streamId).SelectMany(c => c.Events).ToList();
    }

    private static T ThenSingleEvent<T>(Decision decision, string streamId) => Assert.IsType<T>(Assert.Single(ThenEvents(decision, streamId)));

    private static void ThenNoEvents(Decision decision) => Assert.Empty(Assert.IsType<Accepted>(decision).Changes);

    private static Rejected ThenRejected(Decision decision, string code)
    {
        var rejected = Assert.IsType<Rejected>(decision);
        Assert.Equal(code, rejected.Code);
        return rejected;
    }

    private static void ThenFieldError(Decision decision, string field)
    {
        var rejected = ThenRejected(decision, RejectionCodes.ValidationFailed);
        Assert.NotNull(rejected.Errors);
        Assert.Contains(field, rejected.Errors!.Keys);
    }

    private static string S(string accountId) => StreamIds.Account(Id(accountId));

    private AccountState Account(string id) => Assert.IsType<AccountState>(_ledger.State(S(id)));

    private BucketBalance Balance(string id, Bucket? bucket = null) => Account(id).Balance(bucket ?? B);

    /// <summary>The sum of every posting of every event so far, per account and bucket (the read side's projection).</summary>
    private Hours Postings(string accountId, Bucket? bucket = null) => new(_ledger.Events
        .SelectMany(e => DomainEvents.PostingsOf(e.Event))
        .Where(p => p.AccountId == Id(accountId) && p.Bucket == (bucket ?? B))
        .Sum(p => p.Amount.MilliHours));

    private OpenAccount Open(string id, AccountKind kind = AccountKind.Consumer, string owner = "party-1", string? name = null) =>
        new(NextOperation(), Id(id), owner, kind, name, T0);

    private DepositCapacity Deposit(string id, string hours, Bucket? bucket = null) =>
        new(NextOperation(), Id(id), bucket ?? B, H(hours), null, T0);

    private WithdrawCredits Withdraw(string id, string hours, Bucket? bucket = null) =>
        new(NextOperation(), Id(id), bucket ?? B, H(hours), "job-1", T0);

    private TransferCredits Transfer(string from, string to, string hours, Bucket? bucket = null, Settlement? settlement = null) =>
        new(NextOperation(), Id(from), Id(to), bucket ?? B, H(hours), settlement, T0);

    private TransferAcrossPeriods TransferAcross(string from, string? to, string hours, string toRegion, string toPeriod, string fromPeriod = "2026-11") =>
        new(NextOperation(), Id(from), to is null ? null : Id(to), ResourceClass.Parse("gpu.h100"), Region.Parse("beijing"), Period.Parse(fromPeriod),
            Region.Parse(toRegion), Period.Parse(toPeriod), H(hours), T0);

    private PlaceHold Hold(string holdId, string account, string hours, string? beneficiary = null, DateTimeOffset? expiresAt = null) =>
        new(OperationId.Parse(holdId), Id(account), beneficiary is null ? null : Id(beneficiary), B, H(hours), expiresAt ?? T0.AddHours(1), T0);

    private CaptureHold Capture(string holdId, string? hours = null, DateTimeOffset? now = null) =>
        new(NextOperation(), OperationId.Parse(holdId), hours is null ? null : H(hours), now ?? T0);

    private ReleaseHold Release(string holdId, DateTimeOffset? now = null) => new(NextOperation(), OperationId.Parse(holdId), now ?? T0);

    private ExpireHold Expire(string holdId, DateTimeOffset now) => new(NextOperation(), OperationId.Parse(holdId), now);

    private SetCreditLimit Limit(string id, string hours, string resourceClass = "gpu.h100") =>
        new(NextOperation(), Id(id), ResourceClass.Parse(resourceClass), H(hours), T0);

    private FreezeAccount Freeze(string id) => new(NextOperation(), Id(id), T0);

    private UnfreezeAccount Unfreeze(string id) => new(NextOperation(), Id(id), T0);

    private CloseAccount Close(string id) => new(NextOperation(), Id(id), T0);

    private ClosePeriod ClosePeriod(string period, PeriodClosePolicy policy, string? rolloverTo, params string[] accounts) =>
        new(NextOperation(), Period.Parse(period), policy, rolloverTo is null ? null : Period.Parse(rolloverTo), accounts.Select(Id).ToList(), T0);

    /// <summary>A provider "p" with 100 hours in B and an open consumer "c".</summary>
    private void GivenFundedProviderAndConsumer() => Given(Open("p", AccountKind.Provider), Deposit("p", "100"), Open("c"));
}
