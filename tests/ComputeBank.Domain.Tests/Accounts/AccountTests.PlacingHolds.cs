using ComputeBank.Domain.Accounts;
using ComputeBank.Domain.Holds;

namespace ComputeBank.Domain.Tests.Accounts;

public sealed partial class AccountTests
{
    [Fact]
    public void GivenFundedConsumer_WhenPlacingHold_ThenAvailableFallsAndPostedDoesNot()
    {
        GivenFundedProviderAndConsumer();
        Given(Transfer("p", "c", "10"));

        var decision = When(Hold("h1", "c", "4", beneficiary: "p"));

        var placed = ThenSingleEvent<HoldPlaced>(decision, StreamIds.Hold(OperationId.Parse("h1")));
        Assert.Equal(Id("p"), placed.BeneficiaryAccountId);
        ThenSingleEvent<CreditsHeld>(decision, S("c"));
        Assert.Equal(new BucketBalance(H("10"), H("4")), Balance("c"));
        Assert.Equal(H("6"), Account("c").Available(B));
        Assert.Equal(HoldStatus.Pending, Assert.IsType<Accepted>(decision).Outcome.Hold!.Status);
    }

    [Fact]
    public void GivenFundedConsumer_WhenHoldingMoreThanAvailable_ThenInsufficientCredits()
    {
        GivenFundedProviderAndConsumer();
        Given(Transfer("p", "c", "10"), Hold("h1", "c", "6"));

        ThenRejected(When(Hold("h2", "c", "4.001")), RejectionCodes.InsufficientCredits);
    }

    [Fact]
    public void GivenFundedConsumer_WhenHoldingForItself_ThenSameAccount()
    {
        GivenFundedProviderAndConsumer();

        ThenRejected(When(Hold("h1", "p", "1", beneficiary: "p")), RejectionCodes.SameAccount);
    }

    [Fact]
    public void GivenFundedProvider_WhenHoldingForUnknownBeneficiary_ThenAccountNotFound()
    {
        GivenFundedProviderAndConsumer();

        ThenRejected(When(Hold("h1", "p", "1", beneficiary: "nobody")), RejectionCodes.AccountNotFound);
    }

    [Fact]
    public void GivenFrozenAccount_WhenPlacingHold_ThenAccountFrozen()
    {
        GivenFundedProviderAndConsumer();
        Given(Freeze("p"));

        ThenRejected(When(Hold("h1", "p", "1")), RejectionCodes.AccountFrozen);
    }

    [Fact]
    public void GivenClosedPeriod_WhenPlacingHold_ThenPeriodClosed()
    {
        Given(Open("c"), Limit("c", "5"), ClosePeriod("2026-11", PeriodClosePolicy.Expire, null, "c"));

        ThenRejected(When(Hold("h1", "c", "1")), RejectionCodes.PeriodClosed);
    }

    [Fact]
    public void GivenFundedProvider_WhenHoldExpiresInThePast_ThenValidationFailed()
    {
        GivenFundedProviderAndConsumer();

        ThenFieldError(When(Hold("h1", "p", "1", expiresAt: T0)), "expiresAt");
    }

    [Fact]
    public void GivenExistingHold_WhenPlacingAHoldWithItsIdThroughAnotherLog_ThenValidationFailed()
    {
        GivenFundedProviderAndConsumer();
        Given(Hold("h1", "p", "1"));
        var states = new Dictionary<string, object?>
        {
            [StreamIds.Hold(OperationId.Parse("h1"))] = _ledger.State(StreamIds.Hold(OperationId.Parse("h1"))),
            [S("p")] = _ledger.State(S("p")),
            [StreamIds.Period(B.Period)] = null,
        };

        ThenFieldError(Ledger.Decide(Hold("h1", "p", "2"), states, LedgerCatalogue.Default), "holdId");
    }
}
