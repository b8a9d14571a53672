using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ComputeBank.Api.Security;

namespace ComputeBank.Api.Tests.Security;

/// <summary>The secure host without the rate limiter, so the fuzzer measures the API rather than the limiter.</summary>
public sealed class FuzzApiFactory : SecureApiFactory
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["ComputeBank:RateLimiting:Enabled"] = "false",
    };
}

/// <summary>
/// Hostile input through the HTTP API: over 10,000 generated bodies (fixed seed) across every command endpoint, sent by
/// a few clients at once. Every answer is a 4xx problem+json or a 2xx (a mutation can leave a body valid, e.g. an SQL
/// string as a free-text reference); never a 5xx. Afterwards the host still answers, every event written belongs to an
/// accepted command, the postings of every resource class still sum to zero, and <c>audit verify</c> is clean.
/// </summary>
public sealed class HostileInputTests(FuzzApiFactory factory, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<FuzzApiFactory>
{
    private const int Seed = 20261124;
    private const int Bodies = 10_500;
    private const int Clients = 4;

    private static readonly string[] HostileStrings =
    [
        "'; DROP TABLE cb.events; --", "' OR '1'='1", "fz-acme' --", "1; SELECT pg_sleep(5); --", "$1", "%", "_%", "\\", "\\'",
        "\",\"hours\":\"999999999", "{\"$ne\":null}", "}]}", "<script>alert(1)</script>", "../../etc/passwd", "..%2F..%2Fhealth",
        "\u0000", "a\u0000b", "\ud800", "\udfff", "x\ud83dy", "\u202eevil", "\ufeff", "\u200b", "\U0001D56C\U0001D588", "\U0001F600",
        "", " ", "\t\r\n", new('a', 257), new('x', 10_000), "fz-acme", "open-account:x", "hold-x", "account-fz-p",
        "bank.capacity", "bank.consumption", "system", "NaN", "Infinity", "-Infinity", "1e400", "0x10", "\u0661\u0662", "12.5000",
        "-1", "0", "0.0001", "9999999999999999999999999999", "2026-13", "2026-00", "9999-12", "0000-01", "2026-11-01T00:00:00Z", "null", "true",
    ];

    private static readonly string[] HostileNumbers =
    [
        "1e400", "-1e400", "1e-400", "-0", "0", "-1", "0.0001", "123456789012345678901234567890", "1" + new string('0', 5000), "1.5e3",
        "9223372036854775807", "9223372036854775808", "-9223372036854775809", "1000000000.001", "1000000001", "0.001", "3.14159",
    ];

    private static readonly string[] WrongTypes = ["true", "false", "null", "[]", "{}", "[1,2,3]", "{\"a\":{\"b\":[]}}", "[null]", "[\"x\"]", "1"];

    private static readonly byte[][] InvalidUtf8 =
    [
        [0xC3, 0x28], [0xFF], [0xFE, 0xFF], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80], [0x80], [0xF0, 0x9F, 0x98],
    ];

    private sealed record Parties(string Owner, string Provider, string Consumer);

    private sealed record FuzzCase(int Number, string Method, string Path, string? Role, string? ContentType, byte[] Body, string Mutation);

    private sealed record Outcome(FuzzCase Case, int Status, string? ContentType, string Text);

    [Fact]
    public async Task TenThousandHostileBodies_AreAnswered4xxProblemOr2xx_NeverWriteWhenRefused_AndLeaveTheLedgerBalanced()
    {
        var parties = await SetUpAsync();
        var lastBefore = await factory.Database.ScalarAsync<long>("SELECT coalesce(max(seq_id), 0) FROM cb.events");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var templates = Templates(parties);
        var tokens = Roles.All.ToDictionary(r => r, r => factory.Token(r, parties.Owner), StringComparer.Ordinal);
        var outcomes = new ConcurrentBag<Outcome>();
        var http = factory.CreateClient();

        var bytesSent = 0L;
        await Parallel.ForEachAsync(Enumerable.Range(0, Bodies), new ParallelOptions { MaxDegreeOfParallelism = Clients }, async (n, ct) =>
        {
            // Each body comes from its own seeded generator: the same bodies whatever the order they are sent in.
            var fuzz = Generate(new Random(Seed + n), n, templates);
            Interlocked.Add(ref bytesSent, fuzz.Body.Length);
            using var request = new HttpRequestMessage(new HttpMethod(fuzz.Method), new Uri(fuzz.Path, UriKind.Relative));
            request.Content = new ByteArrayContent(fuzz.Body);
            if (fuzz.ContentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", fuzz.ContentType);
            }

            if (fuzz.Role is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens[fuzz.Role]);
            }

            using var response = await http.SendAsync(request, ct);
            outcomes.Add(new Outcome(fuzz with { Body = [] }, (int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync(ct)));
        });

        output.WriteLine($"{outcomes.Count} bodies ({bytesSent / 1024 / 1024} MiB) generated and answered in {clock.Elapsed.TotalSeconds:F1} s by {Clients} clients");
        output.WriteLine(string.Join(", ", outcomes.GroupBy(o => o.Status).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}")));
        output.WriteLine(string.Join(", ", outcomes.Where(o => o.Status >= 400).GroupBy(o => ProblemCode(o.Text)).OrderByDescending(g => g.Count()).Select(g => $"{g.Key}: {g.Count()}")));
        var bad = outcomes.Where(o => !IsAcceptableAnswer(o)).OrderBy(o => o.Case.Number).ToList();
        Assert.True(bad.Count == 0,
            $"{bad.Count} of {outcomes.Count} answers were not a 2xx or a 4xx problem+json:\n" +
            string.Join("\n", bad.Take(15).Select(o => $"#{o.Case.Number} {o.Case.Method} {o.Case.Path[..Math.Min(o.Case.Path.Length, 120)]} [{o.Case.Mutation}] -> {o.Status} {o.Text[..Math.Min(o.Text.Length, 300)]}")));
        Assert.Equal(Bodies, outcomes.Count);
        Assert.True(outcomes.Count(o => o.Status >= 400 || BatchAllFailed(o.Text)) > Bodies * 9 / 10, "most hostile bodies must be refused");

        var live = await http.GetAsync(new Uri("/health/live", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        var deposit = new { depositId = "after-fuzz", accountId = parties.Provider, resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours = "1" };
        (await factory.ClientAs(Roles.Provider, parties.Owner).PostAsync("/api/v1/deposits", deposit)).ShouldBe(HttpStatusCode.Created);

        var accepted = outcomes.Where(o => o.Status is >= 200 and < 300).SelectMany(o => OperationIds(o.Text)).Append("after-fuzz").ToHashSet(StringComparer.Ordinal);
        var writers = await WritersAfterAsync(lastBefore);
        Assert.DoesNotContain(writers, w => !accepted.Contains(w));
        var (postings, unbalanced) = await PostingTotalsAsync();
        Assert.True(postings > 0);
        Assert.Empty(unbalanced);
        var audit = await factory.ClientAs(Roles.Auditor, "").GetAsync("/api/v1/audit/verify");
        audit.ShouldBe(HttpStatusCode.OK);
        Assert.True((bool?)audit.Body!["ok"] == true, $"audit verify: {audit.Text[..Math.Min(audit.Text.Length, 2000)]}");
        Assert.True((long?)audit.Body["eventsChecked"] > 0);
    }

    private static bool IsAcceptableAnswer(Outcome outcome) => outcome.Status switch
    {
        >= 200 and < 300 => true,
        >= 400 and < 500 => outcome.ContentType == "application/problem+json" && ProblemCode(outcome.Text) is { Length: > 0 },
        _ => false,
    };

    private static bool BatchAllFailed(string text) =>
        JsonNode.Parse(text) is JsonObject { } batch && batch["results"] is JsonArray && (int?)batch["succeeded"] == 0;

    private static string? ProblemCode(string text)
    {
        try
        {
            return JsonNode.Parse(text) is JsonObject problem && problem["code"] is JsonValue code && code.TryGetValue<string>(out var value) ? value : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Operation ids of an accepted answer: a single result, or the accepted items of a batch.</summary>
    private static IEnumerable<string> OperationIds(string text)
    {
        var body = JsonNode.Parse(text)!.AsObject();
        var results = body["results"] is JsonArray items
            ? items.Where(i => (int)i!["status"]! is >= 200 and < 300).Select(i => i!["result"]!.AsObject())
            : [body];
        foreach (var result in results)
        {
            yield return (string?)result["operationId"] ?? "open-account:" + (string?)result["accountId"];
        }
    }

    private async Task<List<string>> WritersAfterAsync(long lastBefore)
    {
        await using var connection = await factory.Database.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT DISTINCT metadata->'headers'->>'operationId' FROM cb.events WHERE seq_id > $1", connection);
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = lastBefore });
        var writers = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            writers.Add(reader.GetString(0));
        }

        return writers;
    }

    /// <summary>How many postings there are, and every resource class whose postings over all events do not sum to zero.</summary>
    private async Task<(long Postings, List<string> Unbalanced)> PostingTotalsAsync()
    {
        await using var connection = await factory.Database.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            "SELECT p->'bucket'->>'resourceClass', count(*), sum((p->>'amount')::numeric) " +
            "FROM cb.events e CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(e.data->'postings') = 'array' THEN e.data->'postings' ELSE '[]'::jsonb END) p " +
            "GROUP BY 1", connection);
        var (postings, unbalanced) = (0L, new List<string>());
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            postings += reader.GetInt64(1);
            if (reader.GetDecimal(2) != 0)
            {
                unbalanced.Add($"{reader.GetString(0)}: {reader.GetDecimal(2)}");
            }
        }

        return (postings, unbalanced);
    }

    private async Task<Parties> SetUpAsync()
    {
        var parties = new Parties("fz-acme", "fz-p", "fz-c");
        var provider = factory.ClientAs(Roles.Provider, parties.Owner);
        (await provider.OpenAsync(parties.Provider, "provider", parties.Owner)).ShouldBe(HttpStatusCode.Created);
        (await factory.ClientAs(Roles.Consumer, parties.Owner).OpenAsync(parties.Consumer, "consumer", parties.Owner)).ShouldBe(HttpStatusCode.Created);
        (await provider.DepositAsync("fz-dep", parties.Provider, "100000")).ShouldBe(HttpStatusCode.Created);
        (await provider.TransferAsync("fz-fund", parties.Provider, parties.Consumer, "50000")).ShouldBe(HttpStatusCode.Created);
        return parties;
    }

    // ---- generation (deterministic for a seed) ----

    private sealed record Template(string Method, string Type, string Role, Func<Random, JsonObject> Body, Func<Random, string>? PathId = null, string PathFormat = "");

    private static List<Template> Templates(Parties p)
    {
        static string Id(Random rng, string prefix) => $"{prefix}-{rng.Next():x8}";
        JsonObject Bucket(JsonObject o)
        {
            o["resourceClass"] = "gpu.h100";
            o["region"] = "beijing";
            o["period"] = LedgerClient.Period;
            return o;
        }

        return
        [
            new("POST", "account", Roles.Consumer, rng => new JsonObject { ["accountId"] = Id(rng, "fz"), ["ownerId"] = p.Owner, ["kind"] = "consumer", ["displayName"] = "Fuzz" }),
            new("POST", "deposit", Roles.Provider, rng => Bucket(new JsonObject { ["depositId"] = Id(rng, "dep"), ["accountId"] = p.Provider, ["hours"] = "1", ["reference"] = "r" })),
            new("POST", "withdrawal", Roles.Consumer, rng => Bucket(new JsonObject { ["withdrawalId"] = Id(rng, "wd"), ["accountId"] = p.Consumer, ["hours"] = "0.5", ["jobReference"] = "j" })),
            new("POST", "transfer", Roles.Consumer, rng => Bucket(new JsonObject
            {
                ["transferId"] = Id(rng, "tr"), ["fromAccountId"] = p.Consumer, ["toAccountId"] = p.Provider, ["hours"] = "0.25",
                ["settlement"] = new JsonObject { ["amount"] = "1.00", ["currency"] = "CNY", ["rail"] = "e-cny", ["paymentReference"] = "pay" },
            })),
            new("POST", "period-transfer", Roles.Consumer, rng => new JsonObject
            {
                ["transferId"] = Id(rng, "pt"), ["fromAccountId"] = p.Consumer, ["resourceClass"] = "gpu.h100", ["hours"] = "0.5",
                ["from"] = new JsonObject { ["region"] = "beijing", ["period"] = LedgerClient.Period }, ["to"] = new JsonObject { ["region"] = "beijing", ["period"] = "2026-12" },
            }),
            new("POST", "hold", Roles.Consumer, rng => Bucket(new JsonObject
            {
                ["holdId"] = Id(rng, "h"), ["accountId"] = p.Consumer, ["hours"] = "0.5", ["expiresAt"] = "2099-01-01T00:00:00Z",
            })),
            new("POST", "hold-capture", Roles.Consumer, rng => new JsonObject { ["hours"] = "0.1" }, rng => Id(rng, "h"), "/api/v1/holds/{0}/capture"),
            new("POST", "hold-release", Roles.Consumer, rng => new JsonObject(), rng => Id(rng, "h"), "/api/v1/holds/{0}/release"),
            new("PUT", "credit-limit", Roles.Operator, rng => new JsonObject { ["hours"] = "5" }, rng => p.Consumer, "/api/v1/accounts/{0}/credit-limits/gpu.h100"),
            new("POST", "account-freeze", Roles.Operator, rng => new JsonObject(), rng => Id(rng, "fz"), "/api/v1/accounts/{0}/freeze"),
            new("POST", "account-close", Roles.Operator, rng => new JsonObject(), rng => Id(rng, "fz"), "/api/v1/accounts/{0}/close"),
            new("POST", "period-close", Roles.Operator, rng => new JsonObject { ["policy"] = "rollover", ["rolloverTo"] = "2040-02" }, rng => "2040-01", "/api/v1/periods/{0}/close"),
        ];
    }

    private static readonly Dictionary<string, string> Paths = new(StringComparer.Ordinal)
    {
        ["account"] = "/api/v1/accounts", ["deposit"] = "/api/v1/deposits", ["withdrawal"] = "/api/v1/withdrawals", ["transfer"] = "/api/v1/transfers",
        ["period-transfer"] = "/api/v1/period-transfers", ["hold"] = "/api/v1/holds",
    };

    private static FuzzCase Generate(Random rng, int n, List<Template> templates)
    {
        var template = templates[rng.Next(templates.Count)];
        var batch = rng.Next(8) == 0;
        var body = template.Body(rng);
        var pathId = template.PathId?.Invoke(rng);
        var mutation = new StringBuilder();
        var rounds = 1 + rng.Next(3);
        for (var r = 0; r < rounds; r++)
        {
            if (rng.Next(6) == 0 && pathId is not null)
            {
                pathId = HostileStrings[rng.Next(HostileStrings.Length)];
                mutation.Append("path-id;");
            }
            else
            {
                mutation.Append(MutateTree(rng, body)).Append(';');
            }
        }

        string path;
        JsonNode root = body;
        // A NUL in a path never reaches the app (servers refuse the request line; the test client throws), and a very
        // long one exceeds request-line limits: such ids are sent in a batch body instead.
        if (batch || pathId is not null && (pathId.Length > 2000 || pathId.Contains('\0', StringComparison.Ordinal)))
        {
            if (pathId is not null)
            {
                var idField = template.Type.StartsWith("hold", StringComparison.Ordinal) ? "holdId" : template.Type == "period-close" ? "period" : "accountId";
                body[idField] = pathId;
            }

            path = "/api/v1/commands/batch";
            var items = new JsonArray { new JsonObject { ["type"] = template.Type, ["body"] = body } };
            for (var extra = rng.Next(4); extra > 0; extra--)
            {
                var other = templates[rng.Next(templates.Count)];
                var otherBody = other.Body(rng);
                mutation.Append("batch:").Append(MutateTree(rng, otherBody)).Append(';');
                items.Add(new JsonObject { ["type"] = rng.Next(10) == 0 ? HostileStrings[rng.Next(HostileStrings.Length)] : other.Type, ["body"] = otherBody });
            }

            root = new JsonObject { ["atomic"] = rng.Next(2) == 0, ["commands"] = items };
            mutation.Append("batch;");
        }
        else
        {
            path = pathId is null ? Paths[template.Type] : string.Format(System.Globalization.CultureInfo.InvariantCulture, template.PathFormat, Uri.EscapeDataString(pathId));
        }

        var bytes = Encoding.UTF8.GetBytes(root.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, MaxDepth = 1024 }));
        var contentType = "application/json";
        if (rng.Next(3) == 0)
        {
            (bytes, var textMutation, contentType) = MutateBytes(rng, bytes, contentType);
            mutation.Append(textMutation);
        }

        var role = rng.Next(20) switch
        {
            0 => null,
            1 => Roles.All[rng.Next(Roles.All.Count)],
            _ => template.Role,
        };
        return new FuzzCase(n, batch ? "POST" : template.Method, path, role, contentType, bytes, mutation.ToString());
    }

    private static string MutateTree(Random rng, JsonObject body)
    {
        var keys = body.Select(p => p.Key).ToList();
        var key = keys.Count == 0 ? "hours" : keys[rng.Next(keys.Count)];
        switch (rng.Next(10))
        {
            case 0:
                body[key] = HostileStrings[rng.Next(HostileStrings.Length)];
                return $"string:{key}";
            case 1:
                body[key] = JsonNode.Parse(HostileNumbers[rng.Next(HostileNumbers.Length)]);
                return $"number:{key}";
            case 2:
                body[key] = JsonNode.Parse(WrongTypes[rng.Next(WrongTypes.Length)]);
                return $"type:{key}";
            case 3:
                body.Remove(key);
                return $"missing:{key}";
            case 4:
                foreach (var k in keys)
                {
                    body[k] = null;
                }

                return "nulls";
            case 5:
                JsonNode deep = new JsonArray();
                for (var depth = 8 + rng.Next(60); depth > 0; depth--)
                {
                    deep = rng.Next(2) == 0 ? new JsonArray(deep) : new JsonObject { ["a"] = deep };
                }

                body[key] = deep;
                return $"nesting:{key}";
            case 6:
                for (var extra = rng.Next(1, 300); extra > 0; extra--)
                {
                    body[$"x{extra}"] = extra;
                }

                return "unknown-fields";
            case 7:
                body[key] = new string((char)('a' + rng.Next(26)), rng.Next(20) == 0 ? 1 << 20 : 257 + rng.Next(4000));
                return $"long-string:{key}";
            case 8:
                if (body[key] is JsonObject nested)
                {
                    return "nested:" + MutateTree(rng, nested);
                }

                body[key] = new JsonObject { ["value"] = body[key]?.DeepClone(), ["$where"] = "1=1" };
                return $"object:{key}";
            default:
                body[HostileStrings[rng.Next(HostileStrings.Length)]] = HostileStrings[rng.Next(HostileStrings.Length)];
                return "hostile-key";
        }
    }

    private static (byte[] Bytes, string Mutation, string? ContentType) MutateBytes(Random rng, byte[] bytes, string contentType)
    {
        var text = bytes.ToList();
        switch (rng.Next(11))
        {
            case 0:
            {
                var quote = text.IndexOf((byte)'"', 1 + rng.Next(Math.Max(1, text.Count - 1)));
                text.InsertRange(quote < 0 ? text.Count / 2 : quote + 1, InvalidUtf8[rng.Next(InvalidUtf8.Length)]);
                return (text.ToArray(), "invalid-utf8", contentType);
            }

            case 1:
                var open = text.IndexOf((byte)'{');
                text.InsertRange(open + 1, Encoding.UTF8.GetBytes("\"accountId\":\"dup-1\",\"hours\":\"1\","));
                return (text.ToArray(), "duplicate-keys", contentType);
            case 2:
                return (text.Take(rng.Next(text.Count)).ToArray(), "truncated", contentType);
            case 3:
                var at = rng.Next(text.Count);
                text[at] = (byte)rng.Next(256);
                return (text.ToArray(), "flipped-byte", contentType);
            case 4:
                return (bytes, "no-content-type", rng.Next(2) == 0 ? null : "text/plain");
            case 5:
                return ([0xEF, 0xBB, 0xBF, .. bytes], "bom", contentType);
            case 6:
                return (Encoding.UTF8.GetBytes(WrongTypes[rng.Next(WrongTypes.Length)]), "top-level", contentType);
            case 7:
                var close = text.LastIndexOf((byte)'}');
                text.InsertRange(Math.Max(0, close), Encoding.UTF8.GetBytes(rng.Next(2) == 0 ? "," : "/* c */"));
                return (text.ToArray(), "trailing-comma-or-comment", contentType);
            case 8:
                var huge = new byte[(rng.Next(3) == 0 ? 1 << 20 : 70 * 1024) + rng.Next(1000)];
                Array.Fill(huge, (byte)'a');
                return ([.. Encoding.UTF8.GetBytes("{\"accountId\":\""), .. huge, .. Encoding.UTF8.GetBytes("\"}")], "1mb-string", contentType);
            case 9:
                var depth = 33 + rng.Next(5000);
                return ([.. Enumerable.Repeat((byte)'[', depth), .. Enumerable.Repeat((byte)']', depth)], "deep-array", contentType);
            default:
                return (bytes, "json-with-charset", "application/json; charset=latin1");
        }
    }
}
