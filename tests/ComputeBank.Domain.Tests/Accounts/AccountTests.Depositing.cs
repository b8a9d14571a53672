using ComputeBank.Domain.Accounts;

namespace ComputeBank.Domain.Tests.Accounts;

public sealed partial class AccountTests
{
    [Fact]
    public void GivenOpenProviderAccount_WhenDepositing_ThenCapacityDeposited()
    {
        Given(Open("p", AccountKind.Provider));

        var decision = When(Deposit("p", "12.5"));

        var deposited = ThenSingleEvent<CapacityDeposited>(decision, S("p"));
        Assert.Equal(H("12.5"), deposited.Hours);
        Assert.Equal(
            [new Posting(Id("bank.capacity"), B, H("-12.5")), new Posting(Id("p"), B, H("12.5"))],
            deposited.Postings);
        Assert.Equal(new BucketBalance(H("12.5"), Hours.Zero), Balance("p"));
        var bucket = Assert.Single(Assert.Single(Assert.IsType<Accepted>(decision).Outcome.Accounts).Buckets);
        Assert.Equal(new BucketOutcome(B, H("12.5"), Hours.Zero, H("12.5")), bucket);
    }

    [Fact]
    public void GivenConsumerAccount_WhenDepositing_ThenInvalidAccountKind()
    {
        Given(Open("c"));

        ThenRejected(When(Deposit("c", "1")), RejectionCodes.InvalidAccountKind);
    }

    [Fact]
    public void GivenNoAccount_WhenDepositing_ThenAccountNotFound() =>
        ThenRejected(When(Deposit("p", "1")), RejectionCodes.AccountNotFound);

    [Fact]
    public void GivenFrozenProvider_WhenDepositing_ThenAccountFrozen()
    {
        Given(Open("p", AccountKind.Provider), Freeze("p"));

        ThenRejected(When(Deposit("p", "1")), RejectionCodes.AccountFrozen);
    }

    [Fact]
    public void GivenClosedProvider_WhenDepositing_ThenAccountClosed()
    {
        Given(Open("p", AccountKind.Provider), Close("p"));

        ThenRejected(When(Deposit("p", "1")), RejectionCodes.AccountClosed);
    }

    [Fact]
    public void GivenClosedPeriod_WhenDepositing_ThenPeriodClosed()
    {
        Given(Open("p", AccountKind.Provider), ClosePeriod("2026-11", PeriodClosePolicy.Expire, null));

        ThenRejected(When(Deposit("p", "1")), RejectionCodes.PeriodClosed);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1000000000.001")]
    public void GivenProvider_WhenDepositingABadAmount_ThenValidationFailed(string hours)
    {
        Given(Open("p", AccountKind.Provider));

        ThenFieldError(When(Deposit("p", hours)), "hours");
    }

    [Theory]
    [InlineData("gpu.v100", "beijing", "2026-11", "resourceClass")]
    [InlineData("gpu.h100", "paris", "2026-11", "region")]
    [InlineData("gpu.h100", "beijing", "2026-Q4", "period")]
    public void GivenProvider_WhenDepositingOutsideTheCatalogue_ThenValidationFailed(string resourceClass, string region, string period, string field)
    {
        Given(Open("p", AccountKind.Provider));

        ThenFieldError(When(Deposit("p", "1", Bucket.Of(resourceClass, region, period))), field);
    }

    [Fact]
    public void GivenProviderNearTheTopOfTheRange_WhenDepositing_ThenBalanceOverflow()
    {
        // A balance this large cannot be reached in a test run (9.2 million maximal deposits), so the state is folded
        // from a hand-made event and handed to the facade directly.
        var p = Id("p");
        var huge = new Hours(long.MaxValue - 500);
        var state = Ledger.Evolve(S("p"), null, new AccountOpened(NextOperation(), p, "party-1", AccountKind.Provider, null, T0));
        state = Ledger.Evolve(S("p"), state, new CapacityDeposited(NextOperation(), p, B, huge, null, [new Posting(p, B, huge)], T0));
        var states = new Dictionary<string, object?> { [S("p")] = state, [StreamIds.Period(B.Period)] = null };

        var decision = Ledger.Decide(Deposit("p", "1"), states, LedgerCatalogue.Default);

        ThenRejected(decision, RejectionCodes.BalanceOverflow);
        Assert.IsType<Accepted>(Ledger.Decide(Deposit("p", "0.5"), states, LedgerCatalogue.Default));
    }
}
