using ComputeBank.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace ComputeBank.Api.Tests;

/// <summary>The real API host on its own throwaway PostgreSQL database (one per test class).</summary>
public sealed class ApiFactory : WebApplicationFactory<Program>, IAsyncLifetime
{
    private readonly PostgresDatabase _database = new();

    public PostgresDatabase Database => _database;

    public string? ConnectionStringOverride { get; set; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("ConnectionStrings:ComputeBank", ConnectionStringOverride ?? _database.ConnectionString);

        // These tests are about the ledger, not about who may call it: they run without tokens, explicitly
        // (Security/SecureApiFactory runs the same host with authentication on).
        builder.UseSetting("ComputeBank:Auth:Enabled", "false");

        // Nor about how fast one caller may send: the concurrency tests send far more than the default 100 requests a second.
        builder.UseSetting("ComputeBank:RateLimiting:Enabled", "false");
    }

    public Task InitializeAsync() => _database.InitializeAsync();

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        await _database.DisposeAsync();
    }
}
