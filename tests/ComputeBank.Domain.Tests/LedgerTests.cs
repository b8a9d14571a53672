namespace ComputeBank.Domain.Tests;

/// <summary>The facade as the bus sees it: iterative loading, and the idempotency log of the model.</summary>
public sealed class LedgerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private static readonly Bucket B = Bucket.Of("gpu.h100", "beijing", "2026-11");

    [Fact]
    public void GivenCaptureOfAHold_WhenAskingWhatToLoad_ThenFirstTheHoldThenItsAccountsAndPeriod()
    {
        var model = new LedgerModel(LedgerCatalogue.Default);
        model.Submit(new OpenAccount(OperationId.Parse("o1"), AccountId.Parse("p"), "x", AccountKind.Provider, null, T0));
        model.Submit(new OpenAccount(OperationId.Parse("o2"), AccountId.Parse("c"), "x", AccountKind.Consumer, null, T0));
        model.Submit(new DepositCapacity(OperationId.Parse("d"), AccountId.Parse("p"), B, Hours.Parse("5"), null, T0));
        model.Submit(new PlaceHold(OperationId.Parse("h1"), AccountId.Parse("p"), AccountId.Parse("c"), B, Hours.Parse("5"), T0.AddHours(1), T0));
        var capture = new CaptureHold(OperationId.Parse("cap"), OperationId.Parse("h1"), null, T0);

        var first = Ledger.StreamsToLoad(capture, new Dictionary<string, object?>());
        var loaded = first.ToDictionary(id => id, model.State);
        var second = Ledger.StreamsToLoad(capture, loaded);

        Assert.Equal(["hold-h1"], first);
        Assert.Equal(["hold-h1", "account-p", "account-c", "period-2026-11"], second);
    }

    [Fact]
    public void GivenAStreamThatWasNotLoaded_WhenDeciding_ThenItIsAProgrammingError() =>
        Assert.Throws<InvalidOperationException>(() => Ledger.Decide(
            new FreezeAccount(OperationId.Parse("f"), AccountId.Parse("c"), T0), new Dictionary<string, object?>(), LedgerCatalogue.Default));

    [Fact]
    public void GivenAnAcceptedCommand_WhenSubmittedAgain_ThenTheFirstOutcomeAndNoEvents()
    {
        var model = new LedgerModel(LedgerCatalogue.Default);
        var open = new OpenAccount(OperationId.Parse("o1"), AccountId.Parse("p"), "x", AccountKind.Provider, null, T0);
        var first = model.Submit(open);

        var again = model.Submit(open with { Now = T0.AddMinutes(5) });

        Assert.True(again.Replayed);
        Assert.Same(first.Decision, again.Decision);
        Assert.Single(model.Events);
    }

    [Fact]
    public void GivenARejectedCommand_WhenSubmittedAgainAfterTheRuleWouldPass_ThenTheSameRejection()
    {
        var model = new LedgerModel(LedgerCatalogue.Default);
        var withdraw = new WithdrawCredits(OperationId.Parse("w"), AccountId.Parse("p"), B, Hours.Parse("1"), null, T0);
        model.Submit(withdraw);
        model.Submit(new OpenAccount(OperationId.Parse("o1"), AccountId.Parse("p"), "x", AccountKind.Provider, null, T0));
        model.Submit(new DepositCapacity(OperationId.Parse("d"), AccountId.Parse("p"), B, Hours.Parse("5"), null, T0));

        var again = model.Submit(withdraw);

        Assert.True(again.Replayed);
        Assert.Equal(RejectionCodes.AccountNotFound, Assert.IsType<Rejected>(again.Decision).Code);
    }

    [Fact]
    public void GivenAUsedOperationId_WhenSubmittedWithOtherFields_ThenOperationIdConflict()
    {
        var model = new LedgerModel(LedgerCatalogue.Default);
        model.Submit(new OpenAccount(OperationId.Parse("o1"), AccountId.Parse("p"), "x", AccountKind.Provider, null, T0));

        var other = model.Submit(new OpenAccount(OperationId.Parse("o1"), AccountId.Parse("q"), "x", AccountKind.Provider, null, T0));

        Assert.Equal(RejectionCodes.OperationIdConflict, Assert.IsType<Rejected>(other.Decision).Code);
        Assert.Single(model.Events);
    }
}
