using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ComputeBank.Api.Health;
using ComputeBank.EventStore;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace ComputeBank.Api.Tests.Observability;

/// <summary>Readiness includes the projection daemon when one runs: a projection stuck behind the feed for longer than
/// the threshold makes the node not ready; a caught-up one does not. The lag gauges read the same tables.</summary>
public sealed class ReadinessTests(TelemetryApiFactory factory) : IClassFixture<TelemetryApiFactory>
{
    [Fact]
    public async Task GivenAProjectionThatFailsEveryPage_WhenEventsWaitBeyondTheThreshold_ThenReadinessNamesTheStalledProjection()
    {
        await using var host = WithDaemon(new Projection("stuck-projection", fail: true), "00:00:00");
        var daemon = host.Services.GetRequiredService<ProjectionDaemon>();
        var client = new LedgerClient(host.CreateClient());
        (await client.OpenAsync("stall-provider", "provider")).ShouldBe(HttpStatusCode.Created);

        var (status, report) = await ReadyAsync(host);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        var check = Assert.Single(report.Checks, c => c.Name == "daemon");
        Assert.False(check.Healthy);
        Assert.Contains("stuck-projection", check.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAWorkingProjection_WhenItHasCaughtUp_ThenTheNodeIsReadyAndTheLagGaugeIsZero()
    {
        await using var host = WithDaemon(new Projection("working-projection", fail: false), "00:01:00");
        var daemon = host.Services.GetRequiredService<ProjectionDaemon>();
        var client = new LedgerClient(host.CreateClient());
        (await client.OpenAsync("caught-up-provider", "provider")).ShouldBe(HttpStatusCode.Created);

        for (var i = 0; i < 200 && (await daemon.ReadLagAsync(CancellationToken.None)).Any(l => l.Events > 0); i++)
        {
            await Task.Delay(50);
        }

        var (status, report) = await ReadyAsync(host);
        var lag = Assert.Single(await daemon.ReadLagAsync(CancellationToken.None));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains(report.Checks, c => c.Name == "daemon" && c.Healthy);
        Assert.Equal(0, lag.Events);
        Assert.True(lag.HighWater > 0);
        Assert.Equal(TimeSpan.Zero, lag.Age);
    }

    private WebApplicationFactory<Program> WithDaemon(IAsyncProjection projection, string threshold) =>
        factory.WithWebHostBuilder(builder =>
        {
            builder.UseSetting("ComputeBank:Operations:DaemonStallThreshold", threshold);
            builder.ConfigureTestServices(services => services.AddSingleton(sp => new ProjectionDaemon(
                sp.GetRequiredService<MartenEventStore>(), [projection],
                new ProjectionDaemonOptions { PollInterval = TimeSpan.FromMilliseconds(20), LeadershipRetry = TimeSpan.FromMilliseconds(50) })));
        });

    private static async Task<(HttpStatusCode Status, HealthReport Report)> ReadyAsync(WebApplicationFactory<Program> host)
    {
        using var response = await host.CreateClient().GetAsync(new Uri("/health/ready", UriKind.Relative));
        return (response.StatusCode, (await response.Content.ReadFromJsonAsync<HealthReport>(JsonSerializerOptions.Web))!);
    }

    private sealed class Projection(string name, bool fail) : IAsyncProjection
    {
        public string Name => name;

        public Task ApplyAsync(NpgsqlConnection c, NpgsqlTransaction tx, IReadOnlyList<ProjectedEvent> page, CancellationToken ct) =>
            fail ? throw new InvalidOperationException("This projection cannot apply events.") : Task.CompletedTask;

        public Task ResetAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct) => Task.CompletedTask;
    }
}
