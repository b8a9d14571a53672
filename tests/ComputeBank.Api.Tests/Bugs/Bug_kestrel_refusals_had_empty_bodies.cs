using System.IO.Pipelines;
using System.Text;
using System.Text.RegularExpressions;
using ComputeBank.Api.Http;
using ComputeBank.Api.Tests.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace ComputeBank.Api.Tests.Bugs;

/// <summary>
/// The requests Kestrel refuses while it parses the request head were answered with an empty body, unlike every other
/// error: a NUL byte in the path (raw or %00) 400, a request line over MaxRequestLineSize 414, headers over the header
/// limits 431, a head that arrives too slowly 408, all with <c>Content-Length: 0</c> and not logged above Debug. Kestrel
/// writes them before any middleware runs; a connection middleware now gives them a problem+json body with a
/// <c>code</c>, and leaves every other byte of a connection as it was. Over raw sockets against a real Kestrel.
/// </summary>
public sealed partial class Bug_kestrel_refusals_had_empty_bodies(Bug_kestrel_refusals_had_empty_bodies.Host host)
    : IClassFixture<Bug_kestrel_refusals_had_empty_bodies.Host>
{
    private static readonly Dictionary<string, (string Head, int Status, string Code)> Refusals = new(StringComparer.Ordinal)
    {
        ["raw NUL in the path"] = ("GET /api/v1/accounts/a\0b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400, "malformed_request"),
        ["%00 in the path"] = ("GET /api/v1/accounts/a%00b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400, "malformed_request"),
        ["no Host header"] = ("GET /health/live HTTP/1.1\r\n\r\n", 400, "malformed_request"),
        ["request line over 8 KiB"] = ($"GET /api/v1/accounts/{new string('a', 9000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414, "uri_too_long"),
        ["headers over 32 KiB"] = ($"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: {new string('a', 40_000)}\r\n\r\n", 431, "request_headers_too_large"),
        ["more than 100 headers"] = ("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
            string.Concat(Enumerable.Range(0, 120).Select(i => $"X-Header-{i}: {i}\r\n")) + "\r\n", 431, "request_headers_too_large"),
    };

    public static TheoryData<string> RefusalNames => [.. Refusals.Keys];

    [Theory]
    [MemberData(nameof(RefusalNames))]
    public async Task Bug_a_refused_request_head_had_an_empty_body(string name)
    {
        var (head, status, code) = Refusals[name];
        var logged = RefusalLogs(status, code);

        var exchange = await RawHttp.ExchangeAsync(host.Api.Port, Encoding.Latin1.GetBytes(head), 1, untilClosed: true);

        AssertRefusal(exchange, status, code);
        Assert.Equal(logged + 1, RefusalLogs(status, code));
    }

    [Fact]
    public async Task Bug_a_request_head_that_stalls_had_an_empty_408()
    {
        var logged = RefusalLogs(408, "request_timeout");

        // The head stops before its empty line; the host's RequestHeadersTimeout is 1 s.
        var exchange = await RawHttp.ExchangeAsync(host.Api.Port, "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n"u8.ToArray(), 1, untilClosed: true);

        AssertRefusal(exchange, 408, "request_timeout");
        Assert.Equal(logged + 1, RefusalLogs(408, "request_timeout"));
    }

    [Fact]
    public async Task A_refusal_after_answers_on_a_keep_alive_connection_has_its_problem_and_the_answers_are_untouched()
    {
        var requests = Encoding.Latin1.GetBytes(
            "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" +
            "POST /api/v1/deposits HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}" +
            "GET /api/v1/accounts/a%00b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");

        var exchange = await RawHttp.ExchangeAsync(host.Api.Port, requests, 3, untilClosed: true);
        var plain = await RawHttp.ExchangeAsync(host.Plain.Port, requests, 3, untilClosed: true);

        Assert.Equal(200, exchange.Responses[0].Status);
        exchange.Responses[1].ShouldBeProblem(400, "validation_failed");
        AssertRefusal(exchange, 400, "malformed_request");
        // The answers before the refusal are what Kestrel sends without the middleware, byte for byte (but the Date);
        // there the refusal is the old empty 400.
        Assert.Equal(WithoutDates([.. plain.Raw[0], .. plain.Raw[1]]), WithoutDates([.. exchange.Raw[0], .. exchange.Raw[1]]));
        Assert.Equal((400, "0", ""), (plain.Responses[2].Status, plain.Responses[2].Headers["Content-Length"].Single(), plain.Responses[2].Body));
    }

    [Fact]
    public async Task Answers_on_a_keep_alive_connection_are_byte_identical_to_Kestrel_without_the_middleware()
    {
        // A small JSON answer, a large one written in many segments and flushes, the app's own 400 problem, and again.
        var requests = Encoding.Latin1.GetBytes(
            "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" +
            "GET /openapi/v1.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" +
            "POST /api/v1/deposits HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}" +
            "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");

        var exchange = await RawHttp.ExchangeAsync(host.Api.Port, requests, 4);
        var plain = await RawHttp.ExchangeAsync(host.Plain.Port, requests, 4);

        Assert.Equal([200, 200, 400, 200], exchange.Responses.Select(r => r.Status));
        exchange.Responses[2].ShouldBeProblem(400, "validation_failed");
        Assert.True(exchange.Bytes.Length > 16_384, $"The OpenAPI answer should span several segments; all answers were {exchange.Bytes.Length} bytes");
        // Status lines, headers (but the Date) and bodies as sent; the sizes of the chunks a large answer is cut into
        // depend on when Kestrel's output flushes, so the chunked body is compared after decoding.
        Assert.Equal(Answers(plain), Answers(exchange));
    }

    private static string[] Answers(RawExchange exchange) =>
        [.. exchange.Responses.Select(r =>
            $"{r.Status}\n{string.Join("\n", r.Headers.Where(h => h.Key != "Date").SelectMany(h => h.Select(v => $"{h.Key}: {v}")))}\n\n{r.Body}")];

    [Fact]
    public async Task A_connection_that_sends_nothing_is_closed_without_an_answer()
    {
        // KeepAliveTimeout (1 s on this host) closes it; the middleware invents nothing.
        var exchange = await RawHttp.ExchangeAsync(host.Api.Port, [], 0, untilClosed: true);

        Assert.Empty(exchange.Bytes);
        Assert.Empty(exchange.Trailing!);
    }

    private const string RefusalHead = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\nDate: Sat, 05 Dec 2026 13:04:43 GMT\r\n\r\n";

    /// <summary>Writes that look like a refusal head but are not all of one, each the first write after a flush.</summary>
    public static TheoryData<string, string> NearMisses => new()
    {
        // Kestrel's own bodiless 400 on a keep-alive answer (an app that sets only the status; this one never does).
        { "keep-alive", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nDate: Sat, 05 Dec 2026 13:04:43 GMT\r\n\r\n" },
        { "another status", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\nDate: Sat, 05 Dec 2026 13:04:43 GMT\r\n\r\n" },
        { "status 4000", "HTTP/1.1 4000 X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" },
        { "a body after the head", RefusalHead + "{}" },
        { "another header", "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" },
        { "a length", "HTTP/1.1 400 Bad Request\r\nContent-Length: 00\r\nConnection: close\r\n\r\n" },
        { "no empty line", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n" },
        { "no headers", "HTTP/1.1 400 Bad Request\r\n\r\n" },
        { "HTTP/1.0", "HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" },
    };

    [Theory]
    [MemberData(nameof(NearMisses))]
    public async Task A_write_that_is_not_all_of_a_refusal_head_passes_untouched(string name, string write)
    {
        var (output, refused) = await ThroughTheMiddlewareAsync([write]);

        Assert.True(Encoding.Latin1.GetString(output) == write, name);
        Assert.Empty(refused);
    }

    [Fact]
    public async Task Only_the_first_write_after_a_flush_can_be_a_refusal_head()
    {
        var (output, refused) = await ThroughTheMiddlewareAsync(["HTTP/1.1 200 OK\r\n", RefusalHead, null, RefusalHead]);

        // The second refusal head follows a flush: it is rewritten, its Connection and Date lines kept.
        var problem = KestrelRefusals.Problems(new KestrelServerLimits())[431];
        Assert.Equal(
            "HTTP/1.1 200 OK\r\n" + RefusalHead +
            "HTTP/1.1 431 Request Header Fields Too Large\r\n" + Encoding.Latin1.GetString(problem.Headers) +
            "\r\nConnection: close\r\nDate: Sat, 05 Dec 2026 13:04:43 GMT\r\n\r\n" + Encoding.UTF8.GetString(problem.Body),
            Encoding.Latin1.GetString(output));
        Assert.Equal([431], refused);
    }

    /// <summary>Writes each of <paramref name="writes"/> (null: a flush) through the middleware's writer, as Kestrel
    /// does (GetSpan, Advance), flushing once at the start; returns the bytes that came out and the refusals reported.</summary>
    private static async Task<(byte[] Output, List<int> Refused)> ThroughTheMiddlewareAsync(string?[] writes)
    {
        var pipe = new Pipe();
        var refused = new List<int>();
        var writer = new RefusalProblemWriter(pipe.Writer, KestrelRefusals.Problems(new KestrelServerLimits()), refused.Add);
        await writer.FlushAsync();
        foreach (var write in writes)
        {
            if (write is null)
            {
                await writer.FlushAsync();
                continue;
            }

            var bytes = Encoding.Latin1.GetBytes(write);
            bytes.CopyTo(writer.GetSpan(bytes.Length));
            writer.Advance(bytes.Length);
        }

        await writer.FlushAsync();
        await writer.CompleteAsync();
        using var output = new MemoryStream();
        await pipe.Reader.CopyToAsync(output);
        return (output.ToArray(), refused);
    }

    private int RefusalLogs(int status, string code) =>
        host.Api.Logs.Count(l => l.EventId == 3002 && l.Level == LogLevel.Information && l.Message.Contains($"with {status} {code}", StringComparison.Ordinal));

    private void AssertRefusal(RawExchange exchange, int status, string code)
    {
        var response = exchange.Responses[^1];
        var problem = response.ShouldBeProblem(status, code);
        Assert.Equal($"https://computebank.dev/problems/{code.Replace('_', '-')}", (string?)problem["type"]);
        Assert.Equal("close", response.Headers["Connection"].Single());
        Assert.Single(response.Headers["Date"]);
        Assert.Equal("nosniff", response.Headers["X-Content-Type-Options"].Single());
        Assert.Equal(Encoding.UTF8.GetByteCount(response.Body), int.Parse(response.Headers["Content-Length"].Single(), System.Globalization.CultureInfo.InvariantCulture));
        // Kestrel closes the connection after the body, with nothing after it.
        Assert.Empty(exchange.Trailing!);
        // Every error but the start's own warning that this test host runs without authentication (9001).
        Assert.Empty(host.Api.Logs.Where(l => l.Level >= LogLevel.Error && l.EventId != 9001).Select(l => $"{l.Level} {l.Category} [{l.EventId}] {l.Message}"));
    }

    private static string WithoutDates(byte[] bytes) => DateHeader().Replace(Encoding.Latin1.GetString(bytes), "Date: (scrubbed)\r\n");

    [GeneratedRegex("Date: [^\r]*\r\n")]
    private static partial Regex DateHeader();

    /// <summary>The API on Kestrel with its refusal middleware and short timeouts (a stalled head is refused after 1 s),
    /// and the same API on a Kestrel without the middleware, to compare bytes with.</summary>
    public sealed class Host : IAsyncLifetime
    {
        public KestrelApi Api { get; } = KestrelApi.With(limits =>
        {
            limits.RequestHeadersTimeout = TimeSpan.FromSeconds(1);
            limits.KeepAliveTimeout = TimeSpan.FromSeconds(1);
        });

        /// <summary>The endpoint defaults are where the API adds its connection middleware; this host replaces them.</summary>
        public KestrelApi Plain { get; } = KestrelApi.WithKestrel(kestrel => kestrel.ConfigureEndpointDefaults(_ => { }));

        public Task InitializeAsync() => Task.WhenAll(Api.InitializeAsync(), Plain.InitializeAsync());

        public async Task DisposeAsync()
        {
            await Api.DisposeAsync();
            await Plain.DisposeAsync();
        }
    }
}
