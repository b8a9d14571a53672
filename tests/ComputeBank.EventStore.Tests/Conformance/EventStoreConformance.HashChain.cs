namespace ComputeBank.EventStore.Tests.Conformance;

public abstract partial class EventStoreConformance
{
    private async Task<string> ChainOfFiveAsync(string prefix)
    {
        var id = NewStreamId(prefix);
        await AppendAsync(id, ExpectedVersion.NoStream, new Deposited(1), new Deposited(2));
        await AppendAsync(id, ExpectedVersion.Exactly(2), new Deposited(3), new Deposited(4), new Withdrawn(5));
        return id;
    }

    [Fact]
    public async Task GivenUntouchedHistory_WhenVerifying_ThenNoBreaks()
    {
        var id = await ChainOfFiveAsync("intact");
        Assert.Empty(await Store.VerifyHashChainsAsync(Ct, id));
        Assert.DoesNotContain(await Store.VerifyHashChainsAsync(Ct), b => b.StreamId == id);
    }

    [Fact]
    public async Task GivenEditedEventData_WhenVerifying_ThenThatStreamAndVersionAreReported()
    {
        var intact = await ChainOfFiveAsync("bystander");
        var id = await ChainOfFiveAsync("edited");
        await ExecuteAsync($"UPDATE {{schema}}.mt_events SET data = '{{\"amount\": 300}}' WHERE stream_id = '{id}' AND version = 3");

        var breaks = await Store.VerifyHashChainsAsync(Ct);

        var broken = Assert.Single(breaks, b => b.StreamId == id);
        Assert.Equal(3, broken.Version);
        Assert.Equal(ChainBreakKind.ContentAltered, broken.Kind);
        Assert.DoesNotContain(breaks, b => b.StreamId == intact);
    }

    [Fact]
    public async Task GivenEditedMetadata_WhenVerifying_ThenReported()
    {
        var id = await ChainOfFiveAsync("metadata");
        await ExecuteAsync($"UPDATE {{schema}}.mt_events SET user_name = 'mallory' WHERE stream_id = '{id}' AND version = 2");

        var broken = Assert.Single(await Store.VerifyHashChainsAsync(Ct, id));
        Assert.Equal((2L, ChainBreakKind.ContentAltered), (broken.Version, broken.Kind));
    }

    [Fact]
    public async Task GivenDeletedMiddleEvent_WhenVerifying_ThenTheGapIsReportedForThatStream()
    {
        var id = await ChainOfFiveAsync("middle");
        await ExecuteAsync($"DELETE FROM {{schema}}.mt_events WHERE stream_id = '{id}' AND version = 3");

        var broken = Assert.Single(await Store.VerifyHashChainsAsync(Ct), b => b.StreamId == id);
        Assert.Equal(4, broken.Version);
        Assert.Equal(ChainBreakKind.EventMissing, broken.Kind);
    }

    [Fact]
    public async Task GivenDeletedAndRenumberedEvent_WhenVerifying_ThenThePreviousHashMismatchIsReported()
    {
        var id = await ChainOfFiveAsync("renumbered");
        await ExecuteAsync(
            $"DELETE FROM {{schema}}.mt_events WHERE stream_id = '{id}' AND version = 3; " +
            $"UPDATE {{schema}}.mt_events SET version = version - 1 WHERE stream_id = '{id}' AND version > 3");

        var broken = Assert.Single(await Store.VerifyHashChainsAsync(Ct, id));
        Assert.Equal(3, broken.Version);
        Assert.Equal(ChainBreakKind.PreviousHashMismatch, broken.Kind);
    }

    [Fact]
    public async Task GivenDeletedLastEvent_WhenVerifying_ThenTheTailMismatchIsReported()
    {
        var id = await ChainOfFiveAsync("tail");
        await ExecuteAsync($"DELETE FROM {{schema}}.mt_events WHERE stream_id = '{id}' AND version = 5");

        var broken = Assert.Single(await Store.VerifyHashChainsAsync(Ct), b => b.StreamId == id);
        Assert.Equal(ChainBreakKind.TailMismatch, broken.Kind);
        Assert.Equal(5, broken.Version);
        Assert.Contains("version 4", broken.Detail, StringComparison.Ordinal);
    }
}
