using ComputeBank.Domain.Accounts;
using ComputeBank.Domain.Holds;

namespace ComputeBank.Domain.Tests.Accounts;

public sealed partial class AccountTests
{
    [Fact]
    public void GivenPendingHold_WhenExpiringAtExpiresAt_ThenHoldExpiredAndReservationReturns()
    {
        GivenFundedProviderAndConsumer();
        Given(Hold("h1", "p", "10"));

        var decision = When(Expire("h1", T0.AddHours(1)));

        ThenSingleEvent<HoldExpired>(decision, StreamIds.Hold(OperationId.Parse("h1")));
        Assert.Equal(HoldReleaseReason.Expired, ThenSingleEvent<HeldCreditsReleased>(decision, S("p")).Reason);
        Assert.Equal(H("100"), Account("p").Available(B));
    }

    [Fact]
    public void GivenPendingHold_WhenExpiringEarly_ThenValidationFailed()
    {
        GivenFundedProviderAndConsumer();
        Given(Hold("h1", "p", "10"));

        ThenFieldError(When(Expire("h1", T0.AddMinutes(59))), "now");
    }

    [Fact]
    public void GivenReleasedHold_WhenExpiring_ThenHoldNotPending()
    {
        GivenFundedProviderAndConsumer();
        Given(Hold("h1", "p", "10"), Release("h1"));

        ThenRejected(When(Expire("h1", T0.AddHours(1))), RejectionCodes.HoldNotPending);
    }

    [Fact]
    public void GivenNoHold_WhenExpiring_ThenHoldNotFound() =>
        ThenRejected(When(Expire("h1", T0)), RejectionCodes.HoldNotFound);
}
