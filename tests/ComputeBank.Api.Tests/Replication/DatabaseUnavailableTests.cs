using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ComputeBank.Api.Tests.Replication;

/// <summary>
/// While the primary fails over, a multi-host connection string finds no host: queries and commands answer 503
/// service_unavailable (retry), not 500 internal_error.
/// </summary>
public sealed class DatabaseUnavailableTests : IAsyncLifetime
{
    private readonly ApiFactory _factory = new()
    {
        // Nothing listens on ports 1 and 2: both "hosts" of the pair are down.
        ConnectionStringOverride = "Host=127.0.0.1:1,127.0.0.1:2;Username=x;Password=x;Database=x;Timeout=2;Target Session Attributes=primary",
    };

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _factory.DisposeAsync().AsTask();

    [Fact]
    public async Task AQuery_WithNoHostReachable_Answers503ServiceUnavailable()
    {
        using var response = await _factory.CreateClient().GetAsync(new Uri("/api/v1/accounts/someone", UriKind.Relative));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("service_unavailable", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }

    [Fact]
    public async Task ACommand_WithNoHostReachable_Answers503ServiceUnavailable()
    {
        using var response = await _factory.CreateClient().PostAsJsonAsync(new Uri("/api/v1/accounts", UriKind.Relative),
            new { accountId = "someone", ownerId = "someone", kind = "consumer" });

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("service_unavailable", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }
}
