using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ComputeBank.Api.Tests;

public sealed class HealthTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task Live_AnswersOk()
    {
        var response = await factory.CreateClient().GetAsync(new Uri("/health/live", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Ready_WithTheDatabaseUp_AnswersOkWithTheDatabaseCheck()
    {
        var response = await factory.CreateClient().GetAsync(new Uri("/health/ready", UriKind.Relative));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ready", body.GetProperty("status").GetString());
        Assert.Contains(body.GetProperty("checks").EnumerateArray(),
            c => c.GetProperty("name").GetString() == "database" && c.GetProperty("healthy").GetBoolean());
    }
}

public sealed class HealthWithoutDatabaseTests : IAsyncLifetime
{
    private readonly ApiFactory _factory = new()
    {
        // Nothing listens on port 1: the database is unreachable, so readiness must say so rather than throw.
        ConnectionStringOverride = "Host=127.0.0.1;Port=1;Username=x;Password=x;Database=x;Timeout=2",
    };

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _factory.DisposeAsync().AsTask();

    [Fact]
    public async Task Ready_WithTheDatabaseDown_Answers503AndNamesTheCheck()
    {
        var response = await _factory.CreateClient().GetAsync(new Uri("/health/ready", UriKind.Relative));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("not_ready", body.GetProperty("status").GetString());
        Assert.False(body.GetProperty("checks")[0].GetProperty("healthy").GetBoolean());
    }
}
