using System.Net;
using ComputeBank.Api.Security;
using ComputeBank.Api.Tests.Security;

namespace ComputeBank.Api.Tests.Bugs;

/// <summary>
/// Security finding: <c>GET /operations/{id}</c> needed only a reader role, so Bob read Alice's withdrawal with her balances,
/// and the 200/404 difference told him which ids exist. Now the rule of <c>GET /accounts/{id}</c> applies.
/// </summary>
public sealed class Bug_any_provider_or_consumer_read_any_operation(SecureApiFactory factory) : IClassFixture<SecureApiFactory>
{
    private static int _run;

    [Fact]
    public async Task Bug_another_owner_read_a_withdrawal_with_its_balances()
    {
        var (alice, bob, aliceAccount, _) = await PartiesAsync();
        var withdrawal = Id("wd");
        (await alice.PostAsync("/api/v1/withdrawals", new
        {
            withdrawalId = withdrawal, accountId = aliceAccount, resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours = "1",
        })).ShouldBe(HttpStatusCode.Created);

        var own = await alice.GetAsync($"/api/v1/operations/{withdrawal}");
        var other = await bob.GetAsync($"/api/v1/operations/{withdrawal}");
        var unknown = await bob.GetAsync($"/api/v1/operations/{Id("never")}");

        own.ShouldBe(HttpStatusCode.OK);
        Assert.Equal(aliceAccount, own.Body!["result"]!["accounts"]![0]!["accountId"]!.GetValue<string>());
        other.ShouldBeProblem(HttpStatusCode.NotFound, "operation_not_found");
        unknown.ShouldBeProblem(HttpStatusCode.NotFound, "operation_not_found");
        Assert.Equal(unknown.Body!["title"]!.ToJsonString(), other.Body!["title"]!.ToJsonString());
    }

    [Fact]
    public async Task Bug_the_receiver_of_a_transfer_read_the_senders_balances()
    {
        var (alice, bob, aliceAccount, bobAccount) = await PartiesAsync();
        var transfer = Id("tr");
        (await alice.PostAsync("/api/v1/transfers", new
        {
            transferId = transfer, fromAccountId = aliceAccount, toAccountId = bobAccount, resourceClass = "gpu.h100", region = "beijing",
            period = LedgerClient.Period, hours = "2",
        })).ShouldBe(HttpStatusCode.Created);

        var sender = await alice.GetAsync($"/api/v1/operations/{transfer}");
        var receiver = await bob.GetAsync($"/api/v1/operations/{transfer}");
        var auditor = await factory.ClientAs(Roles.Auditor, "audit").GetAsync($"/api/v1/operations/{transfer}");

        Assert.Equal([aliceAccount], AccountsOf(sender));
        Assert.Equal([bobAccount], AccountsOf(receiver));
        Assert.Equal([aliceAccount, bobAccount], AccountsOf(auditor));
    }

    [Fact]
    public async Task Bug_another_owner_read_a_queued_commands_refusal()
    {
        var (alice, bob, aliceAccount, bobAccount) = await PartiesAsync();
        var transfer = Id("tr-async");
        (await alice.PostAsync("/api/v1/transfers", new
        {
            transferId = transfer, fromAccountId = aliceAccount, toAccountId = bobAccount, resourceClass = "gpu.h100", region = "beijing",
            period = LedgerClient.Period, hours = "1000",
        }, new Dictionary<string, string> { ["Prefer"] = "respond-async" })).ShouldBe(HttpStatusCode.Accepted);

        var mine = await WaitForEndAsync(alice, transfer);
        var theirs = await bob.GetAsync($"/api/v1/operations/{transfer}");

        Assert.Equal("insufficient_credits", mine.Body!["problem"]!["code"]!.GetValue<string>());
        theirs.ShouldBeProblem(HttpStatusCode.NotFound, "operation_not_found");
    }

    private static async Task<Answer> WaitForEndAsync(LedgerClient client, string operationId)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var answer = await client.GetAsync($"/api/v1/operations/{operationId}");
            if (answer.Status == HttpStatusCode.OK && answer.Body!["status"]!.GetValue<string>() != "pending")
            {
                return answer;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"operation {operationId} did not end");
    }

    private static string[] AccountsOf(Answer answer)
    {
        answer.ShouldBe(HttpStatusCode.OK);
        return [.. answer.Body!["result"]!["accounts"]!.AsArray().Select(a => a!["accountId"]!.GetValue<string>())];
    }

    private async Task<(LedgerClient Alice, LedgerClient Bob, string AliceAccount, string BobAccount)> PartiesAsync()
    {
        var run = Interlocked.Increment(ref _run);
        var aliceOwner = $"alice-{run}";
        var bobOwner = $"bob-{run}";
        var alice = factory.ClientAs(Roles.Consumer, aliceOwner);
        var bob = factory.ClientAs(Roles.Consumer, bobOwner);
        var provider = factory.ClientAs(Roles.Provider, aliceOwner);
        var aliceAccount = $"alice-{run}-c";
        var bobAccount = $"bob-{run}-c";
        var providerAccount = $"alice-{run}-p";
        (await alice.PostAsync("/api/v1/accounts", new { accountId = aliceAccount, ownerId = aliceOwner, kind = "consumer" })).ShouldBe(HttpStatusCode.Created);
        (await bob.PostAsync("/api/v1/accounts", new { accountId = bobAccount, ownerId = bobOwner, kind = "consumer" })).ShouldBe(HttpStatusCode.Created);
        (await provider.PostAsync("/api/v1/accounts", new { accountId = providerAccount, ownerId = aliceOwner, kind = "provider" })).ShouldBe(HttpStatusCode.Created);
        (await provider.PostAsync("/api/v1/deposits", new
        {
            depositId = Id("dep"), accountId = providerAccount, resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours = "10",
        })).ShouldBe(HttpStatusCode.Created);
        (await provider.PostAsync("/api/v1/transfers", new
        {
            transferId = Id("fund"), fromAccountId = providerAccount, toAccountId = aliceAccount, resourceClass = "gpu.h100", region = "beijing",
            period = LedgerClient.Period, hours = "10",
        })).ShouldBe(HttpStatusCode.Created);
        return (alice, bob, aliceAccount, bobAccount);
    }

    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";
}
