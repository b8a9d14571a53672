using System.Net;
using ComputeBank.Api.Security;
using ComputeBank.Api.Tests.Security;

namespace ComputeBank.Api.Tests.ReadSide;

/// <summary>
/// The bank's system accounts are named in answers (the difference of a conversion goes to <c>bank.conversion</c>), so
/// an auditor reads them like any account: balances, history with running balances, and balances at a past version.
/// </summary>
public sealed class SystemAccountTests(SecureApiFactory factory) : IClassFixture<SecureApiFactory>
{
    [Fact]
    public async Task Bug_bank_conversion_was_named_in_answers_but_answered_404()
    {
        var owner = "sys-" + Guid.NewGuid().ToString("N")[..8];
        var provider = factory.ClientAs(Roles.Provider, owner);
        var account = owner + "-p";
        (await provider.PostAsync("/api/v1/accounts", new { accountId = account, ownerId = owner, kind = "provider" })).ShouldBe(HttpStatusCode.Created);
        (await provider.DepositAsync(owner + "-dep", account, "100")).ShouldBe(HttpStatusCode.Created);
        var deferred = await provider.PostAsync("/api/v1/period-transfers", new
        {
            transferId = owner + "-defer", fromAccountId = account, resourceClass = "gpu.h100",
            from = new { region = "beijing", period = LedgerClient.Period }, to = new { region = "beijing", period = "2027-03" }, hours = "10",
        });
        deferred.ShouldBe(HttpStatusCode.Created);
        Assert.Equal("0.9", (string)deferred.Body!["rate"]!);
        var last = (long)deferred.Body["lastSequence"]!;
        var auditor = factory.ClientAs(Roles.Auditor, "audit");

        var conversion = await CaughtUpAsync(auditor, "/api/v1/accounts/bank.conversion", last);
        var capacity = await CaughtUpAsync(auditor, "/api/v1/accounts/bank.capacity", last);
        var history = await CaughtUpAsync(auditor, "/api/v1/accounts/bank.conversion/history?limit=1000", last);
        var consumer = await factory.ClientAs(Roles.Consumer, owner).GetAsync("/api/v1/accounts/bank.conversion");

        Assert.Equal("system", (string)conversion.Body!["kind"]!);
        Assert.Equal("1.000", PostedIn(conversion, LedgerClient.Period));
        Assert.Equal("-100.000", PostedIn(capacity, LedgerClient.Period));
        var mine = history.Body!["events"]!.AsArray().Single(e => (string)e!["data"]!["operationId"]! == owner + "-defer")!;
        Assert.Equal("V1.CreditsTransferredAcrossPeriods", (string)mine["type"]!);
        Assert.Equal("1.000", (string)mine["balances"]![0]!["posted"]!);
        var version = (long)mine["version"]!;
        var before = await auditor.GetAsync($"/api/v1/accounts/bank.conversion/balances?asOf={Uri.EscapeDataString(DateTimeOffset.Parse((string)mine["time"]!, System.Globalization.CultureInfo.InvariantCulture).AddTicks(-10).ToString("O"))}");
        var after = await auditor.GetAsync($"/api/v1/accounts/bank.conversion/balances?version={version}");
        Assert.Equal("0.000", PostedIn(before.ShouldBe(HttpStatusCode.OK), LedgerClient.Period));
        Assert.Equal("1.000", PostedIn(after.ShouldBe(HttpStatusCode.OK), LedgerClient.Period));
        consumer.ShouldBeProblem(HttpStatusCode.Forbidden, "forbidden");
    }

    private static string PostedIn(Answer answer, string period) =>
        (string?)answer.Body!["balances"]!.AsArray().FirstOrDefault(b => (string)b!["period"]! == period && (string)b["region"]! == "beijing")?["posted"] ?? "0.000";

    /// <summary>The answer once the system accounts' projection has read up to <paramref name="sequence"/>.</summary>
    private static async Task<Answer> CaughtUpAsync(LedgerClient client, string path, long sequence)
    {
        for (var attempt = 0; attempt < 300; attempt++)
        {
            var answer = (await client.GetAsync(path)).ShouldBe(HttpStatusCode.OK);
            if ((long)answer.Body!["asOfSequence"]! >= sequence)
            {
                return answer;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{path} did not reach sequence {sequence}");
    }
}
