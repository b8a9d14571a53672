using ComputeBank.Domain.Accounts;

namespace ComputeBank.Domain.Tests.Accounts;

public sealed partial class AccountTests
{
    [Fact]
    public void GivenNoAccount_WhenOpening_ThenAccountOpened()
    {
        var decision = When(Open("acme", AccountKind.Provider, "party-7", "Acme GPUs"));

        var opened = ThenSingleEvent<AccountOpened>(decision, S("acme"));
        Assert.Equal(new AccountOpened(opened.OperationId, Id("acme"), "party-7", AccountKind.Provider, "Acme GPUs", T0), opened);
        Assert.Equal(AccountStatus.Active, Account("acme").Status);
    }

    [Fact]
    public void GivenOpenAccount_WhenOpeningWithSameFields_ThenNothingChanges()
    {
        Given(Open("acme", AccountKind.Provider, "party-7"));

        var decision = When(Open("acme", AccountKind.Provider, "party-7"));

        ThenNoEvents(decision);
        Assert.Equal(Id("acme"), Assert.Single(Assert.IsType<Accepted>(decision).Outcome.Accounts).AccountId);
    }

    [Theory]
    [InlineData(AccountKind.Consumer, "party-7", null)]
    [InlineData(AccountKind.Provider, "party-8", null)]
    [InlineData(AccountKind.Provider, "party-7", "Other name")]
    public void GivenOpenAccount_WhenOpeningWithOtherFields_ThenAccountExistsWithDifferentFields(AccountKind kind, string owner, string? name)
    {
        Given(Open("acme", AccountKind.Provider, "party-7"));

        ThenRejected(When(Open("acme", kind, owner, name)), RejectionCodes.AccountExistsWithDifferentFields);
    }

    [Fact]
    public void GivenNoAccount_WhenOpeningSystemKind_ThenInvalidAccountKind() =>
        ThenRejected(When(Open("acme", AccountKind.System)), RejectionCodes.InvalidAccountKind);

    [Fact]
    public void GivenNoAccount_WhenOpeningWithSystemAccountName_ThenValidationFailed() =>
        ThenFieldError(When(Open("bank.capacity", AccountKind.Provider)), "accountId");

    [Fact]
    public void GivenNoAccount_WhenOpeningWithoutOwner_ThenValidationFailed() =>
        ThenFieldError(When(Open("acme", AccountKind.Provider, " ")), "ownerId");
}
