using ComputeBank.Domain.Accounts;

namespace ComputeBank.Domain.Tests.Accounts;

public sealed partial class AccountTests
{
    [Fact]
    public void GivenFundedAccount_WhenWithdrawing_ThenCreditsWithdrawnToConsumption()
    {
        Given(Open("p", AccountKind.Provider), Deposit("p", "10"));

        var withdrawn = ThenSingleEvent<CreditsWithdrawn>(When(Withdraw("p", "10")), S("p"));

        Assert.Equal([new Posting(Id("p"), B, H("-10")), new Posting(Id("bank.consumption"), B, H("10"))], withdrawn.Postings);
        Assert.Equal("job-1", withdrawn.JobReference);
        Assert.Equal(BucketBalance.Empty, Balance("p"));
        Assert.Equal(H("10"), Postings("bank.consumption"));
    }

    [Fact]
    public void GivenFundedAccount_WhenWithdrawingMoreThanAvailable_ThenInsufficientCredits()
    {
        Given(Open("p", AccountKind.Provider), Deposit("p", "10"));

        ThenRejected(When(Withdraw("p", "10.001")), RejectionCodes.InsufficientCredits);
    }

    [Fact]
    public void GivenConsumerWithCreditLimit_WhenWithdrawingWithinTheLimit_ThenBucketGoesNegative()
    {
        Given(Open("c"), Limit("c", "5"));

        ThenSingleEvent<CreditsWithdrawn>(When(Withdraw("c", "5")), S("c"));

        Assert.Equal(H("-5"), Balance("c").Posted);
        Assert.Equal(Hours.Zero, Account("c").Available(B));
        ThenRejected(When(Withdraw("c", "0.001")), RejectionCodes.InsufficientCredits);
    }

    [Fact]
    public void GivenNoAccount_WhenWithdrawing_ThenAccountNotFound() =>
        ThenRejected(When(Withdraw("c", "1")), RejectionCodes.AccountNotFound);

    [Fact]
    public void GivenFrozenAccount_WhenWithdrawing_ThenAccountFrozen()
    {
        Given(Open("p", AccountKind.Provider), Deposit("p", "10"), Freeze("p"));

        ThenRejected(When(Withdraw("p", "1")), RejectionCodes.AccountFrozen);
    }

    [Fact]
    public void GivenClosedAccount_WhenWithdrawing_ThenAccountClosed()
    {
        Given(Open("c"), Close("c"));

        ThenRejected(When(Withdraw("c", "1")), RejectionCodes.AccountClosed);
    }

    [Fact]
    public void GivenClosedPeriod_WhenWithdrawing_ThenPeriodClosed()
    {
        Given(Open("c"), Limit("c", "5"), ClosePeriod("2026-11", PeriodClosePolicy.Expire, null, "c"));

        ThenRejected(When(Withdraw("c", "1")), RejectionCodes.PeriodClosed);
    }

    [Fact]
    public void GivenFundedAccount_WhenWithdrawingZero_ThenValidationFailed()
    {
        Given(Open("p", AccountKind.Provider), Deposit("p", "10"));

        ThenFieldError(When(Withdraw("p", "0")), "hours");
    }
}
