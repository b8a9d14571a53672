using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ComputeBank.Testing;

namespace ComputeBank.Api.Tests;

/// <summary>
/// Approval snapshots of the main answers of the API (status, content type, replay flag and body), so that any change
/// to the wire contract of API.md shows up as a diff. The class has its own fresh database and uses fixed ids (each test
/// its own), so stream versions are stable; timestamps and the global <c>lastSequence</c> (which depends on the tests
/// that ran before in the same database) are scrubbed.
/// </summary>
public sealed partial class ResponseApprovalTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    private readonly LedgerClient _client = new(factory.CreateClient());

    private static readonly string ExpiresAt = DateTimeOffset.UtcNow.AddDays(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task OpenAccount_IsCreated_WithTheAccount()
    {
        var answer = await _client.PostAsync("/api/v1/accounts", new { accountId = "open-acme", ownerId = "acme", kind = "provider", displayName = "Acme GPUs" });

        Verify(answer);
    }

    [Fact]
    public async Task Deposit_IsCreated_WithTheOperationResult()
    {
        await _client.OpenAsync("dep-prov", "provider");

        var answer = await _client.DepositAsync("dep-1", "dep-prov", "12.5");

        Verify(answer);
    }

    [Fact]
    public async Task Withdrawal_IsCreated_WithTheOperationResult()
    {
        await _client.FundAsync("wd-prov", "wd-cons", "10");

        var answer = await _client.WithdrawAsync("wd-1", "wd-cons", 2.25m);

        Verify(answer);
    }

    [Fact]
    public async Task TransferWithSettlement_IsCreated_WithBothAccounts()
    {
        await _client.OpenAsync("tr-prov", "provider");
        await _client.OpenAsync("tr-cons");
        await _client.DepositAsync("tr-dep", "tr-prov", "100");

        var answer = await _client.TransferAsync("tr-1", "tr-prov", "tr-cons", "40", settlement: new
        {
            amount = "1200.00", currency = "CNY", rail = "e-cny", paymentReference = "ecny-2026-0001",
        });

        Verify(answer);
    }

    [Fact]
    public async Task PeriodTransfer_IsCreated_WithHoursDebitedCreditedAndRate()
    {
        await _client.FundAsync("pt-prov", "pt-cons", "10");

        var answer = await _client.PostAsync("/api/v1/period-transfers", new
        {
            transferId = "pt-1", fromAccountId = "pt-cons", resourceClass = "gpu.h100",
            from = new { region = "beijing", period = "2026-11" }, to = new { region = "beijing", period = "2026-12" }, hours = "2.5",
        });

        Verify(answer);
    }

    [Fact]
    public async Task HoldPlaced_IsCreated_WithThePendingHold()
    {
        await _client.FundAsync("hp-prov", "hp-cons", "10");

        var answer = await PlaceHoldAsync("hp-hold", "hp-cons", "6", beneficiary: "hp-prov");

        Verify(answer);
    }

    [Fact]
    public async Task HoldCaptured_InPart_IsOk_WithTheCapturedHoldAndBothAccounts()
    {
        await _client.FundAsync("hc-prov", "hc-cons", "10");
        (await PlaceHoldAsync("hc-hold", "hc-cons", "6", beneficiary: "hc-prov")).ShouldBe(HttpStatusCode.Created);

        var answer = await _client.PostAsync("/api/v1/holds/hc-hold/capture", new { hours = "2.5" }, new Dictionary<string, string> { ["Idempotency-Key"] = "hc-capture" });

        Verify(answer);
    }

    [Fact]
    public async Task HoldReleased_IsOk_WithTheReleasedHold()
    {
        await _client.FundAsync("hr-prov", "hr-cons", "10");
        (await PlaceHoldAsync("hr-hold", "hr-cons", "3")).ShouldBe(HttpStatusCode.Created);

        var answer = await _client.PostAsync("/api/v1/holds/hr-hold/release", null, new Dictionary<string, string> { ["Idempotency-Key"] = "hr-release" });

        Verify(answer);
    }

    [Fact]
    public async Task AtomicBatch_IsOk_WithOneResultPerCommandInOrder()
    {
        await _client.OpenAsync("ba-prov", "provider");

        var answer = await _client.PostAsync("/api/v1/commands/batch", new
        {
            atomic = true,
            commands = new object[]
            {
                new { type = "account", body = new { accountId = "ba-cons", ownerId = "lab", kind = "consumer" } },
                new { type = "deposit", body = new { depositId = "ba-dep", accountId = "ba-prov", resourceClass = "gpu.h100", region = "beijing", period = "2026-11", hours = "8" } },
                new { type = "transfer", body = new { transferId = "ba-tr", fromAccountId = "ba-prov", toAccountId = "ba-cons", resourceClass = "gpu.h100", region = "beijing", period = "2026-11", hours = "3" } },
            },
        });

        Verify(answer);
    }

    [Fact]
    public async Task NonAtomicBatch_IsOk_WithResultsAndProblemsPerCommand()
    {
        await _client.FundAsync("bn-prov", "bn-cons", "5");

        var answer = await _client.PostAsync("/api/v1/commands/batch", new
        {
            commands = new object[]
            {
                new { type = "withdrawal", body = Withdrawal("bn-wd-1", "bn-cons", "4") },
                new { type = "withdrawal", body = Withdrawal("bn-wd-2", "bn-cons", "2") },
                new { type = "withdrawal", body = new { withdrawalId = "bn-wd-3" } },
                new { type = "teleport", body = new { } },
            },
        });

        Verify(answer);
    }

    [Fact]
    public async Task GetAccount_IsOk_WithLimitsAndBalancesPerBucket()
    {
        await _client.FundAsync("ga-prov", "ga-cons", "10");
        (await _client.PutAsync("/api/v1/accounts/ga-cons/credit-limits/gpu.h100", new { hours = "5", operationId = "ga-limit" })).ShouldBe(HttpStatusCode.OK);
        (await PlaceHoldAsync("ga-hold", "ga-cons", "4")).ShouldBe(HttpStatusCode.Created);
        (await _client.DepositAsync("ga-dep-dec", "ga-prov", "1", period: "2026-12")).ShouldBe(HttpStatusCode.Created);

        var answer = await _client.GetAsync("/api/v1/accounts/ga-cons");

        Verify(answer);
    }

    [Fact]
    public async Task ValidationFailed_ListsEveryFieldError()
    {
        var answer = await _client.PostAsync("/api/v1/deposits", new
        {
            depositId = "", accountId = "Not An Id", resourceClass = "gpu.v100", region = "mars", period = "2026-13", hours = "1.2345",
        });

        Verify(answer);
    }

    [Fact]
    public async Task InsufficientCredits_IsUnprocessable()
    {
        await _client.FundAsync("ic-prov", "ic-cons", "1");

        var answer = await _client.WithdrawAsync("ic-wd", "ic-cons", "1.001");

        Verify(answer);
    }

    [Fact]
    public async Task OperationIdConflict_IsConflict()
    {
        await _client.FundAsync("oc-prov", "oc-cons", "5");
        (await _client.WithdrawAsync("oc-wd", "oc-cons", "1")).ShouldBe(HttpStatusCode.Created);

        var answer = await _client.WithdrawAsync("oc-wd", "oc-cons", "2");

        Verify(answer);
    }

    [Fact]
    public async Task Replay_OfARejection_IsTheSameProblem_MarkedReplayed()
    {
        await _client.OpenAsync("rp-cons");
        (await _client.WithdrawAsync("rp-wd", "rp-cons", "1")).ShouldBe((HttpStatusCode)422);

        var answer = await _client.WithdrawAsync("rp-wd", "rp-cons", "1");

        Verify(answer);
    }

    [Fact]
    public async Task MalformedJson_IsBadRequest()
    {
        var answer = await _client.PostAsync("/api/v1/deposits", "{\"depositId\": \"x\",");

        Verify(answer);
    }

    [Fact]
    public async Task PayloadTooLarge_IsRequestEntityTooLarge()
    {
        var answer = await _client.PostAsync("/api/v1/deposits", "{\"reference\":\"" + new string('r', 70_000) + "\"}");

        Verify(answer);
    }

    [Fact]
    public async Task UnsupportedMediaType_IsUnsupportedMediaType()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/v1/deposits", UriKind.Relative))
        {
            Content = new StringContent("depositId=x", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"),
        };

        var answer = await _client.SendAsync(request);

        Verify(answer);
    }

    [Fact]
    public async Task UnknownAccount_IsNotFound()
    {
        var answer = await _client.GetAsync("/api/v1/accounts/nobody-here");

        Verify(answer);
    }

    private Task<Answer> PlaceHoldAsync(string holdId, string accountId, string hours, string? beneficiary = null) =>
        _client.PostAsync("/api/v1/holds", new
        {
            holdId, accountId, beneficiaryAccountId = beneficiary, resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours,
            expiresAt = ExpiresAt,
        });

    private static object Withdrawal(string id, string account, string hours) =>
        new { withdrawalId = id, accountId = account, resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours };

    private static void Verify(Answer answer, [System.Runtime.CompilerServices.CallerMemberName] string method = "") =>
        Approvals.Verify(
            new JsonObject
            {
                ["status"] = (int)answer.Status,
                ["contentType"] = answer.ContentType,
                ["replayed"] = answer.Replayed,
                ["body"] = answer.Body?.DeepClone(),
            },
            ScrubSequences,
            method: method);

    /// <summary>The global sequence depends on what other tests of the class wrote first; trace ids are random.</summary>
    private static string ScrubSequences(string json) =>
        TraceIdPattern().Replace(SequencePattern().Replace(json, "\"lastSequence\": \"{sequence}\""), "\"traceId\": \"{traceId}\"");

    [GeneratedRegex("\"lastSequence\": [0-9]+")]
    private static partial Regex SequencePattern();

    [GeneratedRegex("\"traceId\": \"[0-9a-f-]+\"")]
    private static partial Regex TraceIdPattern();
}
