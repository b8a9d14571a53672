using System.Net;
using System.Text.Json.Nodes;
using ComputeBank.Api.Http;
using ComputeBank.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace ComputeBank.Api.Tests;

/// <summary>The OpenAPI document at /openapi/v1.json: approved as a whole, checked to describe every endpoint, body and
/// error, and checked against what the API really answers (so the documentation contracts cannot drift from the wire).</summary>
public sealed class OpenApiDocumentTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    private readonly LedgerClient _client = new(factory.CreateClient());

    [Fact]
    public async Task Document_IsApproved()
    {
        var answer = await _client.GetAsync("/openapi/v1.json");

        answer.ShouldBe(HttpStatusCode.OK);
        Approvals.Verify(answer.Body);

        // The transformers run on every request: a second answer must be the same document, not transformed twice.
        Assert.Equal(answer.Text, (await _client.GetAsync("/openapi/v1.json")).Text);
    }

    [Fact]
    public async Task EveryApiEndpoint_IsDescribed_WithOperationIdSummaryAndProblemJsonErrors()
    {
        var document = (await _client.GetAsync("/openapi/v1.json")).Body!;
        var endpoints = factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/api/v1", StringComparison.Ordinal))
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Select(m => (Path: e.RoutePattern.RawText!, Method: m.ToLowerInvariant())))
            .ToList();

        Assert.True(endpoints.Count >= 15, $"only {endpoints.Count} endpoints found");

        // Operations without a request body; every other POST and PUT declares a typed one.
        HashSet<(string, string)> withoutBody = [("/api/v1/dead-letters/{id}/replay", "post")];
        // Operations that validate nothing (no 400): the audit, an operation's status and a dead letter's replay (an
        // unknown id of either is 404).
        HashSet<(string, string)> withoutBadRequest =
            [("/api/v1/audit/verify", "get"), ("/api/v1/operations/{operationId}", "get"), ("/api/v1/dead-letters/{id}/replay", "post"), ("/api/v1/events/export.csv", "get")];
        // The one answer that is not JSON: the ledger's CSV export.
        HashSet<(string, string)> csv = [("/api/v1/events/export.csv", "get")];
        Assert.Subset(endpoints.ToHashSet(), withoutBody);
        Assert.Subset(endpoints.ToHashSet(), withoutBadRequest);
        Assert.Subset(endpoints.ToHashSet(), csv);
        foreach (var (path, method) in endpoints)
        {
            var operation = document["paths"]?[path]?[method];
            Assert.True(operation is not null, $"{method} {path} is not in the document");
            Assert.False(string.IsNullOrEmpty((string?)operation["operationId"]), $"{method} {path} has no operationId");
            Assert.False(string.IsNullOrEmpty((string?)operation["summary"]), $"{method} {path} has no summary");
            Assert.False(string.IsNullOrEmpty((string?)operation["description"]), $"{method} {path} has no description");
            if ((method == "post" || method == "put") && !withoutBody.Contains((path, method)))
            {
                Assert.StartsWith("#/components/schemas/", (string?)operation["requestBody"]?["content"]?["application/json"]?["schema"]?["$ref"]);
            }

            var responses = operation["responses"]!.AsObject();
            Assert.True(responses.Any(r => r.Key.StartsWith('2') && (csv.Contains((path, method))
                    ? r.Value!["content"]?["text/csv"]?["schema"]?["type"]?.ToString() == "string"
                    : r.Value!["content"]?["application/json"]?["schema"]?["$ref"] is not null)),
                $"{method} {path} declares no typed success");
            Assert.True(withoutBadRequest.Contains((path, method)) || responses.ContainsKey("400"), $"{method} {path} declares no 400");

            // Every API operation takes a bearer token and says which roles it takes; 401 and 403 are declared.
            Assert.Equal("""[{"bearer":[]}]""", operation["security"]?.ToJsonString());
            Assert.NotEmpty(operation[ApiDocs.RolesExtension]!.AsArray());
            Assert.Contains("Roles: ", (string?)operation["description"], StringComparison.Ordinal);
            Assert.Contains("code: unauthenticated", (string?)responses["401"]?["description"], StringComparison.Ordinal);
            Assert.Contains("code: forbidden", (string?)responses["403"]?["description"], StringComparison.Ordinal);

            foreach (var (status, response) in responses.Where(r => r.Key[0] is '4' or '5'))
            {
                var content = response!["content"]!.AsObject();
                Assert.Equal(["application/problem+json"], content.Select(c => c.Key));
                Assert.Equal("#/components/schemas/ApiProblem", (string?)content["application/problem+json"]!["schema"]!["$ref"]);
                Assert.Contains("code: ", (string?)response["description"], StringComparison.Ordinal);
                Assert.True(status != "500", $"{method} {path} documents a 500");
            }
        }

        // Health and the document itself need no token.
        Assert.Equal("[]", document["paths"]!["/health/ready"]!["get"]!["security"]?.ToJsonString());
        Assert.Equal("[]", document["paths"]!["/health/live"]!["get"]!["security"]?.ToJsonString());
        Assert.Equal("http", (string?)document["components"]!["securitySchemes"]!["bearer"]!["type"]);
        Assert.Equal("JWT", (string?)document["components"]!["securitySchemes"]!["bearer"]!["bearerFormat"]);

        var problem = document["components"]!["schemas"]!["ApiProblem"]!;
        Assert.Contains("code", problem["required"]!.AsArray().Select(r => (string?)r));
        Assert.NotNull(problem["properties"]!["errors"]);
    }

    [Fact]
    public async Task RealAnswers_HaveExactlyTheShapeTheDocumentDeclares()
    {
        var document = (await _client.GetAsync("/openapi/v1.json")).Body!;
        await _client.FundAsync("oa-prov", "oa-cons", "10");
        var answers = new List<(string Operation, string Status, Answer Answer)>
        {
            ("OpenAccount", "201", await _client.OpenAsync("oa-other", "provider")),
            ("DepositCapacity", "201", await _client.DepositAsync("oa-dep", "oa-prov", "1")),
            ("TransferCredits", "201", await _client.TransferAsync("oa-tr", "oa-prov", "oa-cons", "1",
                settlement: new { amount = "10.00", currency = "CNY", rail = "bank-transfer", paymentReference = "p-1" })),
            ("TransferAcrossPeriods", "201", await _client.PostAsync("/api/v1/period-transfers", new
            {
                transferId = "oa-pt", fromAccountId = "oa-cons", resourceClass = "gpu.h100",
                from = new { region = "beijing", period = "2026-11" }, to = new { region = "beijing", period = "2026-12" }, hours = "1",
            })),
            ("PlaceHold", "201", await _client.PostAsync("/api/v1/holds", new
            {
                holdId = "oa-hold", accountId = "oa-cons", resourceClass = "gpu.h100", region = "beijing", period = "2026-11", hours = "1",
                expiresAt = DateTimeOffset.UtcNow.AddHours(1).ToString("O"),
            })),
            ("CaptureHold", "200", await _client.PostAsync("/api/v1/holds/oa-hold/capture", null)),
            ("SetCreditLimit", "200", await _client.PutAsync("/api/v1/accounts/oa-cons/credit-limits/gpu.h100", new { hours = "2" })),
            ("GetAccount", "200", await _client.GetAsync("/api/v1/accounts/oa-cons")),
            ("SubmitBatch", "200", await _client.PostAsync("/api/v1/commands/batch", new
            {
                commands = new object[]
                {
                    new { type = "account", body = new { accountId = "oa-batch", ownerId = "o", kind = "consumer", displayName = "B" } },
                    new { type = "withdrawal", body = new { withdrawalId = "oa-wd", accountId = "oa-cons", resourceClass = "gpu.h100", region = "beijing", period = "2026-11", hours = "1" } },
                    new { type = "withdrawal", body = new { withdrawalId = "oa-wd-2" } },
                },
            })),
            ("DepositCapacity", "400", await _client.DepositAsync("oa-bad", "oa-prov", "0.0001")),
            ("DepositCapacity", "400", await _client.PostAsync("/api/v1/deposits", "{")),
            ("DepositCapacity", "404", await _client.DepositAsync("oa-dep-2", "oa-ghost", "1")),
            ("DepositCapacity", "409", await _client.DepositAsync("oa-dep", "oa-prov", "2")),
            ("WithdrawCredits", "422", await _client.WithdrawAsync("oa-wd-3", "oa-cons", "100")),
            ("GetBalances", "200", await _client.GetAsync($"/api/v1/accounts/oa-cons/balances?asOf={Uri.EscapeDataString(DateTimeOffset.UtcNow.ToString("O"))}")),
            ("GetBalances", "200", await _client.GetAsync("/api/v1/accounts/oa-cons/balances?version=1")),
            ("GetBalances", "200", await _client.GetAsync("/api/v1/accounts/oa-cons/balances?asOf=2000-01-01T00:00:00Z")),
            ("GetBalances", "400", await _client.GetAsync("/api/v1/accounts/oa-cons/balances?version=0")),
            ("GetBalances", "404", await _client.GetAsync("/api/v1/accounts/oa-ghost/balances")),
            ("GetAccountHistory", "200", await _client.GetAsync("/api/v1/accounts/oa-cons/history?limit=2")),
            ("GetAccountHistory", "200", await _client.GetAsync("/api/v1/accounts/oa-cons/history?afterVersion=1&limit=1000")),
            ("GetAccountHistory", "400", await _client.GetAsync("/api/v1/accounts/oa-cons/history?limit=1001")),
            ("GetHold", "200", await _client.GetAsync("/api/v1/holds/oa-hold")),
            ("GetHold", "404", await _client.GetAsync("/api/v1/holds/oa-ghost")),
            ("GetPool", "200", await _client.GetAsync("/api/v1/pools/gpu.h100/beijing/2026-11")),
            ("GetPool", "400", await _client.GetAsync("/api/v1/pools/gpu.h100/beijing/2026-13")),
            ("GetEvents", "200", await _client.GetAsync("/api/v1/events?afterSequence=0&limit=1000")),
            ("GetEvents", "400", await _client.GetAsync("/api/v1/events?limit=0")),
            ("VerifyLedger", "200", await _client.GetAsync("/api/v1/audit/verify")),
            ("GetOperation", "200", await _client.GetAsync("/api/v1/operations/oa-dep")),
            ("GetOperation", "404", await _client.GetAsync("/api/v1/operations/oa-ghost")),
            ("ListDeadLetters", "200", await _client.GetAsync("/api/v1/dead-letters")),
            ("ListDeadLetters", "400", await _client.GetAsync("/api/v1/dead-letters?limit=0")),
            ("ReplayDeadLetter", "404", await _client.PostAsync("/api/v1/dead-letters/999999/replay", null)),
            ("GetLiveness", "200", await _client.GetAsync("/health/live")),
            ("GetReadiness", "200", await _client.GetAsync("/health/ready")),
        };

        foreach (var (operationId, status, answer) in answers)
        {
            Assert.True(((int)answer.Status).ToString(System.Globalization.CultureInfo.InvariantCulture) == status, $"{operationId}: {answer.Text}");
            var response = Operation(document, operationId)["responses"]![status]!;
            var (mediaType, content) = response["content"]!.AsObject().Single();
            Assert.Equal(mediaType, answer.ContentType);
            var errors = new List<string>();
            Conform(document, content!["schema"]!, answer.Body!, $"{operationId} {status}", errors);
            Assert.True(errors.Count == 0, string.Join("\n", errors));
        }
    }

    internal static JsonNode Operation(JsonNode document, string operationId) =>
        document["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject().Select(o => o.Value!))
            .Single(o => (string?)o["operationId"] == operationId);

    /// <summary>Checks a value against a schema of the document: types, required properties, no undeclared property,
    /// enums and patterns; follows $ref, oneOf/anyOf, arrays and dictionaries.</summary>
    internal static void Conform(JsonNode document, JsonNode schema, JsonNode? value, string at, List<string> errors)
    {
        if (schema is JsonObject { Count: 0 })
        {
            return; // {} accepts any value (free-form JSON such as event data)
        }

        if (schema["$ref"] is { } reference)
        {
            Conform(document, document["components"]!["schemas"]![((string)reference!)["#/components/schemas/".Length..]]!, value, at, errors);
            return;
        }

        if ((schema["oneOf"] ?? schema["anyOf"]) is JsonArray alternatives)
        {
            var failures = alternatives.Select(a =>
            {
                var attempt = new List<string>();
                Conform(document, a!, value, at, attempt);
                return attempt;
            }).ToList();
            if (failures.All(f => f.Count > 0))
            {
                errors.Add($"{at}: matches none of the alternatives: {string.Join(" | ", failures.Select(f => f[0]))}");
            }

            return;
        }

        var types = schema["type"] switch
        {
            JsonArray many => many.Select(t => (string)t!).ToList(),
            JsonValue one => [(string)one!],
            _ => [],
        };
        var kind = value?.GetValueKind() switch
        {
            null or System.Text.Json.JsonValueKind.Null => "null",
            System.Text.Json.JsonValueKind.Object => "object",
            System.Text.Json.JsonValueKind.Array => "array",
            System.Text.Json.JsonValueKind.String => "string",
            System.Text.Json.JsonValueKind.Number => "integer",
            _ => "boolean",
        };
        if (types.Count > 0 && !types.Contains(kind) && !(kind == "integer" && types.Contains("number")))
        {
            errors.Add($"{at}: is {kind}, the document says {string.Join("|", types)}");
            return;
        }

        if (schema["enum"] is JsonArray allowed && !allowed.Any(a => JsonNode.DeepEquals(a, value)))
        {
            errors.Add($"{at}: {value?.ToJsonString()} is not one of {allowed.ToJsonString()}");
        }

        if (schema["pattern"] is { } pattern && kind == "string" && !System.Text.RegularExpressions.Regex.IsMatch((string)value!, (string)pattern!))
        {
            errors.Add($"{at}: \"{value}\" does not match {pattern}");
        }

        if (value is JsonObject obj)
        {
            var properties = schema["properties"]?.AsObject();
            foreach (var required in schema["required"]?.AsArray().Select(r => (string)r!) ?? [])
            {
                if (!obj.ContainsKey(required))
                {
                    errors.Add($"{at}: lacks required '{required}'");
                }
            }

            foreach (var (name, child) in obj)
            {
                var childSchema = properties?[name] ?? schema["additionalProperties"];
                if (childSchema is null)
                {
                    errors.Add($"{at}: '{name}' is not declared in the document");
                }
                else
                {
                    Conform(document, childSchema, child, $"{at}.{name}", errors);
                }
            }
        }
        else if (value is JsonArray array && schema["items"] is { } items)
        {
            for (var i = 0; i < array.Count; i++)
            {
                Conform(document, items, array[i], $"{at}[{i}]", errors);
            }
        }
    }
}
