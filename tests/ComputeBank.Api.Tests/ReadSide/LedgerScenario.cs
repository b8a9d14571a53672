using System.Net;
using System.Text.Json.Nodes;

namespace ComputeBank.Api.Tests.ReadSide;

/// <summary>
/// A scripted ledger day for the read side: deposits, transfers, a withdrawal, a cross-period move, holds (one
/// captured, one left pending) and closing 2026-11 with rollover to 2026-12. Records each step's commit time and the
/// account versions it produced, for time travel.
/// </summary>
public sealed class LedgerScenario(LedgerClient client)
{
    public const string Provider = "prov-1";
    public const string Alice = "alice";
    public const string Bob = "bob";

    /// <summary>Commit time of each step, by step name, as the API returned it.</summary>
    public Dictionary<string, string> CommittedAt { get; } = new(StringComparer.Ordinal);

    public long LastSequence { get; private set; }

    public async Task RunAsync()
    {
        (await client.OpenAsync(Provider, "provider")).ShouldBe(HttpStatusCode.Created);
        (await client.OpenAsync(Alice)).ShouldBe(HttpStatusCode.Created);
        (await client.OpenAsync(Bob)).ShouldBe(HttpStatusCode.Created);
        Step("deposit", await client.DepositAsync("dep-1", Provider, "100"));
        Step("fund-alice", await client.TransferAsync("tr-1", Provider, Alice, "40"));
        Step("alice-to-bob", await client.TransferAsync("tr-2", Alice, Bob, "10.5"));
        Step("alice-withdraws", await client.WithdrawAsync("wd-1", Alice, "5.25"));
        Step("alice-defers", await client.PostAsync("/api/v1/period-transfers", new
        {
            transferId = "pt-1", fromAccountId = Alice, resourceClass = "gpu.h100",
            from = new { region = "beijing", period = "2026-11" }, to = new { region = "beijing", period = "2026-12" }, hours = "8",
        }));
        Step("alice-holds", await client.PostAsync("/api/v1/holds", new
        {
            holdId = "hold-1", accountId = Alice, beneficiaryAccountId = Bob, resourceClass = "gpu.h100", region = "beijing", period = "2026-11",
            hours = "6", expiresAt = "2099-01-01T00:00:00Z",
        }));
        Step("alice-captures", await client.PostAsync("/api/v1/holds/hold-1/capture", new { operationId = "cap-1", hours = "4" }), HttpStatusCode.OK);
        Step("bob-holds", await client.PostAsync("/api/v1/holds", new
        {
            holdId = "hold-2", accountId = Bob, resourceClass = "gpu.h100", region = "beijing", period = "2026-11",
            hours = "3", expiresAt = "2099-01-01T00:00:00Z",
        }));
        Step("close-2026-11", await client.PostAsync("/api/v1/periods/2026-11/close", new { operationId = "close-1", policy = "rollover", rolloverTo = "2026-12" }),
            HttpStatusCode.OK);
    }

    /// <summary>Waits until the async <c>pools</c> projection has applied every event of the scenario.</summary>
    public async Task WaitForPoolsAsync()
    {
        for (var attempt = 0; attempt < 300; attempt++)
        {
            var pool = await client.GetAsync("/api/v1/pools/gpu.h100/beijing/2026-11");
            if ((long?)pool.Body?["asOfSequence"] >= LastSequence)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("the pools projection did not catch up within 30 s");
    }

    private void Step(string name, Answer answer, HttpStatusCode status = HttpStatusCode.Created)
    {
        answer.ShouldBe(status);
        CommittedAt[name] = (string)answer.Body!["committedAt"]!;
        LastSequence = Math.Max(LastSequence, (long)answer.Body["lastSequence"]!);
    }

    /// <summary>The (posted, pending, available) of one bucket in a balances/history answer, "-" when absent.</summary>
    public static string BucketOf(JsonNode? balances, string period) =>
        balances!.AsArray().FirstOrDefault(b => (string?)b!["period"] == period) is { } b
            ? $"{b["posted"]}/{b["pending"]}/{b["available"]}"
            : "-";
}
