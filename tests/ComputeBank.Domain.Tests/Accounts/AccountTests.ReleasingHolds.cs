using ComputeBank.Domain.Accounts;
using ComputeBank.Domain.Holds;

namespace ComputeBank.Domain.Tests.Accounts;

public sealed partial class AccountTests
{
    [Fact]
    public void GivenPendingHold_WhenReleasing_ThenReservationReturns()
    {
        GivenFundedProviderAndConsumer();
        Given(Hold("h1", "p", "10"));

        var decision = When(Release("h1"));

        Assert.Equal(HoldReleaseReason.Released, ThenSingleEvent<HoldReleased>(decision, StreamIds.Hold(OperationId.Parse("h1"))).Reason);
        ThenSingleEvent<HeldCreditsReleased>(decision, S("p"));
        Assert.Equal(new BucketBalance(H("100"), Hours.Zero), Balance("p"));
    }

    [Fact]
    public void GivenPendingHoldOfFrozenAccount_WhenReleasing_ThenReleased()
    {
        GivenFundedProviderAndConsumer();
        Given(Hold("h1", "p", "10"), Freeze("p"));

        ThenSingleEvent<HeldCreditsReleased>(When(Release("h1")), S("p"));
    }

    [Fact]
    public void GivenNoHold_WhenReleasing_ThenHoldNotFound() =>
        ThenRejected(When(Release("h1")), RejectionCodes.HoldNotFound);

    [Fact]
    public void GivenCapturedHold_WhenReleasing_ThenHoldNotPending()
    {
        GivenFundedProviderAndConsumer();
        Given(Hold("h1", "p", "10"), Capture("h1"));

        ThenRejected(When(Release("h1")), RejectionCodes.HoldNotPending);
    }

    [Fact]
    public void GivenPendingHoldPastItsExpiry_WhenReleasing_ThenHoldNotPending()
    {
        GivenFundedProviderAndConsumer();
        Given(Hold("h1", "p", "10"));

        ThenRejected(When(Release("h1", now: T0.AddHours(2))), RejectionCodes.HoldNotPending);
    }
}
