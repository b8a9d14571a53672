using System.Net;
using System.Text.Json.Nodes;
using ComputeBank.Api.Auditing;
using ComputeBank.Domain;
using ComputeBank.EventStore;
using Microsoft.Extensions.DependencyInjection;

namespace ComputeBank.Api.Tests.ReadSide;

/// <summary>GET /api/v1/audit/verify on an honest ledger, then after tampering with it in SQL.</summary>
public sealed class AuditTests : IAsyncLifetime
{
    private readonly ApiFactory _factory = new();
    private LedgerClient _client = null!;

    public async Task InitializeAsync()
    {
        await _factory.InitializeAsync();
        _client = new LedgerClient(_factory.CreateClient());
        var scenario = new LedgerScenario(_client);
        await scenario.RunAsync();
        await scenario.WaitForPoolsAsync();
    }

    public async Task DisposeAsync() => await ((IAsyncLifetime)_factory).DisposeAsync();

    [Fact]
    public async Task GivenHonestLedger_WhenVerifying_ThenOkWithEveryEventChecked()
    {
        var report = await VerifyAsync();
        Assert.True((bool)report["ok"]!, report.ToJsonString());
        Assert.Equal(23L, (long)report["eventsChecked"]!);
        Assert.Empty(report["discrepancies"]!.AsArray());
    }

    [Fact]
    public async Task GivenEditedProjectionRow_WhenVerifying_ThenAccountBucketMismatchForThatAccount_AndRebuildRepairsIt()
    {
        await _factory.Database.ExecuteAsync("UPDATE cb.account_buckets SET posted = posted + 1000 WHERE account_id = 'bob'");

        var report = await VerifyAsync();
        Assert.False((bool)report["ok"]!);
        var d = Assert.Single(report["discrepancies"]!.AsArray())!;
        Assert.Equal((3, "account_buckets", "bob", "posted", "14.500", "15.500"),
            ((int)d["invariant"]!, (string)d["check"]!, (string)d["accountId"]!, (string)d["field"]!, (string)d["expected"]!, (string)d["found"]!));
        Assert.Equal("2026-12", (string)d["bucket"]!["period"]!);

        await Rebuilder().RebuildAsync([ReadModels.AccountBuckets], null, default);
        Assert.True((bool)(await VerifyAsync())["ok"]!);
    }

    [Fact]
    public async Task GivenEditedEventAmount_WhenVerifying_ThenHashChainDoubleEntryAndProjectionReportTheAccount()
    {
        // The provider's deposit: its hours and its own posting become 999.
        await _factory.Database.ExecuteAsync("""
            UPDATE cb.mt_events SET data = jsonb_set(jsonb_set(data, '{hours}', '"999.000"'),
                ARRAY['postings', (SELECT (o - 1)::text FROM jsonb_array_elements(data->'postings') WITH ORDINALITY p(v, o) WHERE v->>'accountId' = 'prov-1'), 'amount'],
                '"999.000"')
            WHERE stream_id = 'account-prov-1' AND type = 'V1.CapacityDeposited'
            """);

        var report = await VerifyAsync();
        var found = report["discrepancies"]!.AsArray().Select(d => ((int)d!["invariant"]!, (string)d["check"]!, (string?)d["accountId"] ?? (string?)d["resourceClass"])).ToList();
        Assert.Contains((5, "hash_chain", "prov-1"), found);
        Assert.Contains((1, "double_entry", "gpu.h100"), found);
        Assert.Contains((3, "account_buckets", "prov-1"), found);
        Assert.Contains((3, "pools", null), found.Select(f => (f.Item1, f.Item2, f.Item2 == "pools" ? null : f.Item3)));
        Assert.DoesNotContain(found, f => f.Item3 is "alice" or "bob");
    }

    [Fact]
    public async Task GivenDeletedEvent_WhenVerifying_ThenThatAccountsChainAndBalancesAreReported()
    {
        // Bob's first incoming transfer (10.5 from Alice); the period close later rolled 14.5 out of that bucket.
        await _factory.Database.ExecuteAsync("DELETE FROM cb.mt_events WHERE stream_id = 'account-bob' AND version = 2");

        var report = await VerifyAsync();
        var discrepancies = report["discrepancies"]!.AsArray();
        Assert.True(discrepancies.Count > 0, report.ToJsonString());
        Assert.True(discrepancies.Any(d => (int)d!["invariant"]! == 5 && (string?)d["accountId"] == "bob" && (string)d["field"]! == "EventMissing"), report.ToJsonString());
        Assert.True(discrepancies.Any(d => (int)d!["invariant"]! == 1 && (string)d["found"]! == "-10.500"), report.ToJsonString());
        Assert.True(discrepancies.Any(d => (int)d!["invariant"]! == 3 && (string?)d["accountId"] == "bob" && (string)d["check"]! == "account_buckets"
            && (string)d["bucket"]!["period"]! == "2026-11" && (string)d["expected"]! == "-10.500"), report.ToJsonString());
        Assert.DoesNotContain(discrepancies, d => (string?)d!["accountId"] is "alice" or "prov-1");
    }

    private ReadModelRebuilder Rebuilder() =>
        new(_factory.Services.GetRequiredService<MartenEventStore>(), _factory.Services.GetRequiredService<LedgerCatalogue>());

    private async Task<JsonNode> VerifyAsync() => (await _client.GetAsync("/api/v1/audit/verify")).ShouldBe(HttpStatusCode.OK).Body!;
}
