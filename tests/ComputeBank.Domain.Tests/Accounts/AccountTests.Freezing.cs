using ComputeBank.Domain.Accounts;

namespace ComputeBank.Domain.Tests.Accounts;

public sealed partial class AccountTests
{
    [Fact]
    public void GivenActiveAccount_WhenFreezing_ThenAccountFrozen()
    {
        Given(Open("c"));

        ThenSingleEvent<AccountFrozen>(When(Freeze("c")), S("c"));

        Assert.Equal(AccountStatus.Frozen, Account("c").Status);
    }

    [Fact]
    public void GivenFrozenAccount_WhenFreezingAgain_ThenNothingChanges()
    {
        Given(Open("c"), Freeze("c"));

        ThenNoEvents(When(Freeze("c")));
    }

    [Fact]
    public void GivenFrozenAccount_WhenUnfreezing_ThenAccountUnfrozenAndAcceptsDebitsAgain()
    {
        Given(Open("p", AccountKind.Provider), Deposit("p", "5"), Freeze("p"));

        ThenSingleEvent<AccountUnfrozen>(When(Unfreeze("p")), S("p"));

        ThenSingleEvent<CreditsWithdrawn>(When(Withdraw("p", "5")), S("p"));
    }

    [Fact]
    public void GivenActiveAccount_WhenUnfreezing_ThenNothingChanges()
    {
        Given(Open("c"));

        ThenNoEvents(When(Unfreeze("c")));
    }

    [Fact]
    public void GivenNoAccount_WhenFreezing_ThenAccountNotFound() =>
        ThenRejected(When(Freeze("c")), RejectionCodes.AccountNotFound);

    [Fact]
    public void GivenClosedAccount_WhenFreezingOrUnfreezing_ThenAccountClosed()
    {
        Given(Open("c"), Close("c"));

        ThenRejected(When(Freeze("c")), RejectionCodes.AccountClosed);
        ThenRejected(When(Unfreeze("c")), RejectionCodes.AccountClosed);
    }
}
