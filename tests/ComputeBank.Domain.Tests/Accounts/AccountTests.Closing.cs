using ComputeBank.Domain.Accounts;

namespace ComputeBank.Domain.Tests.Accounts;

public sealed partial class AccountTests
{
    [Fact]
    public void GivenEmptyAccount_WhenClosing_ThenAccountClosed()
    {
        Given(Open("p", AccountKind.Provider), Deposit("p", "5"), Withdraw("p", "5"));

        ThenSingleEvent<AccountClosed>(When(Close("p")), S("p"));

        Assert.Equal(AccountStatus.Closed, Account("p").Status);
    }

    [Fact]
    public void GivenClosedAccount_WhenClosingAgain_ThenNothingChanges()
    {
        Given(Open("c"), Close("c"));

        ThenNoEvents(When(Close("c")));
    }

    [Fact]
    public void GivenAccountWithBalance_WhenClosing_ThenAccountNotEmpty()
    {
        Given(Open("p", AccountKind.Provider), Deposit("p", "5"));

        ThenRejected(When(Close("p")), RejectionCodes.AccountNotEmpty);
    }

    [Fact]
    public void GivenAccountWithDebt_WhenClosing_ThenAccountNotEmpty()
    {
        Given(Open("c"), Limit("c", "5"), Withdraw("c", "1"));

        ThenRejected(When(Close("c")), RejectionCodes.AccountNotEmpty);
    }

    [Fact]
    public void GivenNoAccount_WhenClosing_ThenAccountNotFound() =>
        ThenRejected(When(Close("c")), RejectionCodes.AccountNotFound);
}
