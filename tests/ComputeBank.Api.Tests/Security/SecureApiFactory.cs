using System.Net.Http.Headers;
using System.Security.Cryptography;
using ComputeBank.Api.Security;
using ComputeBank.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Npgsql;

namespace ComputeBank.Api.Tests.Security;

/// <summary>The real API host with authentication on (as in production), signing tokens with a key made for this
/// run only, on its own throwaway database.</summary>
public class SecureApiFactory : WebApplicationFactory<Program>, IAsyncLifetime
{
    private readonly PostgresDatabase _database = new();

    /// <summary>The HS256 key the host trusts: random per factory, so no key lives in the repository.</summary>
    public byte[] SigningKey { get; } = RandomNumberGenerator.GetBytes(32);

    public PostgresDatabase Database => _database;

    /// <summary>Settings on top of the defaults (a subclass tightens the rate limit, the fuzzer switches it off).</summary>
    protected virtual IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>A token of this host for a role and owner.</summary>
    public string Token(string role, string owner, TimeSpan? lifetime = null, string? subject = null) =>
        DevTokens.Mint(role, owner, lifetime ?? TimeSpan.FromMinutes(10), SigningKey, subject: subject);

    /// <summary>A client that sends <paramref name="token"/> as its bearer token (none when null).</summary>
    public LedgerClient ClientWith(string? token)
    {
        var http = CreateClient();
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return new LedgerClient(http);
    }

    public LedgerClient ClientAs(string role, string owner) => ClientWith(Token(role, owner));

    public Task<long> EventCountAsync() => _database.ScalarAsync<long>("SELECT count(*) FROM cb.events");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("ConnectionStrings:ComputeBank",
            new NpgsqlConnectionStringBuilder(_database.ConnectionString) { MaxPoolSize = 20 }.ConnectionString);
        builder.UseSetting("ComputeBank:Auth:Enabled", "true");
        builder.UseSetting("ComputeBank:Auth:SigningKey", Convert.ToBase64String(SigningKey));

        // The matrix and the abuse tests send hundreds of requests per token in a second; the limit itself is tested by
        // a subclass that sets it (Settings below override this).
        builder.UseSetting("ComputeBank:RateLimiting:PermitLimit", "1000000");
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }
    }

    public Task InitializeAsync() => _database.InitializeAsync();

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        await _database.DisposeAsync();
    }
}
