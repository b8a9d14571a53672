using ComputeBank.Domain.Accounts;

namespace ComputeBank.Domain.Tests.Accounts;

public sealed partial class AccountTests
{
    [Fact]
    public void GivenConsumer_WhenSettingCreditLimit_ThenCreditLimitSet()
    {
        Given(Open("c"));

        var set = ThenSingleEvent<CreditLimitSet>(When(Limit("c", "25.5")), S("c"));

        Assert.Equal(H("25.5"), set.Limit);
        Assert.Equal(H("25.5"), Account("c").Available(B));
    }

    [Fact]
    public void GivenConsumerWithThatLimit_WhenSettingItAgain_ThenNothingChanges()
    {
        Given(Open("c"), Limit("c", "5"));

        ThenNoEvents(When(Limit("c", "5")));
    }

    [Fact]
    public void GivenConsumerUsingItsLimit_WhenLoweringBelowUse_ThenInsufficientCredits()
    {
        Given(Open("c"), Limit("c", "5"), Withdraw("c", "3"));

        ThenRejected(When(Limit("c", "2.999")), RejectionCodes.InsufficientCredits);
        ThenSingleEvent<CreditLimitSet>(When(Limit("c", "3")), S("c"));
    }

    [Fact]
    public void GivenProvider_WhenSettingCreditLimit_ThenInvalidAccountKind()
    {
        Given(Open("p", AccountKind.Provider));

        ThenRejected(When(Limit("p", "5")), RejectionCodes.InvalidAccountKind);
    }

    [Fact]
    public void GivenNoAccount_WhenSettingCreditLimit_ThenAccountNotFound() =>
        ThenRejected(When(Limit("c", "5")), RejectionCodes.AccountNotFound);

    [Fact]
    public void GivenClosedAccount_WhenSettingCreditLimit_ThenAccountClosed()
    {
        Given(Open("c"), Close("c"));

        ThenRejected(When(Limit("c", "5")), RejectionCodes.AccountClosed);
    }

    [Theory]
    [InlineData("-1", "gpu.h100", "hours")]
    [InlineData("1", "tpu.v5", "resourceClass")]
    public void GivenConsumer_WhenSettingABadLimit_ThenValidationFailed(string hours, string resourceClass, string field)
    {
        Given(Open("c"));

        ThenFieldError(When(Limit("c", hours, resourceClass)), field);
    }
}
