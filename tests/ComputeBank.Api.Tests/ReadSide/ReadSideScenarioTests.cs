using System.Net;
using System.Text.Json.Nodes;
using ComputeBank.Testing;

namespace ComputeBank.Api.Tests.ReadSide;

/// <summary>History, time travel, hold, pool and feed over <see cref="LedgerScenario"/>, through the real host.</summary>
public sealed class ReadSideScenarioTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    private readonly LedgerClient _client = new(factory.CreateClient());

    [Fact]
    public async Task GivenScriptedLedgerDay_WhenQueryingReadSide_ThenBalancesHistoryPoolsAndFeedAreExact()
    {
        var scenario = new LedgerScenario(_client);
        await scenario.RunAsync();
        await scenario.WaitForPoolsAsync();

        // Time travel: Alice's 2026-11 bucket as of each step's commit, and at stream versions.
        var asOf = new JsonObject();
        foreach (var (step, at) in scenario.CommittedAt)
        {
            var answer = (await _client.GetAsync($"/api/v1/accounts/alice/balances?asOf={Uri.EscapeDataString(at)}")).ShouldBe(HttpStatusCode.OK);
            asOf[step] = $"v{answer.Body!["version"]} 2026-11={LedgerScenario.BucketOf(answer.Body["balances"], "2026-11")} 2026-12={LedgerScenario.BucketOf(answer.Body["balances"], "2026-12")}";
        }

        var byVersion = new JsonObject();
        var now = (await _client.GetAsync("/api/v1/accounts/alice")).ShouldBe(HttpStatusCode.OK);
        for (var v = 1; v <= (int)now.Body!["version"]!; v++)
        {
            var answer = (await _client.GetAsync($"/api/v1/accounts/alice/balances?version={v}")).ShouldBe(HttpStatusCode.OK);
            byVersion[$"v{v}"] = $"2026-11={LedgerScenario.BucketOf(answer.Body!["balances"], "2026-11")} 2026-12={LedgerScenario.BucketOf(answer.Body["balances"], "2026-12")}";
        }

        // Replayed "now" equals the projection-backed account view.
        var current = (await _client.GetAsync("/api/v1/accounts/alice/balances")).ShouldBe(HttpStatusCode.OK);
        Assert.Equal(now.Body["balances"]!.ToJsonString(), current.Body!["balances"]!.ToJsonString());

        // History in pages of 3 must concatenate to the single full page.
        var full = (await _client.GetAsync("/api/v1/accounts/alice/history")).ShouldBe(HttpStatusCode.OK);
        var paged = new JsonArray();
        long? after = 0;
        var pages = 0;
        while (after is { } cursor)
        {
            var page = (await _client.GetAsync($"/api/v1/accounts/alice/history?afterVersion={cursor}&limit=3")).ShouldBe(HttpStatusCode.OK);
            foreach (var e in page.Body!["events"]!.AsArray())
            {
                paged.Add(e!.DeepClone());
            }

            after = (long?)page.Body["next"];
            pages++;
        }

        Assert.Equal(full.Body!["events"]!.ToJsonString(), paged.ToJsonString());
        Assert.Null((long?)full.Body["next"]);

        var feed = (await _client.GetAsync("/api/v1/events?afterSequence=0&limit=1000")).ShouldBe(HttpStatusCode.OK);
        var feedPage = (await _client.GetAsync("/api/v1/events?afterSequence=2&limit=3")).ShouldBe(HttpStatusCode.OK);
        Assert.Equal(5L, (long)feedPage.Body!["next"]!);
        var feedEnd = (await _client.GetAsync($"/api/v1/events?afterSequence={scenario.LastSequence}")).ShouldBe(HttpStatusCode.OK);
        Assert.Empty(feedEnd.Body!["events"]!.AsArray());
        Assert.Equal(scenario.LastSequence, (long)feedEnd.Body["next"]!);

        Approvals.Verify(new JsonObject
        {
            ["aliceAsOf"] = asOf,
            ["aliceByVersion"] = byVersion,
            ["aliceHistory"] = full.Body.DeepClone(),
            ["historyPagesOf3"] = pages,
            ["bobNow"] = (await _client.GetAsync("/api/v1/accounts/bob/balances")).Body!.DeepClone(),
            ["hold1"] = (await _client.GetAsync("/api/v1/holds/hold-1")).ShouldBe(HttpStatusCode.OK).Body!.DeepClone(),
            ["hold2"] = (await _client.GetAsync("/api/v1/holds/hold-2")).ShouldBe(HttpStatusCode.OK).Body!.DeepClone(),
            ["pool-2026-11"] = (await _client.GetAsync("/api/v1/pools/gpu.h100/beijing/2026-11")).ShouldBe(HttpStatusCode.OK).Body!.DeepClone(),
            ["pool-2026-12"] = (await _client.GetAsync("/api/v1/pools/gpu.h100/beijing/2026-12")).ShouldBe(HttpStatusCode.OK).Body!.DeepClone(),
            ["feedTypes"] = new JsonArray([.. feed.Body!["events"]!.AsArray().Select(e => (JsonNode)$"{e!["sequence"]} {e["streamId"]} v{e["version"]} {e["type"]}")]),
            ["verify"] = (await _client.GetAsync("/api/v1/audit/verify")).ShouldBe(HttpStatusCode.OK).Body!.DeepClone(),
        });
    }

    [Theory]
    [InlineData("/api/v1/accounts/alice/history?limit=1001", "limit")]
    [InlineData("/api/v1/accounts/alice/history?limit=0", "limit")]
    [InlineData("/api/v1/accounts/alice/history?afterVersion=-1", "afterVersion")]
    [InlineData("/api/v1/accounts/alice/history?afterVersion=x", "afterVersion")]
    [InlineData("/api/v1/accounts/Not%20Valid/history", "accountId")]
    [InlineData("/api/v1/accounts/alice/balances?asOf=yesterday", "asOf")]
    [InlineData("/api/v1/accounts/alice/balances?version=0", "version")]
    [InlineData("/api/v1/accounts/alice/balances?version=1&asOf=2026-11-01T00:00:00Z", "version")]
    [InlineData("/api/v1/events?limit=1001", "limit")]
    [InlineData("/api/v1/events?afterSequence=-5", "afterSequence")]
    [InlineData("/api/v1/pools/gpu.x999/beijing/2026-11", "resourceClass")]
    [InlineData("/api/v1/pools/gpu.h100/mars/2026-11", "region")]
    [InlineData("/api/v1/pools/gpu.h100/beijing/2026-13", "period")]
    [InlineData("/api/v1/holds/bad%01id", "holdId")]
    public async Task GivenBadQuery_WhenGetting_ThenValidationFailedNamesTheField(string path, string field)
    {
        var answer = (await _client.GetAsync(path)).ShouldBeProblem(HttpStatusCode.BadRequest, "validation_failed");
        Assert.NotNull(answer.Body!["errors"]![field]);
    }

    [Theory]
    [InlineData("/api/v1/accounts/nobody/history", "account_not_found")]
    [InlineData("/api/v1/accounts/nobody/balances", "account_not_found")]
    [InlineData("/api/v1/accounts/nobody/balances?version=1", "account_not_found")]
    [InlineData("/api/v1/holds/no-such-hold", "hold_not_found")]
    public async Task GivenUnknownId_WhenGetting_ThenNotFoundWithStableCode(string path, string code) =>
        (await _client.GetAsync(path)).ShouldBeProblem(HttpStatusCode.NotFound, code);
}
