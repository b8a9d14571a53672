using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using ComputeBank.Api.Security;
using ComputeBank.Api.Tests.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace ComputeBank.Api.Tests.Observability;

/// <summary>GET /metrics in the Prometheus text format, after a command; serial like the other metrics tests, because
/// the bus's instruments are process-wide and the counter must move by exactly this test's command.</summary>
[Collection(SerialMetricsCollection.Name)]
public sealed partial class PrometheusEndpointTests(TelemetryApiFactory factory) : IClassFixture<TelemetryApiFactory>
{
    private readonly LedgerClient _client = new(factory.CreateClient());

    [Fact]
    public async Task GivenARejectedWithdrawal_WhenScraping_ThenTheCommandCountersHaveItInPrometheusText()
    {
        await _client.FundAsync("prom-provider", "prom-consumer", "5");
        var rejected = new[] { ("computebank_command_type", "withdrawal"), ("error_type", "insufficient_credits") };
        var handled = new[] { ("computebank_command_type", "withdrawal"), ("computebank_command_result", "rejected") };
        var before = await ScrapeAsync(_client.Http);

        (await _client.WithdrawAsync("prom-withdrawal-1", "prom-consumer", "6")).ShouldBeProblem(HttpStatusCode.UnprocessableEntity, "insufficient_credits");

        // The exporter caches a scrape for a moment; scrape until the counter moves (or give up after 10 s).
        var after = before;
        for (var deadline = DateTime.UtcNow.AddSeconds(10); DateTime.UtcNow < deadline && Value(after, "computebank_bus_commands_rejected_total", rejected) == Value(before, "computebank_bus_commands_rejected_total", rejected);)
        {
            await Task.Delay(100);
            after = await ScrapeAsync(_client.Http);
        }

        Assert.Equal(Value(before, "computebank_bus_commands_rejected_total", rejected) + 1, Value(after, "computebank_bus_commands_rejected_total", rejected));
        Assert.Equal(Value(before, "computebank_bus_commands_handled_total", handled) + 1, Value(after, "computebank_bus_commands_handled_total", handled));
        Assert.True(Value(after, "computebank_bus_command_duration_seconds_count", [("computebank_command_type", "withdrawal")]) >= 1, "the latency histogram counts the withdrawal");
        Assert.Contains("# TYPE computebank_bus_commands_handled_total counter", after, StringComparison.Ordinal);
        Assert.Contains("# TYPE computebank_bus_batch_size histogram", after, StringComparison.Ordinal);
        Assert.Contains("\ncomputebank_bus_queue_depth", after, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheMetricsEndpoint_IsNotInTheOpenApiDocument()
    {
        var document = await _client.Http.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative));

        Assert.Contains("/api/v1/deposits", document, StringComparison.Ordinal);
        Assert.DoesNotContain("\"/metrics\"", document, StringComparison.Ordinal);
    }

    internal static async Task<string> ScrapeAsync(HttpClient http)
    {
        using var response = await http.GetAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The sum of the samples of <paramref name="name"/> whose labels include <paramref name="labels"/>.</summary>
    private static double Value(string exposition, string name, (string Key, string Value)[] labels)
    {
        var sum = 0.0;
        foreach (var line in exposition.Split('\n'))
        {
            var match = Sample().Match(line);
            if (!match.Success || match.Groups["name"].Value != name)
            {
                continue;
            }

            var found = Label().Matches(match.Groups["labels"].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.Ordinal);
            if (labels.All(l => found.TryGetValue(l.Key, out var value) && value == l.Value))
            {
                sum += double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)( \d+)?$")]
    private static partial Regex Sample();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex Label();
}

/// <summary>Who may scrape /metrics with authentication on: anyone on loopback without a proxy's header, otherwise an
/// operator. The peer address is set per request from a test header (no traffic leaves the test server).</summary>
public sealed class MetricsAccessTests(MetricsAccessTests.Factory factory) : IClassFixture<MetricsAccessTests.Factory>
{
    private const string PeerHeader = "X-Test-Peer";

    [Theory]
    [InlineData("127.0.0.1", null, null, HttpStatusCode.OK)]
    [InlineData("::1", null, null, HttpStatusCode.OK)]
    [InlineData("192.0.2.10", null, null, HttpStatusCode.Unauthorized)]
    [InlineData("127.0.0.1", "X-Forwarded-For", null, HttpStatusCode.Unauthorized)]
    [InlineData("127.0.0.1", "Forwarded", null, HttpStatusCode.Unauthorized)]
    [InlineData("192.0.2.10", null, Roles.Auditor, HttpStatusCode.Forbidden)]
    [InlineData("192.0.2.10", null, Roles.Provider, HttpStatusCode.Forbidden)]
    [InlineData("192.0.2.10", "X-Forwarded-For", Roles.Operator, HttpStatusCode.OK)]
    public async Task Scraping_IsForLoopbackCallersAndOperators(string peer, string? proxyHeader, string? role, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/metrics", UriKind.Relative));
        request.Headers.Add(PeerHeader, peer);
        if (proxyHeader is not null)
        {
            request.Headers.Add(proxyHeader, proxyHeader == "Forwarded" ? "for=198.51.100.7" : "198.51.100.7");
        }

        if (role is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", factory.Token(role, "bank"));
        }

        using var response = await factory.CreateClient().SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.OK)
        {
            Assert.Contains("# TYPE", body, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(expected == HttpStatusCode.Unauthorized ? "\"unauthenticated\"" : "\"forbidden\"", body, StringComparison.Ordinal);
            Assert.DoesNotContain("computebank_bus", body, StringComparison.Ordinal);
        }
    }

    public sealed class Factory : SecureApiFactory
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.ConfigureTestServices(services => services.AddSingleton<IStartupFilter, PeerFromHeader>());
        }
    }

    private sealed class PeerFromHeader : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                context.Connection.RemoteIpAddress = IPAddress.Parse(context.Request.Headers[PeerHeader].ToString());
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
