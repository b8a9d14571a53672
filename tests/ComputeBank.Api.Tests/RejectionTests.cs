using System.Net;
using System.Text;

namespace ComputeBank.Api.Tests;

/// <summary>
/// Every command endpoint refuses each kind of bad input with its stable code and writes no event: missing fields, bad
/// amounts (0, negative, 4 decimals, overflow), unknown resource class or region, closed periods, unknown ids, frozen or
/// closed accounts, malformed JSON and a non-JSON content type. The ledger they run against is set up with fixed
/// operation ids, so setting it up again before each case only replays.
/// </summary>
public sealed class RejectionTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    private const string ClosedPeriod = "2026-01";
    private const string Expiry = "2099-01-01T00:00:00Z";

    private readonly LedgerClient _client = new(factory.CreateClient());

    public static TheoryData<string, string, string, string?, int, string> Cases() => new()
    {
        // name, method, path, body, status, code
        { "deposit: empty body", "POST", "/api/v1/deposits", "{}", 400, "validation_failed" },
        { "deposit: zero", "POST", "/api/v1/deposits", Deposit("d1", "rc-prov", "\"0\""), 400, "validation_failed" },
        { "deposit: negative", "POST", "/api/v1/deposits", Deposit("d2", "rc-prov", "-1"), 400, "validation_failed" },
        { "deposit: 4 decimals as number", "POST", "/api/v1/deposits", Deposit("d3", "rc-prov", "1.0001"), 400, "validation_failed" },
        { "deposit: over the per-operation maximum", "POST", "/api/v1/deposits", Deposit("d4", "rc-prov", "\"1000000000.001\""), 400, "validation_failed" },
        { "deposit: beyond 64 bits", "POST", "/api/v1/deposits", Deposit("d5", "rc-prov", "99999999999999999999"), 400, "validation_failed" },
        { "deposit: exponent", "POST", "/api/v1/deposits", Deposit("d6", "rc-prov", "1e3"), 400, "validation_failed" },
        { "deposit: unknown resource class", "POST", "/api/v1/deposits", Deposit("d7", "rc-prov", "1", resourceClass: "gpu.v100"), 400, "validation_failed" },
        { "deposit: unknown region", "POST", "/api/v1/deposits", Deposit("d8", "rc-prov", "1", region: "moon"), 400, "validation_failed" },
        { "deposit: closed period", "POST", "/api/v1/deposits", Deposit("d9", "rc-prov", "1", period: ClosedPeriod), 422, "period_closed" },
        { "deposit: frozen account", "POST", "/api/v1/deposits", Deposit("d10", "rc-frozen", "1"), 422, "account_frozen" },
        { "deposit: unknown account", "POST", "/api/v1/deposits", Deposit("d11", "rc-ghost", "1"), 404, "account_not_found" },
        { "deposit: malformed JSON", "POST", "/api/v1/deposits", "{\"depositId\": ", 400, "malformed_json" },
        { "deposit: not JSON content", "POST", "/api/v1/deposits", null, 415, "unsupported_media_type" },

        { "withdrawal: empty body", "POST", "/api/v1/withdrawals", "{}", 400, "validation_failed" },
        { "withdrawal: zero", "POST", "/api/v1/withdrawals", Withdrawal("w1", "rc-cons", "0"), 400, "validation_failed" },
        { "withdrawal: negative", "POST", "/api/v1/withdrawals", Withdrawal("w2", "rc-cons", "\"-0.5\""), 400, "validation_failed" },
        { "withdrawal: 4 decimals", "POST", "/api/v1/withdrawals", Withdrawal("w3", "rc-cons", "\"0.0001\""), 400, "validation_failed" },
        { "withdrawal: overflow", "POST", "/api/v1/withdrawals", Withdrawal("w4", "rc-cons", "\"9223372036854775807\""), 400, "validation_failed" },
        { "withdrawal: unknown region", "POST", "/api/v1/withdrawals", Withdrawal("w5", "rc-cons", "1", region: "mars"), 400, "validation_failed" },
        { "withdrawal: closed period", "POST", "/api/v1/withdrawals", Withdrawal("w6", "rc-cons", "1", period: ClosedPeriod), 422, "period_closed" },
        { "withdrawal: closed account", "POST", "/api/v1/withdrawals", Withdrawal("w7", "rc-closed", "1"), 422, "account_closed" },
        { "withdrawal: more than available", "POST", "/api/v1/withdrawals", Withdrawal("w8", "rc-cons", "8.001"), 422, "insufficient_credits" },
        { "withdrawal: unknown account", "POST", "/api/v1/withdrawals", Withdrawal("w9", "rc-ghost", "1"), 404, "account_not_found" },
        { "withdrawal: malformed JSON", "POST", "/api/v1/withdrawals", "{\"withdrawalId\": \"w\",}", 400, "malformed_json" },

        { "transfer: empty body", "POST", "/api/v1/transfers", "{}", 400, "validation_failed" },
        { "transfer: zero", "POST", "/api/v1/transfers", Transfer("t1", "rc-cons", "rc-prov", "0"), 400, "validation_failed" },
        { "transfer: unknown resource class", "POST", "/api/v1/transfers", Transfer("t2", "rc-cons", "rc-prov", "1", resourceClass: "tpu.v5"), 400, "validation_failed" },
        { "transfer: closed period", "POST", "/api/v1/transfers", Transfer("t3", "rc-cons", "rc-prov", "1", period: ClosedPeriod), 422, "period_closed" },
        { "transfer: frozen receiver", "POST", "/api/v1/transfers", Transfer("t4", "rc-cons", "rc-frozen", "1"), 422, "account_frozen" },
        { "transfer: more than available", "POST", "/api/v1/transfers", Transfer("t5", "rc-cons", "rc-prov", "9"), 422, "insufficient_credits" },
        { "transfer: unknown sender", "POST", "/api/v1/transfers", Transfer("t6", "rc-ghost", "rc-prov", "1"), 404, "account_not_found" },
        { "transfer: malformed JSON", "POST", "/api/v1/transfers", "[]", 400, "malformed_json" },

        { "period transfer: empty body", "POST", "/api/v1/period-transfers", "{}", 400, "validation_failed" },
        { "period transfer: from not an object", "POST", "/api/v1/period-transfers", PeriodTransfer("p1", "\"beijing\"", To("beijing", "2026-12"), "1"), 400, "validation_failed" },
        { "period transfer: unknown region", "POST", "/api/v1/period-transfers", PeriodTransfer("p2", To("moon", "2026-11"), To("beijing", "2026-12"), "1"), 400, "validation_failed" },
        { "period transfer: 4 decimals", "POST", "/api/v1/period-transfers", PeriodTransfer("p3", To("beijing", "2026-11"), To("beijing", "2026-12"), "\"1.2345\""), 400, "validation_failed" },
        { "period transfer: closed source period", "POST", "/api/v1/period-transfers", PeriodTransfer("p4", To("beijing", ClosedPeriod), To("beijing", "2026-02"), "1"), 422, "period_closed" },
        { "period transfer: more than available", "POST", "/api/v1/period-transfers", PeriodTransfer("p5", To("beijing", "2026-11"), To("beijing", "2026-12"), "9"), 422, "insufficient_credits" },
        { "period transfer: no rate", "POST", "/api/v1/period-transfers", PeriodTransfer("p6", To("beijing", "2026-11"), To("beijing", "2027-01"), "1"), 422, "no_conversion_rate" },
        { "period transfer: malformed JSON", "POST", "/api/v1/period-transfers", "{\"from\": {\"region\": }}", 400, "malformed_json" },

        { "hold: empty body", "POST", "/api/v1/holds", "{}", 400, "validation_failed" },
        { "hold: expiry in the past", "POST", "/api/v1/holds", Hold("h1", "rc-cons", "1", expiresAt: "2000-01-01T00:00:00Z"), 400, "validation_failed" },
        { "hold: expiry not a timestamp", "POST", "/api/v1/holds", Hold("h2", "rc-cons", "1", expiresAt: "tomorrow"), 400, "validation_failed" },
        { "hold: zero", "POST", "/api/v1/holds", Hold("h3", "rc-cons", "0"), 400, "validation_failed" },
        { "hold: closed period", "POST", "/api/v1/holds", Hold("h4", "rc-cons", "1", period: ClosedPeriod), 422, "period_closed" },
        { "hold: more than available", "POST", "/api/v1/holds", Hold("h5", "rc-cons", "8.5"), 422, "insufficient_credits" },
        { "hold: beneficiary is the account", "POST", "/api/v1/holds", Hold("h6", "rc-cons", "1", beneficiary: "rc-cons"), 422, "same_account" },
        { "hold: unknown account", "POST", "/api/v1/holds", Hold("h7", "rc-ghost", "1"), 404, "account_not_found" },
        { "hold: malformed JSON", "POST", "/api/v1/holds", "{\"holdId\" \"x\"}", 400, "malformed_json" },

        { "capture: zero", "POST", "/api/v1/holds/rc-hold/capture", "{\"hours\": \"0\"}", 400, "validation_failed" },
        { "capture: 4 decimals", "POST", "/api/v1/holds/rc-hold/capture", "{\"hours\": 0.0001}", 400, "validation_failed" },
        { "capture: more than held", "POST", "/api/v1/holds/rc-hold/capture", "{\"hours\": \"2.001\", \"operationId\": \"c1\"}", 422, "capture_exceeds_hold" },
        { "capture: unknown hold", "POST", "/api/v1/holds/rc-no-hold/capture", "{\"operationId\": \"c2\"}", 404, "hold_not_found" },
        { "capture: malformed JSON", "POST", "/api/v1/holds/rc-hold/capture", "{", 400, "malformed_json" },
        { "release: unknown hold", "POST", "/api/v1/holds/rc-no-hold/release", "{\"operationId\": \"r1\"}", 404, "hold_not_found" },
        { "release: malformed JSON", "POST", "/api/v1/holds/rc-hold/release", "nope", 400, "malformed_json" },

        { "credit limit: missing hours", "PUT", "/api/v1/accounts/rc-cons/credit-limits/gpu.h100", "{}", 400, "validation_failed" },
        { "credit limit: negative", "PUT", "/api/v1/accounts/rc-cons/credit-limits/gpu.h100", "{\"hours\": \"-1\"}", 400, "validation_failed" },
        { "credit limit: 4 decimals", "PUT", "/api/v1/accounts/rc-cons/credit-limits/gpu.h100", "{\"hours\": \"1.0001\"}", 400, "validation_failed" },
        { "credit limit: unknown resource class", "PUT", "/api/v1/accounts/rc-cons/credit-limits/gpu.v100", "{\"hours\": \"1\"}", 400, "validation_failed" },
        { "credit limit: provider account", "PUT", "/api/v1/accounts/rc-prov/credit-limits/gpu.h100", "{\"hours\": \"1\", \"operationId\": \"l1\"}", 422, "invalid_account_kind" },
        { "credit limit: unknown account", "PUT", "/api/v1/accounts/rc-ghost/credit-limits/gpu.h100", "{\"hours\": \"1\", \"operationId\": \"l2\"}", 404, "account_not_found" },
        { "credit limit: malformed JSON", "PUT", "/api/v1/accounts/rc-cons/credit-limits/gpu.h100", "{\"hours\": 1", 400, "malformed_json" },

        { "freeze: unknown account", "POST", "/api/v1/accounts/rc-ghost/freeze", "{\"operationId\": \"f1\"}", 404, "account_not_found" },
        { "freeze: closed account", "POST", "/api/v1/accounts/rc-closed/freeze", "{\"operationId\": \"f2\"}", 422, "account_closed" },
        { "unfreeze: closed account", "POST", "/api/v1/accounts/rc-closed/unfreeze", "{\"operationId\": \"f3\"}", 422, "account_closed" },
        { "close: unknown account", "POST", "/api/v1/accounts/rc-ghost/close", "{\"operationId\": \"f4\"}", 404, "account_not_found" },
        { "close: account with a balance", "POST", "/api/v1/accounts/rc-cons/close", "{\"operationId\": \"f5\"}", 422, "account_not_empty" },
        { "freeze: malformed JSON", "POST", "/api/v1/accounts/rc-cons/freeze", "{\"operationId\": }", 400, "malformed_json" },

        { "close period: missing policy", "POST", "/api/v1/periods/2026-05/close", "{}", 400, "validation_failed" },
        { "close period: rollover without target", "POST", "/api/v1/periods/2026-05/close", "{\"policy\": \"rollover\"}", 400, "validation_failed" },
        { "close period: bad period", "POST", "/api/v1/periods/2026-13/close", "{\"policy\": \"expire\"}", 400, "validation_failed" },
        { "close period: already closed", "POST", $"/api/v1/periods/{ClosedPeriod}/close", "{\"policy\": \"expire\", \"operationId\": \"cp1\"}", 422, "period_already_closed" },
        { "close period: malformed JSON", "POST", "/api/v1/periods/2026-05/close", "{\"policy\": \"expire\"", 400, "malformed_json" },

        { "open account: bad fields", "POST", "/api/v1/accounts", "{\"accountId\": \"UPPER\", \"ownerId\": \"\", \"kind\": \"bank\"}", 400, "validation_failed" },
        { "open account: system account id", "POST", "/api/v1/accounts", "{\"accountId\": \"bank.capacity\", \"ownerId\": \"x\", \"kind\": \"provider\"}", 400, "validation_failed" },
        { "open account: same id, other fields", "POST", "/api/v1/accounts", "{\"accountId\": \"rc-prov\", \"ownerId\": \"someone-else\", \"kind\": \"provider\"}", 409, "operation_id_conflict" },
        { "batch: commands missing", "POST", "/api/v1/commands/batch", "{\"atomic\": true}", 400, "validation_failed" },
        { "batch: malformed JSON", "POST", "/api/v1/commands/batch", "{\"commands\": [", 400, "malformed_json" },
        { "batch: not JSON content", "POST", "/api/v1/commands/batch", null, 415, "unsupported_media_type" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadCommand_IsRefusedWithItsCode_AndWritesNoEvent(string name, string method, string path, string? body, int status, string code)
    {
        await SetUpLedgerAsync();
        var before = await EventCountAsync();

        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative))
        {
            Content = body is null
                ? new StringContent("depositId=x", Encoding.UTF8, "text/plain")
                : new StringContent(body, Encoding.UTF8, "application/json"),
        };
        var answer = await _client.SendAsync(request);

        Assert.True((int)answer.Status == status && answer.Code == code, $"{name}: expected {status} {code}, got {(int)answer.Status}: {answer.Text}");
        answer.ShouldBeProblem((HttpStatusCode)status, code);
        Assert.Equal(before, await EventCountAsync());
        if (code == "validation_failed")
        {
            Assert.NotEmpty(answer.Body!["errors"]!.AsObject());
        }
    }

    [Fact]
    public async Task EmptyBody_ListsEveryMissingField()
    {
        var answer = await _client.PostAsync("/api/v1/transfers", "{}");

        answer.ShouldBeProblem(HttpStatusCode.BadRequest, "validation_failed");
        Assert.Equal(
            ["fromAccountId", "hours", "period", "region", "resourceClass", "toAccountId", "transferId"],
            answer.Body!["errors"]!.AsObject().Select(e => e.Key).Order(StringComparer.Ordinal));
    }

    /// <summary>A provider and a consumer with 10 hours in 2026-11 (2 of them held by rc-hold), a frozen provider, a
    /// closed consumer and the closed period 2026-01. Every command has a fixed operation id, so a second run only replays.</summary>
    private async Task SetUpLedgerAsync()
    {
        await _client.FundAsync("rc-prov", "rc-cons", "10");
        (await _client.OpenAsync("rc-frozen", "provider")).ShouldBe(HttpStatusCode.Created);
        (await _client.PostAsync("/api/v1/accounts/rc-frozen/freeze", new { operationId = "setup-freeze" })).ShouldBe(HttpStatusCode.OK);
        (await _client.OpenAsync("rc-closed")).ShouldBe(HttpStatusCode.Created);
        (await _client.PostAsync("/api/v1/accounts/rc-closed/close", new { operationId = "setup-close" })).ShouldBe(HttpStatusCode.OK);
        (await _client.PostAsync("/api/v1/holds", new
        {
            holdId = "rc-hold", accountId = "rc-cons", resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours = "2", expiresAt = Expiry,
        })).ShouldBe(HttpStatusCode.Created);
        (await _client.PostAsync($"/api/v1/periods/{ClosedPeriod}/close", new { policy = "expire", operationId = "setup-close-period" })).ShouldBe(HttpStatusCode.OK);
    }

    private Task<long> EventCountAsync() => factory.Database.ScalarAsync<long>("SELECT count(*) FROM cb.events");

    private static string Deposit(string id, string account, string hours, string resourceClass = "gpu.h100", string region = "beijing", string period = LedgerClient.Period) =>
        $"{{\"depositId\":\"{id}\",\"accountId\":\"{account}\",\"resourceClass\":\"{resourceClass}\",\"region\":\"{region}\",\"period\":\"{period}\",\"hours\":{hours}}}";

    private static string Withdrawal(string id, string account, string hours, string region = "beijing", string period = LedgerClient.Period) =>
        $"{{\"withdrawalId\":\"{id}\",\"accountId\":\"{account}\",\"resourceClass\":\"gpu.h100\",\"region\":\"{region}\",\"period\":\"{period}\",\"hours\":{hours}}}";

    private static string Transfer(string id, string from, string to, string hours, string resourceClass = "gpu.h100", string period = LedgerClient.Period) =>
        $"{{\"transferId\":\"{id}\",\"fromAccountId\":\"{from}\",\"toAccountId\":\"{to}\",\"resourceClass\":\"{resourceClass}\",\"region\":\"beijing\",\"period\":\"{period}\",\"hours\":{hours}}}";

    private static string To(string region, string period) => $"{{\"region\":\"{region}\",\"period\":\"{period}\"}}";

    private static string PeriodTransfer(string id, string from, string to, string hours) =>
        $"{{\"transferId\":\"{id}\",\"fromAccountId\":\"rc-cons\",\"resourceClass\":\"gpu.h100\",\"from\":{from},\"to\":{to},\"hours\":{hours}}}";

    private static string Hold(string id, string account, string hours, string period = LedgerClient.Period, string expiresAt = Expiry, string? beneficiary = null) =>
        $"{{\"holdId\":\"{id}\",\"accountId\":\"{account}\",{(beneficiary is null ? "" : $"\"beneficiaryAccountId\":\"{beneficiary}\",")}\"resourceClass\":\"gpu.h100\",\"region\":\"beijing\",\"period\":\"{period}\",\"hours\":{hours},\"expiresAt\":\"{expiresAt}\"}}";
}
