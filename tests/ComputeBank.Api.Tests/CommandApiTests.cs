using System.Net;

namespace ComputeBank.Api.Tests;

/// <summary>Every command endpoint through the real host and database: success, the refusals, and that a refusal
/// writes no event.</summary>
public sealed partial class CommandApiTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    private readonly LedgerClient _client = new(factory.CreateClient());

    private Task<long> EventCountAsync() => factory.Database.ScalarAsync<long>("SELECT count(*) FROM cb.events");

    /// <summary>Runs a request that must be refused with the code, and checks that no event was written.</summary>
    private async Task<Answer> RefusedAsync(Func<Task<Answer>> request, HttpStatusCode status, string code)
    {
        var before = await EventCountAsync();
        var answer = await request();
        answer.ShouldBeProblem(status, code);
        Assert.Equal(before, await EventCountAsync());
        return answer;
    }

    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 60)];

    [Fact]
    public async Task Answer_WithNonAsciiAndMarkup_IsTheSameBytesOnReplay_AndTheSameJsonInABatch()
    {
        // Answers are serialised once to UTF-8 and then copied: to the operation log, to a replay, into a batch.
        var id = Id("acct");
        var name = "北京算力中心 <GPU & \"H100\">";
        var account = new { accountId = id, ownerId = "acme", kind = "provider", displayName = name };

        var created = await _client.PostAsync("/api/v1/accounts", account);
        var replayed = await _client.PostAsync("/api/v1/accounts", account);
        var batch = await _client.PostAsync("/api/v1/commands/batch", new { commands = new object[] { new { type = "account", body = account } } });

        created.ShouldBe(HttpStatusCode.Created);
        Assert.Equal(name, (string?)created.Body!["displayName"]);
        Assert.True(replayed.Replayed);
        Assert.Equal(created.Text, replayed.Text);
        var item = batch.Body!["results"]![0]!;
        Assert.Equal(201, (int?)item["status"]);
        Assert.True((bool?)item["replayed"]);
        Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(created.Body, item["result"]));
    }

    [Fact]
    public async Task OpenAccount_Created_ThenSameFieldsReplays_OtherFieldsConflict()
    {
        var id = Id("acct");
        var created = await _client.PostAsync("/api/v1/accounts", new { accountId = id, ownerId = "acme", kind = "provider", displayName = "Acme GPUs" });
        var again = await _client.PostAsync("/api/v1/accounts", new { accountId = id, ownerId = "acme", kind = "provider", displayName = "Acme GPUs" });

        created.ShouldBe(HttpStatusCode.Created);
        Assert.Equal(id, (string?)created.Body!["accountId"]);
        Assert.Equal("provider", (string?)created.Body["kind"]);
        again.ShouldBe(HttpStatusCode.Created);
        Assert.True(again.Replayed);
        Assert.Equal(created.Text, again.Text);
        await RefusedAsync(() => _client.PostAsync("/api/v1/accounts", new { accountId = id, ownerId = "other", kind = "provider" }),
            HttpStatusCode.Conflict, "operation_id_conflict");
    }

    [Fact]
    public async Task OpenAccount_BadInput_IsValidationFailedWithFieldErrors()
    {
        var answer = await RefusedAsync(() => _client.PostAsync("/api/v1/accounts", new { accountId = "Bad Id!", kind = "bank" }),
            HttpStatusCode.BadRequest, "validation_failed");

        var errors = answer.Body!["errors"]!.AsObject();
        Assert.Contains("accountId", errors.Select(e => e.Key));
        Assert.Contains("ownerId", errors.Select(e => e.Key));
        Assert.Contains("kind", errors.Select(e => e.Key));
    }

    [Fact]
    public async Task OpenAccount_SystemKind_IsRefused()
    {
        await RefusedAsync(() => _client.PostAsync("/api/v1/accounts", new { accountId = Id("sys"), ownerId = "bank", kind = "system" }),
            HttpStatusCode.BadRequest, "validation_failed");
    }

    [Theory]
    [InlineData("{\"accountId\": ")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"accountId\": \"a\", \"accountId\": \"b\", \"ownerId\": \"o\", \"kind\": \"consumer\"}")]
    [InlineData("not json")]
    public async Task MalformedJson_IsMalformedJsonProblem(string body)
    {
        await RefusedAsync(() => _client.PostAsync("/api/v1/accounts", body), HttpStatusCode.BadRequest, "malformed_json");
    }

    [Fact]
    public async Task Deposit_IntoProvider_Created_WithBalancesVersionsAndSequence()
    {
        var provider = Id("prov");
        await _client.OpenAsync(provider, "provider");

        var answer = await _client.DepositAsync(Id("dep"), provider, "12.5");

        answer.ShouldBe(HttpStatusCode.Created);
        var account = answer.Body!["accounts"]![0]!;
        Assert.Equal(provider, (string?)account["accountId"]);
        Assert.Equal(2, (int?)account["version"]);
        Assert.Equal("12.500", (string?)account["balances"]![0]!["posted"]);
        Assert.Equal("12.500", (string?)account["balances"]![0]!["available"]);
        Assert.True((long?)answer.Body["lastSequence"] > 0);
    }

    [Theory]
    [InlineData("0", "hours")]
    [InlineData("-1", "hours")]
    [InlineData("1.2345", "hours")]
    [InlineData("1000000000.001", "hours")]
    [InlineData("99999999999999999999999", "hours")]
    [InlineData("abc", "hours")]
    public async Task Deposit_BadAmount_IsValidationFailed(string hours, string field)
    {
        var provider = Id("prov");
        await _client.OpenAsync(provider, "provider");

        var answer = await RefusedAsync(() => _client.DepositAsync(Id("dep"), provider, hours), HttpStatusCode.BadRequest, "validation_failed");

        Assert.NotNull(answer.Body!["errors"]![field]);
    }

    [Fact]
    public async Task Deposit_NumberWithFourDecimals_IsRefusedWithoutRounding()
    {
        var provider = Id("prov");
        await _client.OpenAsync(provider, "provider");
        var body = $"{{\"depositId\":\"{Id("dep")}\",\"accountId\":\"{provider}\",\"resourceClass\":\"gpu.h100\",\"region\":\"beijing\",\"period\":\"2026-11\",\"hours\":1.0005}}";

        await RefusedAsync(() => _client.PostAsync("/api/v1/deposits", body), HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task Deposit_UnknownResourceClassRegionOrBadPeriod_IsValidationFailed()
    {
        var provider = Id("prov");
        await _client.OpenAsync(provider, "provider");

        var answer = await RefusedAsync(() => _client.DepositAsync(Id("dep"), provider, "1", resourceClass: "gpu.v100", region: "mars", period: "2026-13"),
            HttpStatusCode.BadRequest, "validation_failed");

        var errors = answer.Body!["errors"]!.AsObject().Select(e => e.Key).ToList();
        Assert.Contains("resourceClass", errors);
        Assert.Contains("region", errors);
        Assert.Contains("period", errors);
    }

    [Fact]
    public async Task Deposit_IntoConsumer_IsInvalidAccountKind_AndUnknownAccountIsNotFound()
    {
        var consumer = Id("cons");
        await _client.OpenAsync(consumer);

        await RefusedAsync(() => _client.DepositAsync(Id("dep"), consumer, "1"), (HttpStatusCode)422, "invalid_account_kind");
        await RefusedAsync(() => _client.DepositAsync(Id("dep"), Id("nobody"), "1"), HttpStatusCode.NotFound, "account_not_found");
    }

    [Fact]
    public async Task Withdraw_MoreThanAvailable_IsInsufficientCredits_AndWithinIsCreated()
    {
        var (provider, consumer) = (Id("prov"), Id("cons"));
        await _client.FundAsync(provider, consumer, "10");

        await RefusedAsync(() => _client.WithdrawAsync(Id("wd"), consumer, "10.001"), (HttpStatusCode)422, "insufficient_credits");
        (await _client.WithdrawAsync(Id("wd"), consumer, "4")).ShouldBe(HttpStatusCode.Created);

        Assert.Equal(("6.000", "0.000", "6.000"), await _client.BalanceAsync(consumer));
    }

    [Fact]
    public async Task Transfer_WithSettlement_Created_SameAccountRefused_UnknownTargetNotFound()
    {
        var (provider, consumer) = (Id("prov"), Id("cons"));
        await _client.FundAsync(provider, consumer, "5");
        var settlement = new { amount = "1200.00", currency = "CNY", rail = "e-cny", paymentReference = "ecny-2026-0001" };

        (await _client.TransferAsync(Id("tr"), consumer, provider, "1", settlement: settlement)).ShouldBe(HttpStatusCode.Created);
        await RefusedAsync(() => _client.TransferAsync(Id("tr"), consumer, consumer, "1"), (HttpStatusCode)422, "same_account");
        await RefusedAsync(() => _client.TransferAsync(Id("tr"), consumer, Id("ghost"), "1"), HttpStatusCode.NotFound, "account_not_found");
        await RefusedAsync(() => _client.TransferAsync(Id("tr"), consumer, provider, "1", settlement: new { amount = "1.001", rail = "cash", paymentReference = "x" }),
            HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task PeriodTransfer_WithinQuarter_AtRateOne_AndWithoutRule_IsNoConversionRate()
    {
        var (provider, consumer) = (Id("prov"), Id("cons"));
        await _client.FundAsync(provider, consumer, "10");
        var body = (string id, string toPeriod) => new
        {
            transferId = id, fromAccountId = consumer, resourceClass = "gpu.h100",
            from = new { region = "beijing", period = "2026-11" }, to = new { region = "beijing", period = toPeriod }, hours = "2",
        };

        var moved = await _client.PostAsync("/api/v1/period-transfers", body(Id("pt"), "2026-12"));

        moved.ShouldBe(HttpStatusCode.Created);
        Assert.Equal("2.000", (string?)moved.Body!["hoursDebited"]);
        Assert.Equal("2.000", (string?)moved.Body["hoursCredited"]);
        await RefusedAsync(() => _client.PostAsync("/api/v1/period-transfers", body(Id("pt"), "2027-01")), (HttpStatusCode)422, "no_conversion_rate");
    }

    [Fact]
    public async Task Holds_PlaceCaptureRelease_AndTheirRefusals()
    {
        var (provider, consumer) = (Id("prov"), Id("cons"));
        await _client.FundAsync(provider, consumer, "10");
        var hold = (string id, string hours) => _client.PostAsync("/api/v1/holds", new
        {
            holdId = id, accountId = consumer, resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours,
            expiresAt = DateTimeOffset.UtcNow.AddHours(1).ToString("O"),
        });
        var (first, second) = (Id("hold"), Id("hold"));

        (await hold(first, "6")).ShouldBe(HttpStatusCode.Created);
        Assert.Equal(("10.000", "6.000", "4.000"), await _client.BalanceAsync(consumer));
        await RefusedAsync(() => hold(Id("hold"), "4.001"), (HttpStatusCode)422, "insufficient_credits");
        await RefusedAsync(() => _client.PostAsync($"/api/v1/holds/{first}/capture", new { hours = "6.001" }), (HttpStatusCode)422, "capture_exceeds_hold");
        (await _client.PostAsync($"/api/v1/holds/{first}/capture", new { hours = "2.5" })).ShouldBe(HttpStatusCode.OK);
        Assert.Equal(("7.500", "0.000", "7.500"), await _client.BalanceAsync(consumer));
        await RefusedAsync(() => _client.PostAsync($"/api/v1/holds/{first}/release", null), (HttpStatusCode)422, "hold_not_pending");
        (await hold(second, "1")).ShouldBe(HttpStatusCode.Created);
        (await _client.PostAsync($"/api/v1/holds/{second}/release", null)).ShouldBe(HttpStatusCode.OK);
        await RefusedAsync(() => _client.PostAsync($"/api/v1/holds/{Id("nohold")}/capture", null), HttpStatusCode.NotFound, "hold_not_found");
        Assert.Equal(("7.500", "0.000", "7.500"), await _client.BalanceAsync(consumer));
    }

    [Fact]
    public async Task CreditLimit_LetsConsumerGoNegative_FreezeBlocks_CloseNeedsEmpty()
    {
        var consumer = Id("cons");
        await _client.OpenAsync(consumer);

        (await _client.PutAsync($"/api/v1/accounts/{consumer}/credit-limits/gpu.h100", new { hours = "3" })).ShouldBe(HttpStatusCode.OK);
        (await _client.WithdrawAsync(Id("wd"), consumer, "2")).ShouldBe(HttpStatusCode.Created);
        Assert.Equal(("-2.000", "0.000", "1.000"), await _client.BalanceAsync(consumer));
        (await _client.PostAsync($"/api/v1/accounts/{consumer}/freeze", null)).ShouldBe(HttpStatusCode.OK);
        await RefusedAsync(() => _client.WithdrawAsync(Id("wd"), consumer, "0.5"), (HttpStatusCode)422, "account_frozen");
        (await _client.PostAsync($"/api/v1/accounts/{consumer}/unfreeze", null)).ShouldBe(HttpStatusCode.OK);
        await RefusedAsync(() => _client.PostAsync($"/api/v1/accounts/{consumer}/close", null), (HttpStatusCode)422, "account_not_empty");

        var empty = Id("cons");
        await _client.OpenAsync(empty);
        (await _client.PostAsync($"/api/v1/accounts/{empty}/close", null)).ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task ClosePeriod_Expire_ThenMovementsInItAreRefused()
    {
        var (provider, consumer) = (Id("prov"), Id("cons"));
        const string period = "2026-03";
        (await _client.OpenAsync(provider, "provider")).ShouldBe(HttpStatusCode.Created);
        (await _client.OpenAsync(consumer)).ShouldBe(HttpStatusCode.Created);
        (await _client.DepositAsync(Id("dep"), provider, "4", period: period)).ShouldBe(HttpStatusCode.Created);
        (await _client.TransferAsync(Id("tr"), provider, consumer, "1", period: period)).ShouldBe(HttpStatusCode.Created);

        (await _client.PostAsync($"/api/v1/periods/{period}/close", new { policy = "expire" })).ShouldBe(HttpStatusCode.OK);

        Assert.Equal(("0.000", "0.000", "0.000"), await _client.BalanceAsync(consumer, period));
        Assert.Equal(("0.000", "0.000", "0.000"), await _client.BalanceAsync(provider, period));
        await RefusedAsync(() => _client.DepositAsync(Id("dep"), provider, "1", period: period), (HttpStatusCode)422, "period_closed");
        await RefusedAsync(() => _client.PostAsync($"/api/v1/periods/{period}/close", new { policy = "expire", operationId = Id("again") }),
            (HttpStatusCode)422, "period_already_closed");
        await RefusedAsync(() => _client.PostAsync("/api/v1/periods/2026-04/close", new { policy = "shred" }), HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task GetAccount_Unknown_IsNotFound_AndBadIdIsValidationFailed()
    {
        (await _client.GetAsync($"/api/v1/accounts/{Id("ghost")}")).ShouldBeProblem(HttpStatusCode.NotFound, "account_not_found");
        (await _client.GetAsync("/api/v1/accounts/BAD%20ID")).ShouldBeProblem(HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task BodyOverTheLimit_IsPayloadTooLarge()
    {
        var huge = "{\"accountId\":\"" + new string('a', 70_000) + "\"}";

        await RefusedAsync(() => _client.PostAsync("/api/v1/accounts", huge), HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
    }

    [Fact]
    public async Task RejectedCommand_RetriedWithSameId_AnswersTheSameRejection()
    {
        var (provider, consumer) = (Id("prov"), Id("cons"));
        await _client.FundAsync(provider, consumer, "1");
        var id = Id("wd");

        var first = await _client.WithdrawAsync(id, consumer, "2");
        (await _client.DepositAsync(Id("dep"), provider, "5")).ShouldBe(HttpStatusCode.Created);
        (await _client.TransferAsync(Id("tr"), provider, consumer, "5")).ShouldBe(HttpStatusCode.Created);
        var retried = await _client.WithdrawAsync(id, consumer, "2");

        first.ShouldBeProblem((HttpStatusCode)422, "insufficient_credits");
        retried.ShouldBeProblem((HttpStatusCode)422, "insufficient_credits");
        Assert.True(retried.Replayed);
        Assert.Equal(first.Text, retried.Text);
    }
}
