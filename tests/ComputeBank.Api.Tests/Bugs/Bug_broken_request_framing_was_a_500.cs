using System.Text;
using ComputeBank.Api.Tests.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace ComputeBank.Api.Tests.Bugs;

/// <summary>
/// A chunked body with an invalid chunk, or a Content-Length body that stalls, was answered 500 <c>internal_error</c> on
/// every POST route and logged as an error of the service: Kestrel's BadHttpRequestException (thrown while the body is
/// read) reached the exception handler. It is the client's fault: 400 <c>malformed_request</c> or 408
/// <c>request_timeout</c>, logged at Information. Over raw sockets against a real Kestrel.
/// </summary>
public sealed class Bug_broken_request_framing_was_a_500(Bug_broken_request_framing_was_a_500.Host host) : IClassFixture<Bug_broken_request_framing_was_a_500.Host>
{
    public static TheoryData<string> PostRoutes => ["/api/v1/withdrawals", "/api/v1/accounts", "/api/v1/commands", "/api/v1/periods/2026-05/close"];

    [Theory]
    [MemberData(nameof(PostRoutes))]
    public async Task Bug_an_invalid_chunk_was_a_500(string path)
    {
        var response = await RawHttp.SendAsync(host.Api.Port,
            $"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            Encoding.ASCII.GetBytes("5\r\n{\"a\":\r\nzz\r\n1}\r\n0\r\n\r\n"));

        response.ShouldBeProblem(400, "malformed_request");
        AssertLoggedAsTheClientsFault(path, 400);
    }

    [Theory]
    [MemberData(nameof(PostRoutes))]
    public async Task Bug_a_body_that_stalls_was_a_500(string path)
    {
        var response = await RawHttp.SendAsync(host.Api.Port,
            $"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n",
            Encoding.ASCII.GetBytes("{\"accountId\": \"stalled\","));

        response.ShouldBeProblem(408, "request_timeout");
        AssertLoggedAsTheClientsFault(path, 408);
    }

    private void AssertLoggedAsTheClientsFault(string path, int status)
    {
        // Every error but the start's own warning that this test host runs without authentication (9001).
        var logs = host.Api.Logs.Where(l => l.EventId != 9001).ToList();
        Assert.Empty(logs.Where(l => l.Level >= LogLevel.Error).Select(l => $"{l.Level} {l.Category} [{l.EventId}] {l.Message}"));
        Assert.Contains(logs, l => l.EventId == 3001 && l.Level == LogLevel.Information
            && l.Message.Contains(path, StringComparison.Ordinal) && l.Message.Contains($"with {status}", StringComparison.Ordinal));
    }

    /// <summary>The API on Kestrel with the default minimum body data rate (240 bytes/s) after a 2 s grace period
    /// (5 s by default), so that a stalled body times out quickly.</summary>
    public sealed class Host : IAsyncLifetime
    {
        public KestrelApi Api { get; } = KestrelApi.With(limits => limits.MinRequestBodyDataRate = new MinDataRate(240, TimeSpan.FromSeconds(2)));

        public Task InitializeAsync() => Api.InitializeAsync();

        public Task DisposeAsync() => Api.DisposeAsync();
    }
}
