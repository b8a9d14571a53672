using ComputeBank.Domain.Accounts;

namespace ComputeBank.Domain.Tests.Accounts;

/// <summary>Regression tests of the outside security test's findings on the domain's rules.</summary>
public sealed partial class AccountTests
{
    /// <summary>A 1 h limit on gpu.h100 let seven transfers of 1 h from seven buckets succeed: the account owed 7 h.</summary>
    [Fact]
    public void Bug_credit_limit_was_per_bucket_so_total_debt_was_unbounded()
    {
        Given(Open("c"), Open("p", AccountKind.Provider), Limit("c", "1"));
        var buckets = new[]
        {
            Bucket.Of("gpu.h100", "beijing", "2026-11"), Bucket.Of("gpu.h100", "xiongan", "2026-11"), Bucket.Of("gpu.h100", "tianjin", "2026-12"),
            Bucket.Of("gpu.h100", "shanghai", "2027-01"), Bucket.Of("gpu.h100", "beijing", "2027-06"), Bucket.Of("gpu.h100", "beijing", "2027-11"),
            Bucket.Of("gpu.h100", "beijing", "9999-12"),
        };

        var decisions = buckets.Select(b => When(Transfer("c", "p", "1", b))).ToList();

        Assert.IsType<Accepted>(decisions[0]);
        Assert.All(decisions.Skip(1), d => ThenRejected(d, RejectionCodes.InsufficientCredits));
        Assert.Equal(H("1"), Account("c").CreditUsed(ResourceClass.Parse("gpu.h100")));
    }

    [Fact]
    public void GivenCreditLimit_WhenDrawingInSeveralBuckets_ThenTheirDebtsShareTheLimit()
    {
        var other = Bucket.Of("gpu.h100", "xiongan", "2026-12");
        Given(Open("c"), Limit("c", "5"), Withdraw("c", "3"));

        Assert.Equal(H("2"), Account("c").Available(other));
        Assert.Equal(H("2"), Account("c").Available(B));
        ThenRejected(When(Withdraw("c", "2.001", other)), RejectionCodes.InsufficientCredits);
        Assert.IsType<Accepted>(When(Withdraw("c", "2", other)));
        Assert.Equal(Hours.Zero, Account("c").Available(other));
        Assert.Equal(Hours.Zero, Account("c").Available(B));
    }

    [Fact]
    public void GivenCreditLimit_WhenTheDebtIsPaidBack_ThenTheCreditIsFreeAgain()
    {
        var other = Bucket.Of("gpu.h100", "xiongan", "2026-12");
        Given(Open("c"), Open("p", AccountKind.Provider), Deposit("p", "10"), Limit("c", "4"), Withdraw("c", "4"));
        ThenRejected(When(Withdraw("c", "1", other)), RejectionCodes.InsufficientCredits);

        Given(Transfer("p", "c", "4"));

        Assert.IsType<Accepted>(When(Withdraw("c", "4", other)));
    }

    [Fact]
    public void GivenCreditLimit_WhenHoldingBeyondOwnHours_ThenTheHoldDrawsOnTheSameLimit()
    {
        var other = Bucket.Of("gpu.h100", "xiongan", "2026-12");
        Given(Open("c"), Limit("c", "3"), Hold("h1", "c", "2"));

        ThenRejected(When(Withdraw("c", "1.001", other)), RejectionCodes.InsufficientCredits);
        Assert.IsType<Accepted>(When(Withdraw("c", "1", other)));
    }

    [Fact]
    public void GivenCreditLimit_WhenDrawingCreditMoreThanTwelveMonthsAhead_ThenInsufficientCredits()
    {
        var inTwelveMonths = Bucket.Of("gpu.h100", "beijing", "2027-11");
        var inThirteen = Bucket.Of("gpu.h100", "beijing", "2027-12");
        Given(Open("c"), Limit("c", "5"));

        var refused = ThenRejected(When(Withdraw("c", "1", inThirteen)), RejectionCodes.InsufficientCredits);

        Assert.Contains("2027-11", refused.Message, StringComparison.Ordinal);
        Assert.IsType<Accepted>(When(Withdraw("c", "1", inTwelveMonths)));
    }

