using ComputeBank.Api.Hosting;

namespace ComputeBank.Api.Tests.Replication;

/// <summary>
/// The optional read-only connection: the queries that may be stale say where they read from in
/// <c>X-ComputeBank-Read-Source</c>; commands and the operation lookup never carry it (they always use the primary).
/// </summary>
public sealed class ReadReplicaTests : IAsyncLifetime
{
    private readonly ApiFactory _primaryOnly = new();
    private readonly ReplicaApiFactory _withReplica = new();

    public async Task InitializeAsync()
    {
        await _primaryOnly.InitializeAsync();
        await _withReplica.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await ((IAsyncLifetime)_primaryOnly).DisposeAsync();
        await ((IAsyncLifetime)_withReplica).DisposeAsync();
    }

    [Fact]
    public async Task WithoutAReadOnlyConnection_StaleTolerantQueries_SayPrimary()
    {
        using var client = _primaryOnly.CreateClient();
        await OpenAsync(client, "rr-1");

        foreach (var path in StaleTolerant("rr-1"))
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.Equal("primary", Assert.Single(response.Headers.GetValues(ReadReplica.Header)));
        }
    }

    [Fact]
    public async Task WithAReadOnlyConnection_StaleTolerantQueriesSayStandby_AndPrimaryReadsSayNothing()
    {
        using var client = _withReplica.CreateClient();
        using var opened = await OpenAsync(client, "rr-2");
        Assert.False(opened.Headers.Contains(ReadReplica.Header));

        foreach (var path in StaleTolerant("rr-2"))
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.Equal("standby", Assert.Single(response.Headers.GetValues(ReadReplica.Header)));
        }

        foreach (var path in new[] { "/api/v1/accounts/rr-2", "/api/v1/operations/open-account:rr-2" })
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.False(response.Headers.Contains(ReadReplica.Header), path);
        }
    }

    [Fact]
    public void SeveralHostsWithoutTargetSessionAttributes_AreRefusedForWrites()
    {
        var error = Assert.Throws<InvalidOperationException>(() => ReadReplica.ValidatePrimary("Host=a:5432,b:5433;Username=u;Database=d"));
        Assert.Contains("Target Session Attributes=primary", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => ReadReplica.ValidatePrimary("Host=a:5432,b:5433;Target Session Attributes=prefer-standby"));

        ReadReplica.ValidatePrimary("Host=a:5432,b:5433;Target Session Attributes=primary");
        ReadReplica.ValidatePrimary("Host=a:5432,b:5433;Target Session Attributes=read-write");
        ReadReplica.ValidatePrimary("Host=a;Port=5432");
    }

    [Fact]
    public void AReadOnlyConnectionWithTargetSessionAttributesButOneHost_IsRefusedAtStartUp()
    {
        var error = Assert.Throws<InvalidOperationException>(() => ReadReplica.ValidateReadOnly("Host=a;Port=5432;Target Session Attributes=prefer-standby"));
        Assert.Contains(ReadReplica.ConnectionStringName, error.Message, StringComparison.Ordinal);

        ReadReplica.ValidateReadOnly(null);
        ReadReplica.ValidateReadOnly("Host=standby;Port=5432");
        ReadReplica.ValidateReadOnly("Host=a:5432,b:5432;Target Session Attributes=prefer-standby");
    }

    private static string[] StaleTolerant(string account) =>
    [
        $"/api/v1/accounts/{account}/balances",
        $"/api/v1/accounts/{account}/history",
        "/api/v1/pools/gpu.h100/beijing/2026-11",
        "/api/v1/audit/verify",
    ];

    private static async Task<HttpResponseMessage> OpenAsync(HttpClient client, string account)
    {
        var response = await client.PostAsync(new Uri("/api/v1/accounts", UriKind.Relative), new StringContent(
            $$"""{"accountId":"{{account}}","ownerId":"{{account}}","kind":"consumer"}""",
            System.Text.Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return response;
    }

    /// <summary>The same host with a read-only connection string to the same database, as a prefer-standby string
    /// resolves when no standby is up.</summary>
    private sealed class ReplicaApiFactory : IAsyncLifetime
    {
        private readonly ApiFactory _inner = new();
        private Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program>? _withReplica;

        public async Task InitializeAsync()
        {
            await _inner.InitializeAsync();
            // Npgsql takes Target Session Attributes only with several hosts: the same server twice stands in for a
            // primary and a standby that is down.
            var readOnly = new Npgsql.NpgsqlConnectionStringBuilder(_inner.Database.ConnectionString) { TargetSessionAttributes = "prefer-standby" };
            readOnly.Host = $"{readOnly.Host}:{readOnly.Port},{readOnly.Host}:{readOnly.Port}";
            _withReplica = _inner.WithWebHostBuilder(b => b.UseSetting($"ConnectionStrings:{ReadReplica.ConnectionStringName}", readOnly.ConnectionString));
        }

        public HttpClient CreateClient() => _withReplica!.CreateClient();

        public async Task DisposeAsync()
        {
            if (_withReplica is not null)
            {
                await _withReplica.DisposeAsync();
            }

            await ((IAsyncLifetime)_inner).DisposeAsync();
        }
    }
}
