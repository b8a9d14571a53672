using ComputeBank.Domain.Accounts;

namespace ComputeBank.Domain.Tests.Accounts;

public sealed partial class AccountTests
{
    [Fact]
    public void GivenFundedProvider_WhenTransferringToConsumer_ThenOutAndInEventsEachCarryOneLeg()
    {
        GivenFundedProviderAndConsumer();
        var settlement = new Settlement(1250.50m, "CNY", SettlementRail.ECny, "pay-42");

        var decision = When(Transfer("p", "c", "40", settlement: settlement));

        var sent = ThenSingleEvent<CreditsTransferredOut>(decision, S("p"));
        var received = ThenSingleEvent<CreditsTransferredIn>(decision, S("c"));
        Assert.Equal([new Posting(Id("p"), B, H("-40"))], sent.Postings);
        Assert.Equal([new Posting(Id("c"), B, H("40"))], received.Postings);
        Assert.Equal(settlement, received.Settlement);
        Assert.Equal(H("60"), Balance("p").Posted);
        Assert.Equal(H("40"), Balance("c").Posted);
        Assert.Equal(H("40"), Postings("c"));
        Assert.Equal(2, Assert.IsType<Accepted>(decision).Outcome.Accounts.Count);
    }

    [Fact]
    public void GivenFundedProvider_WhenTransferringMoreThanAvailable_ThenInsufficientCredits()
    {
        GivenFundedProviderAndConsumer();

        ThenRejected(When(Transfer("p", "c", "100.001")), RejectionCodes.InsufficientCredits);
    }

    [Fact]
    public void GivenFundedProvider_WhenTransferringToUnknownAccount_ThenAccountNotFound()
    {
        GivenFundedProviderAndConsumer();

        ThenRejected(When(Transfer("p", "nobody", "1")), RejectionCodes.AccountNotFound);
    }

    [Fact]
    public void GivenFundedProvider_WhenTransferringToItself_ThenSameAccount()
    {
        GivenFundedProviderAndConsumer();

        ThenRejected(When(Transfer("p", "p", "1")), RejectionCodes.SameAccount);
    }

    [Fact]
    public void GivenFrozenRecipient_WhenTransferring_ThenAccountFrozen()
    {
        GivenFundedProviderAndConsumer();
        Given(Freeze("c"));

        ThenRejected(When(Transfer("p", "c", "1")), RejectionCodes.AccountFrozen);
    }

    [Fact]
    public void GivenClosedRecipient_WhenTransferring_ThenAccountClosed()
    {
        GivenFundedProviderAndConsumer();
        Given(Close("c"));

        ThenRejected(When(Transfer("p", "c", "1")), RejectionCodes.AccountClosed);
    }

    [Fact]
    public void GivenClosedPeriod_WhenTransferring_ThenPeriodClosed()
    {
        GivenFundedProviderAndConsumer();
        Given(Limit("c", "10"), ClosePeriod("2026-11", PeriodClosePolicy.Expire, null, "p", "c"));

        ThenRejected(When(Transfer("c", "p", "1")), RejectionCodes.PeriodClosed);
    }

    [Theory]
    [InlineData("12.345", "CNY", "settlement.amount")]
    [InlineData("0", "CNY", "settlement.amount")]
    [InlineData("12.34", "USD", "settlement.currency")]
    public void GivenFundedProvider_WhenTransferringWithBadSettlement_ThenValidationFailed(string amount, string currency, string field)
    {
        GivenFundedProviderAndConsumer();
        var settlement = new Settlement(decimal.Parse(amount, System.Globalization.CultureInfo.InvariantCulture), currency, SettlementRail.BankTransfer, "pay-1");

        ThenFieldError(When(Transfer("p", "c", "1", settlement: settlement)), field);
    }
}