    [Fact]
    public void GivenOwnHoursFarAhead_WhenSpendingThem_ThenNoCreditIsNeeded()
    {
        var far = Bucket.Of("gpu.h100", "beijing", "2030-01");
        Given(Open("c"), Open("p", AccountKind.Provider), Deposit("p", "5", far), Transfer("p", "c", "5", far), Limit("c", "5"));

        Assert.IsType<Accepted>(When(Withdraw("c", "5", far)));
        ThenRejected(When(Withdraw("c", "0.001", far)), RejectionCodes.InsufficientCredits);
    }

    [Fact]
    public void GivenCreditDrawnInTwoBuckets_WhenLoweringTheLimitBelowTheirSum_ThenInsufficientCredits()
    {
        Given(Open("c"), Limit("c", "5"), Withdraw("c", "2"), Withdraw("c", "2", Bucket.Of("gpu.h100", "tianjin", "2026-12")));

        var refused = ThenRejected(When(Limit("c", "3.999")), RejectionCodes.InsufficientCredits);

        Assert.Contains("4.000", refused.Message, StringComparison.Ordinal);
        Assert.IsType<Accepted>(When(Limit("c", "4")));
    }

    /// <summary>A transfer to an unknown account answered account_not_found, to another's insufficient_credits.</summary>
    [Fact]
    public void Bug_a_transfer_told_whether_the_receiving_account_exists_before_checking_the_sender()
    {
        Given(Open("c"), Open("p", AccountKind.Provider), Deposit("p", "1"), Transfer("p", "c", "1"), Open("other"));

        var toUnknown = When(Transfer("c", "nobody", "100"));
        var toExisting = When(Transfer("c", "other", "100"));
        var heldForUnknown = When(Hold("h-unknown", "c", "100", beneficiary: "nobody"));
        var acrossToUnknown = When(TransferAcross("c", "nobody", "100", "beijing", "2026-12"));

        Assert.Equal(ThenRejected(toExisting, RejectionCodes.InsufficientCredits).Code, ThenRejected(toUnknown, RejectionCodes.InsufficientCredits).Code);
        ThenRejected(heldForUnknown, RejectionCodes.InsufficientCredits);
        ThenRejected(acrossToUnknown, RejectionCodes.InsufficientCredits);
        ThenRejected(When(Transfer("c", "nobody", "1")), RejectionCodes.AccountNotFound);
    }

    [Theory]
    [InlineData("line\r\nbreak")]
    [InlineData("tab\there")]
    [InlineData("bidi \u202Eevil")]
    [InlineData("isolate \u2066x\u2069")]
    [InlineData("mark \u200F")]
    [InlineData("del \u007F")]
    [InlineData("c1 \u0085")]
    [InlineData("separator \u2028")]
    public void Bug_control_and_bidi_characters_were_stored_in_free_text(string text)
    {
        Given(Open("c"), Open("p", AccountKind.Provider), Deposit("p", "10"));

        ThenFieldError(When(Open("x", name: text)), "displayName");
        ThenFieldError(When(new WithdrawCredits(NextOperation(), Id("p"), B, H("1"), text, T0)), "jobReference");
        ThenFieldError(When(new DepositCapacity(NextOperation(), Id("p"), B, H("1"), text, T0)), "reference");
        ThenFieldError(When(Transfer("p", "c", "1", settlement: new Settlement(10m, "CNY", SettlementRail.ECny, text))), "settlement.paymentReference");
        ThenFieldError(When(Open("y", owner: text)), "ownerId");
    }

    [Fact]
    public void GivenFormulaLikeText_WhenOpening_ThenItIsKeptAsWritten()
    {
        var opened = ThenSingleEvent<AccountOpened>(When(Open("c", name: "=HYPERLINK(\"x\") 中文 émoji 🚀")), S("c"));

        Assert.Equal("=HYPERLINK(\"x\") 中文 émoji 🚀", opened.DisplayName);
    }

    /// <summary>Only the four system account ids were refused: <c>bank.newthing</c> could be opened.</summary>
    [Theory]
    [InlineData("bank.newthing")]
    [InlineData("bank.capacity")]
    [InlineData("bank.")]
    public void Bug_the_bank_prefix_was_not_reserved(string id) => ThenFieldError(When(Open(id)), "accountId");
}
