using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using ComputeBank.Api.Tests.Durable;
using ComputeBank.Testing;

namespace ComputeBank.Api.Tests.Observability;

/// <summary>One span tree per command, from the HTTP server span down to the store's append, and the trace written
/// into the events so an auditor can join an event to its trace.</summary>
public sealed class TracingTests(TelemetryApiFactory factory) : IClassFixture<TelemetryApiFactory>
{
    private const string AspNetCore = "Microsoft.AspNetCore";
    private readonly LedgerClient _client = new(factory.CreateClient());

    [Fact]
    public async Task GivenProviderAccount_WhenDepositing_ThenOneSpanTreeFromHttpThroughTheBusToTheAppend()
    {
        (await _client.OpenAsync("trace-provider", "provider")).ShouldBe(HttpStatusCode.Created);

        var (traceId, callerSpan) = await DepositTracedAsync("trace-deposit-1", "trace-provider");
        var spans = await WaitForServerSpanAsync(traceId);

        var server = Assert.Single(spans, s => s.Source.Name == AspNetCore);
        Assert.Equal(callerSpan, server.ParentSpanId);
        // Every command is a Wolverine message: Wolverine's span of it sits between the request and the bus.
        var wolverine = Assert.Single(spans, s => s.ParentSpanId == server.SpanId && s.Source.Name == "Wolverine");
        var handling = Assert.Single(spans, s => s.ParentSpanId == wolverine.SpanId && s.Source.Name == "ComputeBank.Messaging");
        var commit = Assert.Single(spans, s => s.ParentSpanId == handling.SpanId);
        var append = Assert.Single(spans, s => s.ParentSpanId == commit.SpanId && s.DisplayName == "append");
        Assert.Equal("deposit", handling.GetTagItem("computebank.command.type"));
        Assert.Equal("trace-deposit-1", handling.GetTagItem("messaging.message.id"));
        Assert.Contains(commit.Links, l => l.Context.SpanId == handling.SpanId);
        Assert.Equal("postgresql", append.GetTagItem("db.system"));
        // Npgsql's statement spans hang under the group commit and the append: the database work is in the same trace.
        Assert.Contains(spans, s => s.Source.Name == "Npgsql" && (s.ParentSpanId == append.SpanId || s.ParentSpanId == commit.SpanId));
        // Marten, which writes the events, traces its work inside the append too.
        Assert.Contains(spans, s => s.Source.Name == "Marten" && s.ParentSpanId == append.SpanId);

        Approvals.Verify(Render(server, spans));
    }

