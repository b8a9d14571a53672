using System.Net;

namespace ComputeBank.Api.Tests;

/// <summary>Idempotency under parallel retries, concurrent withdrawals that must not overdraw, and batches.</summary>
public sealed class ConcurrencyAndBatchTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    private readonly LedgerClient _client = new(factory.CreateClient());

    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    [Fact]
    public async Task SameCommand20TimesInParallel_TakesEffectOnce_AndEveryAnswerIsTheSame()
    {
        var (provider, consumer) = (Id("prov"), Id("cons"));
        await _client.FundAsync(provider, consumer, "100");
        var id = Id("wd");

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => _client.WithdrawAsync(id, consumer, "7")));

        Assert.All(answers, a => a.ShouldBe(HttpStatusCode.Created));
        Assert.Single(answers.Select(a => a.Text).Distinct());
        Assert.Equal(19, answers.Count(a => a.Replayed));
        Assert.Equal(("93.000", "0.000", "93.000"), await _client.BalanceAsync(consumer));
        Assert.Equal(1L, await factory.Database.ScalarAsync<long>(
            $"SELECT count(*) FROM cb.events WHERE metadata->'headers'->>'operationId' = '{id}'"));
    }

    [Fact]
    public async Task SameIdWithAnotherAmount_IsOperationIdConflict_AndChangesNothing()
    {
        var (provider, consumer) = (Id("prov"), Id("cons"));
        await _client.FundAsync(provider, consumer, "10");
        var id = Id("wd");
        (await _client.WithdrawAsync(id, consumer, "1")).ShouldBe(HttpStatusCode.Created);

        (await _client.WithdrawAsync(id, consumer, "2")).ShouldBeProblem(HttpStatusCode.Conflict, "operation_id_conflict");

        Assert.Equal(("9.000", "0.000", "9.000"), await _client.BalanceAsync(consumer));
    }

    [Fact]
    public async Task FiftyParallelWithdrawals_OnAnAccountThatAffordsTen_ExactlyTenSucceed()
    {
        var (provider, consumer) = (Id("prov"), Id("cons"));
        await _client.FundAsync(provider, consumer, "10");

        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => _client.WithdrawAsync(Id($"wd{i}"), consumer, "1")));

        Assert.Equal(10, answers.Count(a => a.Status == HttpStatusCode.Created));
        Assert.Equal(40, answers.Count(a => a.Status == (HttpStatusCode)422 && a.Code == "insufficient_credits"));
        Assert.DoesNotContain(answers, a => (int)a.Status >= 500);
        Assert.Equal(("0.000", "0.000", "0.000"), await _client.BalanceAsync(consumer));
    }

    [Fact]
    public async Task FortyParallelWithdrawals_OnCreditInEightBuckets_DrawNoMoreThanTheLimitInAll()
    {
        var consumer = Id("cons");
        (await _client.OpenAsync(consumer)).ShouldBe(HttpStatusCode.Created);
        (await _client.PutAsync($"/api/v1/accounts/{consumer}/credit-limits/gpu.h100", new { hours = "5" })).ShouldBe(HttpStatusCode.OK);
        string[] regions = ["beijing", "xiongan", "tianjin", "shanghai"];
        string[] periods = [LedgerClient.Period, "2026-12"];

        var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => _client.PostAsync("/api/v1/withdrawals", new
        {
            withdrawalId = Id($"wd{i}"), accountId = consumer, resourceClass = "gpu.h100", region = regions[i % 4], period = periods[i / 4 % 2], hours = "1",
        })));

        Assert.Equal(5, answers.Count(a => a.Status == HttpStatusCode.Created));
        Assert.Equal(35, answers.Count(a => a.Status == (HttpStatusCode)422 && a.Code == "insufficient_credits"));
        Assert.Equal(-5000L, await factory.Database.ScalarAsync<long>(
            $"SELECT coalesce(sum(posted - pending), 0)::bigint FROM cb.account_buckets WHERE account_id = '{consumer}'"));
        var account = await _client.GetAsync($"/api/v1/accounts/{consumer}");
        Assert.All(account.Body!["balances"]!.AsArray(), b => Assert.Equal("0.000", (string)b!["available"]!));
    }

    [Fact]
    public async Task ParallelTransfersBothWays_NeverLoseOrCreateCredits()
    {
        var (provider, a, b) = (Id("prov"), Id("a"), Id("b"));
        await _client.FundAsync(provider, a, "50");
        await _client.OpenAsync(b);

        var answers = await Task.WhenAll(Enumerable.Range(0, 60).Select(i =>
            i % 2 == 0 ? _client.TransferAsync(Id("ab"), a, b, "3") : _client.TransferAsync(Id("ba"), b, a, "2")));

        Assert.DoesNotContain(answers, x => (int)x.Status >= 500);
        var (aPosted, _, _) = await _client.BalanceAsync(a);
        var (bPosted, _, _) = await _client.BalanceAsync(b);
        Assert.Equal(50m, decimal.Parse(aPosted, System.Globalization.CultureInfo.InvariantCulture) + decimal.Parse(bPosted, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task AtomicBatch_WithOneBadCommand_AppliesNothing()
    {
        var (provider, consumer) = (Id("prov"), Id("cons"));
        await _client.FundAsync(provider, consumer, "5");
        var events = await factory.Database.ScalarAsync<long>("SELECT count(*) FROM cb.events");

        var answer = await _client.PostAsync("/api/v1/commands/batch", new
        {
            atomic = true,
            commands = new object[]
            {
                new { type = "withdrawal", body = Withdrawal(Id("wd"), consumer, "1") },
                new { type = "withdrawal", body = Withdrawal(Id("wd"), consumer, "9") },
                new { type = "deposit", body = new { depositId = Id("dep"), accountId = provider, resourceClass = "gpu.h100", region = "beijing", period = "2026-11", hours = "1" } },
            },
        });

        answer.ShouldBe(HttpStatusCode.OK);
        var results = answer.Body!["results"]!.AsArray();
        Assert.Equal(422, (int?)results[0]!["status"]);
        Assert.Equal("batch_aborted", (string?)results[0]!["problem"]!["code"]);
        Assert.Equal("insufficient_credits", (string?)results[1]!["problem"]!["code"]);
        Assert.Equal("batch_aborted", (string?)results[2]!["problem"]!["code"]);
        Assert.Equal(events, await factory.Database.ScalarAsync<long>("SELECT count(*) FROM cb.events"));
        Assert.Equal(("5.000", "0.000", "5.000"), await _client.BalanceAsync(consumer));
    }

    [Fact]
    public async Task AtomicBatch_WithAnInvalidBody_AppliesNothing_AndAtomicSuccessAppliesAll()
    {
        var (provider, consumer) = (Id("prov"), Id("cons"));
        await _client.FundAsync(provider, consumer, "5");

        var invalid = await _client.PostAsync("/api/v1/commands/batch", new
        {
            atomic = true,
            commands = new object[] { new { type = "withdrawal", body = Withdrawal(Id("wd"), consumer, "1") }, new { type = "teleport", body = new { } } },
        });
        var valid = await _client.PostAsync("/api/v1/commands/batch", new
        {
            atomic = true,
            commands = new object[] { new { type = "withdrawal", body = Withdrawal(Id("wd"), consumer, "1") }, new { type = "withdrawal", body = Withdrawal(Id("wd"), consumer, "2") } },
        });

        Assert.Equal("batch_aborted", (string?)invalid.Body!["results"]![0]!["problem"]!["code"]);
        Assert.Equal("validation_failed", (string?)invalid.Body["results"]![1]!["problem"]!["code"]);
        Assert.Equal(2, (int?)valid.Body!["succeeded"]);
        Assert.Equal(("2.000", "0.000", "2.000"), await _client.BalanceAsync(consumer));
    }

    [Fact]
    public async Task NonAtomicBatch_AppliesTheGoodOnes_InOrder_WithPerItemResults()
    {
        var (provider, consumer) = (Id("prov"), Id("cons"));
        await _client.FundAsync(provider, consumer, "5");

        var answer = await _client.PostAsync("/api/v1/commands/batch", new
        {
            commands = new object[]
            {
                new { type = "withdrawal", body = Withdrawal(Id("wd"), consumer, "4") },
                new { type = "withdrawal", body = Withdrawal(Id("wd"), consumer, "2") },
                new { type = "withdrawal", body = Withdrawal(Id("wd"), consumer, "1") },
                new { type = "withdrawal", body = new { withdrawalId = Id("wd") } },
            },
        });

        answer.ShouldBe(HttpStatusCode.OK);
        var statuses = answer.Body!["results"]!.AsArray().Select(r => (int)r!["status"]!).ToList();
        Assert.Equal([201, 422, 201, 400], statuses);
        Assert.Equal(("0.000", "0.000", "0.000"), await _client.BalanceAsync(consumer));
    }

    [Fact]
    public async Task Batch_OverTheLimitOrEmpty_IsValidationFailed()
    {
        var tooMany = Enumerable.Range(0, 8191).Select(i => new { type = "withdrawal", body = new { withdrawalId = $"w{i}" } }).ToArray();

        (await _client.PostAsync("/api/v1/commands/batch", new { commands = tooMany })).ShouldBeProblem(HttpStatusCode.BadRequest, "validation_failed");
        (await _client.PostAsync("/api/v1/commands/batch", new { commands = Array.Empty<object>() })).ShouldBeProblem(HttpStatusCode.BadRequest, "validation_failed");
    }

    private static object Withdrawal(string id, string account, string hours) =>
        new { withdrawalId = id, accountId = account, resourceClass = "gpu.h100", region = "beijing", period = "2026-11", hours };
}
