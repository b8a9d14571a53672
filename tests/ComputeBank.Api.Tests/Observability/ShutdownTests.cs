using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ComputeBank.Api.Health;
using ComputeBank.Api.Hosting;
using ComputeBank.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ComputeBank.Api.Tests.Observability;

/// <summary>Graceful shutdown on a real Kestrel server: new commands are refused once stopping, commands already taken
/// finish, and what was acknowledged is exactly what was committed.</summary>
public sealed class ShutdownTests : IAsyncLifetime
{
    private readonly PostgresDatabase _database = new();

    public Task InitializeAsync() => _database.InitializeAsync();

    public Task DisposeAsync() => _database.DisposeAsync();

    [Fact]
    public async Task GivenABurstOfDeposits_WhenTheHostStops_ThenEveryAcknowledgedDepositIsCommittedAndNoneHalfDone()
    {
        const int Deposits = 400;
        const int StopAfter = 60;
        var app = BuildApp();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 16 }) { BaseAddress = new Uri(address) };
        (await PostAsync(http, "/api/v1/accounts", new { accountId = "burst-provider", ownerId = "acme", kind = "provider" })).EnsureSuccessStatusCode();

        var answered = 0;
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var outcomes = await Task.WhenAll(Enumerable.Range(0, Deposits).Select(async i =>
        {
            var id = $"burst-{i:D4}";
            string outcome;
            try
            {
                using var response = await PostAsync(http, "/api/v1/deposits",
                    new { depositId = id, accountId = "burst-provider", resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours = "1" });
                var body = await response.Content.ReadAsStringAsync();
                outcome = response.IsSuccessStatusCode ? "acknowledged"
                    : response.StatusCode == HttpStatusCode.ServiceUnavailable && body.Contains("\"shutting_down\"", StringComparison.Ordinal) ? "refused"
                    : $"unexpected {(int)response.StatusCode} {body}";
            }
            catch (HttpRequestException)
            {
                outcome = "unanswered";
            }

            if (Interlocked.Increment(ref answered) == StopAfter)
            {
                stopping.TrySetResult();
            }

            return (Id: id, Outcome: outcome);
        }).Append(StopWhenAsync(stopping.Task, app)));

        var results = outcomes.Where(o => o.Id.Length > 0).ToList();
        Assert.DoesNotContain(results, r => r.Outcome.StartsWith("unexpected", StringComparison.Ordinal));
        var acknowledged = results.Where(r => r.Outcome == "acknowledged").Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        var refused = results.Where(r => r.Outcome == "refused").Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        Assert.True(acknowledged.Count >= StopAfter - 1, $"only {acknowledged.Count} acknowledged before the stop");

        var operations = await IdsAsync("SELECT operation_id FROM cb.operations WHERE operation_id LIKE 'burst-%' AND status = 201");
        var withEvents = await IdsAsync("SELECT DISTINCT metadata->'headers'->>'operationId' FROM cb.events WHERE metadata->'headers'->>'operationId' LIKE 'burst-%'");
        Assert.Subset(operations.ToHashSet(StringComparer.Ordinal), acknowledged);
        // None half-done: an operation is recorded if and only if its events are written.
        Assert.Equal(operations.Order(StringComparer.Ordinal), withEvents.Order(StringComparer.Ordinal));
        Assert.Empty(refused.Intersect(operations));
        var committedHours = await _database.ScalarAsync<long>(
            "SELECT count(*) FROM cb.events WHERE type LIKE '%CapacityDeposited' AND metadata->'headers'->>'operationId' LIKE 'burst-%'");
        Assert.Equal(operations.Count, committedHours);
        await app.DisposeAsync();
    }

    [Fact]
    public async Task GivenARunningHost_WhenStopping_ThenCommandsAre503ShuttingDownReadsStillAnswerAndReadinessFails()
    {
        var app = BuildApp();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        (await PostAsync(http, "/api/v1/accounts", new { accountId = "gate-provider", ownerId = "acme", kind = "provider" })).EnsureSuccessStatusCode();

        // Signal the stop without running it, so the gate can be observed while the server still answers.
        app.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        using var refused = await PostAsync(http, "/api/v1/deposits",
            new { depositId = "gate-deposit", accountId = "gate-provider", resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours = "1" });
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        using var read = await http.GetAsync(new Uri("/api/v1/accounts/gate-provider", UriKind.Relative));
        using var ready = await http.GetAsync(new Uri("/health/ready", UriKind.Relative));
        var readiness = await ready.Content.ReadFromJsonAsync<HealthReport>(JsonSerializerOptions.Web);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal("shutting_down", problem.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains(readiness!.Checks, c => c.Name == "accepting_commands" && !c.Healthy);
        Assert.Equal(0, await _database.ScalarAsync<long>("SELECT count(*) FROM cb.operations WHERE operation_id = 'gate-deposit'"));
        await app.StopAsync();
        await app.DisposeAsync();
    }

    private static async Task<(string Id, string Outcome)> StopWhenAsync(Task signal, WebApplication app)
    {
        await signal;
        await app.StopAsync();
        return ("", "stopped");
    }

    private WebApplication BuildApp()
    {
        // The same composition as Program.cs, on Kestrel at a free loopback port (the test server does not drain).
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration["ConnectionStrings:ComputeBank"] = _database.ConnectionString;
        builder.Configuration["ComputeBank:Auth:Enabled"] = "false";
        builder.Configuration["ComputeBank:Operations:ShutdownTimeout"] = "00:00:30";
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddComputeBank();
        var app = builder.Build();
        app.UseComputeBank();
        app.MapHealth();
        return app;
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient http, string path, object body) =>
        http.PostAsJsonAsync(new Uri(path, UriKind.Relative), body);

    private async Task<List<string>> IdsAsync(string sql)
    {
        await using var connection = await _database.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<string>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }
}