    [Fact]
    public async Task GivenProviderAccount_WhenDepositing_ThenItsEventsCarryTheTraceAsCorrelationAndTheServerSpanAsCausation()
    {
        (await _client.OpenAsync("corr-provider", "provider")).ShouldBe(HttpStatusCode.Created);

        var (traceId, _) = await DepositTracedAsync("corr-deposit-1", "corr-provider");
        var spans = await WaitForServerSpanAsync(traceId);
        var server = Assert.Single(spans, s => s.Source.Name == AspNetCore);

        await using var connection = await factory.Database.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            "SELECT metadata->>'correlationId', metadata->>'causationId' FROM cb.events WHERE metadata->'headers'->>'operationId' = 'corr-deposit-1'", connection);
        var rows = new List<(string? Correlation, string? Causation)>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                rows.Add((reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1)));
            }
        }

        Assert.NotEmpty(rows);
        Assert.All(rows, row =>
        {
            Assert.Equal(traceId.ToHexString(), row.Correlation);
            Assert.Equal(server.SpanId.ToHexString(), row.Causation);
        });
    }

    [Fact]
    public async Task GivenHoldComingDue_WhenWolverineRunsItsExpiry_ThenOneTraceFromWolverinesSpanThroughTheBusToTheAppend()
    {
        await _client.FundAsync("trace-hold-provider", "trace-hold-consumer", "10");
        var holdId = "trace-hold-" + Guid.NewGuid().ToString("N")[..8];
        (await _client.PostAsync("/api/v1/holds", new
        {
            holdId, accountId = "trace-hold-consumer", beneficiaryAccountId = "trace-hold-provider", resourceClass = "gpu.h100", region = "beijing",
            period = LedgerClient.Period, hours = "1",
            expiresAt = DateTimeOffset.UtcNow.AddSeconds(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        })).ShouldBe(HttpStatusCode.Created);

        var handling = await Eventually.WaitAsync(
            () => Task.FromResult(ExportedSpans().FirstOrDefault(s => s.Source.Name == "ComputeBank.Messaging" && (string?)s.GetTagItem("messaging.message.id") == "expire:" + holdId)),
            span => span is not null, "the expiry's handling span");
        var spans = await Eventually.WaitAsync(
            () => Task.FromResult(factory.SpansOf(handling!.TraceId)), all => all.Any(s => s.SpanId == handling!.ParentSpanId), "Wolverine's span to be exported");

        var wolverine = Assert.Single(spans, s => s.SpanId == handling!.ParentSpanId);
        Assert.Equal("Wolverine", wolverine.Source.Name);
        Assert.Equal("local://hold-expiry/", wolverine.GetTagItem("messaging.destination")?.ToString());
        Assert.Equal("hold-expire", handling!.GetTagItem("computebank.command.type"));
        var commit = Assert.Single(spans, s => s.ParentSpanId == handling.SpanId);
        var append = Assert.Single(spans, s => s.ParentSpanId == commit.SpanId && s.DisplayName == "append");
        Assert.Contains(spans, s => s.Source.Name == "Marten" && s.ParentSpanId == append.SpanId);
        Assert.Contains(spans, s => s.Source.Name == "Npgsql" && (s.ParentSpanId == append.SpanId || s.ParentSpanId == commit.SpanId));
    }

    private List<Activity> ExportedSpans()
    {
        lock (factory.Spans)
        {
            return [.. factory.Spans];
        }
    }

    /// <summary>Deposits with a W3C traceparent of our own, so the trace id is known before the request.</summary>
    private async Task<(ActivityTraceId TraceId, ActivitySpanId CallerSpan)> DepositTracedAsync(string depositId, string accountId)
    {
        var traceId = ActivityTraceId.CreateRandom();
        var callerSpan = ActivitySpanId.CreateRandom();
        var answer = await _client.PostAsync("/api/v1/deposits",
            new { depositId, accountId, resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours = "10" },
            new Dictionary<string, string> { ["traceparent"] = $"00-{traceId.ToHexString()}-{callerSpan.ToHexString()}-01" });
        answer.ShouldBe(HttpStatusCode.Created);
        return (traceId, callerSpan);
    }

    // The server span ends after the response is written, so it can be exported a moment after the client has its answer.
    private async Task<IReadOnlyList<Activity>> WaitForServerSpanAsync(ActivityTraceId traceId)
    {
        for (var i = 0; i < 100; i++)
        {
            var spans = factory.SpansOf(traceId);
            if (spans.Any(s => s.Source.Name == AspNetCore))
            {
                return spans;
            }

            await Task.Delay(50);
        }

        throw new Xunit.Sdk.XunitException($"No server span of trace {traceId} was exported.");
    }

    /// <summary>The tree of ComputeBank and ASP.NET Core spans, with the attributes that do not change between runs
    /// (ids of spans and traces become their role; Npgsql's statement spans are left out).</summary>
    private static JsonObject Render(Activity span, IReadOnlyList<Activity> all)
    {
        var tags = new JsonObject();
        foreach (var (key, value) in span.TagObjects.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            if (span.Source.Name == AspNetCore && key is not ("http.request.method" or "http.route" or "http.response.status_code" or "url.path"))
            {
                continue;
            }

            if (span.Source.Name == "Wolverine" && key == "messaging.conversation_id")
            {
                continue; // Differs per run.
            }

            tags[key] = value switch
            {
                string[] strings => new JsonArray([.. strings.Select(s => (JsonNode?)JsonValue.Create(s))]),
                int or long => JsonValue.Create(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)),
                _ => JsonValue.Create(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)),
            };
        }

        return new JsonObject
        {
            ["name"] = span.DisplayName,
            ["source"] = span.Source.Name,
            ["kind"] = span.Kind.ToString(),
            ["status"] = span.Status.ToString(),
            ["tags"] = tags,
            ["links"] = new JsonArray([.. span.Links.Select(l => (JsonNode?)new JsonObject
            {
                ["to"] = all.FirstOrDefault(s => s.SpanId == l.Context.SpanId)?.DisplayName ?? "another trace",
                ["messaging.message.id"] = l.Tags?.FirstOrDefault(t => t.Key == "messaging.message.id").Value?.ToString(),
            })]),
            ["children"] = new JsonArray([.. all
                .Where(s => s.ParentSpanId == span.SpanId && s.Source.Name != "Npgsql")
                .OrderBy(s => s.StartTimeUtc)
                .Select(s => (JsonNode?)Render(s, all))]),
        };
    }
}
