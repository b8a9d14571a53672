using ComputeBank.Domain.Accounts;
using ComputeBank.Domain.Holds;
using ComputeBank.Domain.Periods;

namespace ComputeBank.Domain.Tests.Accounts;

public sealed partial class AccountTests
{
    [Fact]
    public void GivenBalancesAndHold_WhenClosingPeriodWithExpire_ThenHoldReleasedAndBalancesExpired()
    {
        GivenFundedProviderAndConsumer();
        Given(Transfer("p", "c", "30"), Hold("h1", "c", "10"), Deposit("p", "7", At("beijing", "2026-12")));

        var decision = When(ClosePeriod("2026-11", PeriodClosePolicy.Expire, null, "p", "c", "nobody"));

        ThenSingleEvent<PeriodClosed>(decision, StreamIds.Period(B.Period));
        Assert.Equal(HoldReleaseReason.PeriodClosed, ThenSingleEvent<HoldReleased>(decision, StreamIds.Hold(OperationId.Parse("h1"))).Reason);
        var consumerEvents = ThenEvents(decision, S("c"));
        Assert.IsType<HeldCreditsReleased>(consumerEvents[0]);
        Assert.Equal([new Posting(Id("c"), B, H("-30")), new Posting(Id("bank.expiry"), B, H("30"))], Assert.IsType<CreditsExpired>(consumerEvents[1]).Postings);
        Assert.Equal(BucketBalance.Empty, Balance("c"));
        Assert.Equal(BucketBalance.Empty, Balance("p"));
        Assert.Equal(H("7"), Balance("p", At("beijing", "2026-12")).Posted);
        Assert.Equal(H("100"), Postings("bank.expiry"));
        Assert.Equal(HoldStatus.Released, Assert.IsType<HoldState>(_ledger.State(StreamIds.Hold(OperationId.Parse("h1")))).Status);
    }

    [Fact]
    public void GivenBalances_WhenClosingPeriodWithRollover_ThenBalancesMoveToTheLaterPeriod()
    {
        GivenFundedProviderAndConsumer();

        var decision = When(ClosePeriod("2026-11", PeriodClosePolicy.Rollover, "2027-02", "p"));

        var rolled = ThenSingleEvent<CreditsRolledOver>(decision, S("p"));
        Assert.Equal([new Posting(Id("p"), B, H("-100")), new Posting(Id("p"), At("beijing", "2027-02"), H("100"))], rolled.Postings);
        Assert.Equal(H("100"), Balance("p", At("beijing", "2027-02")).Posted);
    }

    [Fact]
    public void GivenDebt_WhenClosingPeriod_ThenTheDebtStays()
    {
        Given(Open("c"), Limit("c", "5"), Withdraw("c", "2"));

        ThenSingleEvent<PeriodClosed>(When(ClosePeriod("2026-11", PeriodClosePolicy.Expire, null, "c")), StreamIds.Period(B.Period));

        Assert.Equal(H("-2"), Balance("c").Posted);
    }

    [Fact]
    public void GivenClosedPeriod_WhenClosingAgain_ThenPeriodAlreadyClosed()
    {
        Given(ClosePeriod("2026-11", PeriodClosePolicy.Expire, null));

        ThenRejected(When(ClosePeriod("2026-11", PeriodClosePolicy.Expire, null)), RejectionCodes.PeriodAlreadyClosed);
    }

    [Fact]
    public void GivenClosedRolloverPeriod_WhenClosingWithRollover_ThenPeriodClosed()
    {
        Given(ClosePeriod("2026-12", PeriodClosePolicy.Expire, null));

        ThenRejected(When(ClosePeriod("2026-11", PeriodClosePolicy.Rollover, "2026-12")), RejectionCodes.PeriodClosed);
    }

    [Theory]
    [InlineData(PeriodClosePolicy.Rollover, null)]
    [InlineData(PeriodClosePolicy.Rollover, "2026-10")]
    [InlineData(PeriodClosePolicy.Expire, "2026-12")]
    public void GivenOpenPeriod_WhenClosingWithBadRollover_ThenValidationFailed(PeriodClosePolicy policy, string? rolloverTo) =>
        ThenFieldError(When(ClosePeriod("2026-11", policy, rolloverTo)), "rolloverTo");
}
