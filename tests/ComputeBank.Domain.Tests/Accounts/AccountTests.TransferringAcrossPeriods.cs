using ComputeBank.Domain.Accounts;

namespace ComputeBank.Domain.Tests.Accounts;

public sealed partial class AccountTests
{
    private static Bucket At(string region, string period) => Bucket.Of("gpu.h100", region, period);

    [Fact]
    public void GivenFundedAccount_WhenTransferringWithinTheQuarter_ThenOneEventAtRateOne()
    {
        Given(Open("p", AccountKind.Provider), Deposit("p", "10"));

        var decision = When(TransferAcross("p", null, "4", "beijing", "2026-12"));

        var moved = ThenSingleEvent<CreditsTransferredAcrossPeriods>(decision, S("p"));
        Assert.Equal(ConversionRate.One, moved.Rate);
        Assert.Equal([new Posting(Id("p"), B, H("-4")), new Posting(Id("p"), At("beijing", "2026-12"), H("4"))], moved.Postings);
        Assert.Equal(new PeriodTransferOutcome(H("4"), H("4"), ConversionRate.One), Assert.IsType<Accepted>(decision).Outcome.PeriodTransfer);
        Assert.Equal(H("6"), Balance("p").Posted);
        Assert.Equal(H("4"), Balance("p", At("beijing", "2026-12")).Posted);
    }

    [Fact]
    public void GivenFundedAccount_WhenDeferringMoreThanThreePeriods_ThenCreditedAtRateAndDifferenceToConversion()
    {
        Given(Open("p", AccountKind.Provider), Deposit("p", "10"), Open("c"));

        var decision = When(TransferAcross("p", "c", "0.011", "beijing", "2027-03"));

        var sent = ThenSingleEvent<CreditsTransferredAcrossPeriods>(decision, S("p"));
        var received = ThenSingleEvent<PeriodTransferReceived>(decision, S("c"));
        Assert.Equal(900_000, sent.Rate.PartsPerMillion);
        Assert.Equal(H("0.009"), sent.HoursCredited); // floor(11 × 0.9) = 9 milli-hours
        Assert.Equal([new Posting(Id("p"), B, H("-0.011")), new Posting(Id("bank.conversion"), B, H("0.002"))], sent.Postings);
        Assert.Equal([new Posting(Id("c"), At("beijing", "2027-03"), H("0.009"))], received.Postings);
        Assert.Equal(H("0.009"), Balance("c", At("beijing", "2027-03")).Posted);
    }

    [Fact]
    public void GivenFundedAccount_WhenMovingToAnotherRegionInTheSamePeriod_ThenCrossRegionRate()
    {
        Given(Open("p", AccountKind.Provider), Deposit("p", "10"));

        var moved = ThenSingleEvent<CreditsTransferredAcrossPeriods>(When(TransferAcross("p", null, "10", "shanghai", "2026-11")), S("p"));

        Assert.Equal("0.95", moved.Rate.ToString());
        Assert.Equal(H("9.5"), moved.HoursCredited);
    }

    [Theory]
    [InlineData("beijing", "2027-01")] // one period ahead but into the next quarter
    [InlineData("beijing", "2026-10")] // backwards
    [InlineData("shanghai", "2026-12")] // region and period
    public void GivenFundedAccount_WhenNoRuleMatches_ThenNoConversionRate(string region, string period)
    {
        Given(Open("p", AccountKind.Provider), Deposit("p", "10"));

        ThenRejected(When(TransferAcross("p", null, "1", region, period)), RejectionCodes.NoConversionRate);
    }

    [Fact]
    public void GivenFundedAccount_WhenTransferringMoreThanAvailable_ThenInsufficientCredits()
    {
        Given(Open("p", AccountKind.Provider), Deposit("p", "10"));

        ThenRejected(When(TransferAcross("p", null, "10.001", "beijing", "2026-12")), RejectionCodes.InsufficientCredits);
    }

    [Fact]
    public void GivenClosedDestinationPeriod_WhenTransferring_ThenPeriodClosed()
    {
        Given(Open("p", AccountKind.Provider), Deposit("p", "10"), ClosePeriod("2026-12", PeriodClosePolicy.Expire, null));

        ThenRejected(When(TransferAcross("p", null, "1", "beijing", "2026-12")), RejectionCodes.PeriodClosed);
    }

    [Fact]
    public void GivenFundedAccount_WhenTransferringToUnknownAccount_ThenAccountNotFound()
    {
        Given(Open("p", AccountKind.Provider), Deposit("p", "10"));

        ThenRejected(When(TransferAcross("p", "nobody", "1", "beijing", "2026-12")), RejectionCodes.AccountNotFound);
    }

    [Fact]
    public void GivenFrozenAccount_WhenTransferringAcrossPeriods_ThenAccountFrozen()
    {
        Given(Open("p", AccountKind.Provider), Deposit("p", "10"), Freeze("p"));

        ThenRejected(When(TransferAcross("p", null, "1", "beijing", "2026-12")), RejectionCodes.AccountFrozen);
    }

    [Fact]
    public void GivenFundedAccount_WhenTheConvertedAmountRoundsToZero_ThenValidationFailed()
    {
        Given(Open("p", AccountKind.Provider), Deposit("p", "10"));

        ThenFieldError(When(TransferAcross("p", null, "0.001", "beijing", "2027-03")), "hours");
    }

    [Fact]
    public void GivenFundedAccount_WhenTransferringToTheSameBucket_ThenValidationFailed()
    {
        Given(Open("p", AccountKind.Provider), Deposit("p", "10"));

        ThenFieldError(When(TransferAcross("p", "p", "1", "beijing", "2026-11")), "to");
    }
}
