using ComputeBank.Domain.Accounts;
using ComputeBank.Domain.Holds;

namespace ComputeBank.Domain.Tests.Accounts;

public sealed partial class AccountTests
{
    [Fact]
    public void GivenPendingHold_WhenCapturingPart_ThenWithdrawnToConsumptionAndRestReleased()
    {
        GivenFundedProviderAndConsumer();
        Given(Hold("h1", "p", "10"));

        var decision = When(Capture("h1", "4"));

        var captured = ThenSingleEvent<HoldCaptured>(decision, StreamIds.Hold(OperationId.Parse("h1")));
        Assert.Equal((H("4"), H("6")), (captured.CapturedHours, captured.ReleasedHours));
        var posted = ThenSingleEvent<HeldCreditsCaptured>(decision, S("p"));
        Assert.Equal([new Posting(Id("p"), B, H("-4")), new Posting(Id("bank.consumption"), B, H("4"))], posted.Postings);
        Assert.Equal(new BucketBalance(H("96"), Hours.Zero), Balance("p"));
        Assert.Empty(Account("p").OpenHolds);
    }

    [Fact]
    public void GivenPendingHoldWithBeneficiary_WhenCapturingAll_ThenTransferredToBeneficiary()
    {
        GivenFundedProviderAndConsumer();
        Given(Hold("h1", "p", "10", beneficiary: "c"));

        var decision = When(Capture("h1"));

        Assert.Equal([new Posting(Id("p"), B, H("-10"))], ThenSingleEvent<HeldCreditsCaptured>(decision, S("p")).Postings);
        Assert.Equal([new Posting(Id("c"), B, H("10"))], ThenSingleEvent<CreditsTransferredIn>(decision, S("c")).Postings);
        Assert.Equal(new BucketBalance(H("90"), Hours.Zero), Balance("p"));
        Assert.Equal(new BucketBalance(H("10"), Hours.Zero), Balance("c"));
    }

    [Fact]
    public void GivenNoHold_WhenCapturing_ThenHoldNotFound() =>
        ThenRejected(When(Capture("h1")), RejectionCodes.HoldNotFound);

    [Fact]
    public void GivenReleasedHold_WhenCapturing_ThenHoldNotPending()
    {
        GivenFundedProviderAndConsumer();
        Given(Hold("h1", "p", "10"), Release("h1"));

        ThenRejected(When(Capture("h1")), RejectionCodes.HoldNotPending);
    }

    [Fact]
    public void GivenPendingHoldAtItsExpiry_WhenCapturing_ThenHoldNotPending()
    {
        GivenFundedProviderAndConsumer();
        Given(Hold("h1", "p", "10", expiresAt: T0.AddMinutes(5)));

        ThenRejected(When(Capture("h1", now: T0.AddMinutes(5))), RejectionCodes.HoldNotPending);
    }

    [Fact]
    public void GivenPendingHold_WhenCapturingMoreThanHeld_ThenCaptureExceedsHold()
    {
        GivenFundedProviderAndConsumer();
        Given(Hold("h1", "p", "10"));

        ThenRejected(When(Capture("h1", "10.001")), RejectionCodes.CaptureExceedsHold);
    }

    [Fact]
    public void GivenPendingHoldOfFrozenAccount_WhenCapturing_ThenAccountFrozen()
    {
        GivenFundedProviderAndConsumer();
        Given(Hold("h1", "p", "10"), Freeze("p"));

        ThenRejected(When(Capture("h1")), RejectionCodes.AccountFrozen);
    }

    [Fact]
    public void GivenPendingHold_WhenCapturingZero_ThenValidationFailed()
    {
        GivenFundedProviderAndConsumer();
        Given(Hold("h1", "p", "10"));

        ThenFieldError(When(Capture("h1", "0")), "hours");
    }

    [Fact]
    public void GivenCapturedHold_WhenLookingAtTheHold_ThenItIsCaptured()
    {
        GivenFundedProviderAndConsumer();
        Given(Hold("h1", "p", "10"), Capture("h1", "3"));

        var hold = Assert.IsType<HoldState>(_ledger.State(StreamIds.Hold(OperationId.Parse("h1"))));

        Assert.Equal((HoldStatus.Captured, H("3")), (hold.Status, hold.CapturedHours));
    }
}
