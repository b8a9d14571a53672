using System.Net;
using ComputeBank.Api.Hosting;
using ComputeBank.Api.Tests.Durable;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace ComputeBank.Api.Tests.Bugs;

/// <summary>
/// Found by the long fault run (2026-12-06): PostgreSQL terminated a node's connections while Wolverine was checking
/// its tables at start, Wolverine failed its start with an <see cref="AggregateException"/> around an
/// <see cref="InvalidOperationException"/> around the <see cref="PostgresException"/> (57P01), and the schema
/// migration, which retried only a bare database exception, let it through: the host failed to start and the process
/// exited (134). A database that drops the connection at start must leave the node up, not ready, and retrying.
/// </summary>
public sealed class Bug_a_connection_dropped_while_wolverine_started_crashed_the_node
{
    [Fact]
    public async Task Bug_wolverine_failing_its_start_on_a_dropped_connection_stopped_the_host()
    {
        await using var factory = new DroppedOnceFactory();
        await factory.InitializeAsync();
        var client = new LedgerClient(factory.CreateClient());

        Assert.Equal(1, factory.Dropped.Attempts);
        var ready = await Eventually.WaitAsync(() => client.GetAsync("/health/ready"), a => a.Status == HttpStatusCode.OK, "the node to retry and become ready", 30);

        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Equal(2, factory.Dropped.Attempts);
        // Wolverine runs: a hold's expiry is scheduled and runs.
        await client.FundAsync("bug-wolv-prov", "bug-wolv-cons", "10");
        (await client.PostAsync("/api/v1/holds", new
        {
            holdId = "bug-wolv-hold", accountId = "bug-wolv-cons", beneficiaryAccountId = "bug-wolv-prov", resourceClass = "gpu.h100", region = "beijing",
            period = LedgerClient.Period, hours = "1", expiresAt = DateTimeOffset.UtcNow.AddSeconds(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        })).ShouldBe(HttpStatusCode.Created);
        await Eventually.WaitAsync(() => client.GetAsync("/api/v1/operations/expire:bug-wolv-hold"), a => a.Status == HttpStatusCode.OK && (string?)a.Body!["status"] == "succeeded", "the expiry", 30);
    }

    /// <summary>A hosted service started just before Wolverine's that fails its first start exactly as Wolverine did.</summary>
    public sealed class DropsTheConnectionOnce : IHostedService
    {
        public int Attempts { get; private set; }

        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (++Attempts == 1)
            {
                var dropped = new PostgresException("terminating connection due to administrator command", "FATAL", "FATAL", "57P01");
                throw new AggregateException(new InvalidOperationException(
                    "The Wolverine message storage for database 'default' is missing (could not read '\"wolverine\".wolverine_incoming_envelopes').", dropped));
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class DroppedOnceFactory : Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program>, IAsyncDisposable
    {
        private readonly Testing.PostgresDatabase _database = new();

        public DropsTheConnectionOnce Dropped { get; } = new();

        public Task InitializeAsync() => _database.InitializeAsync();

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            builder.UseSetting("ConnectionStrings:ComputeBank", _database.ConnectionString);
            builder.UseSetting("ComputeBank:Auth:Enabled", "false");
            builder.UseSetting("ComputeBank:RateLimiting:Enabled", "false");
            builder.ConfigureTestServices(services =>
            {
                var original = services.Single(d => d.ServiceType == typeof(DatabaseDependentServices));
                services.Remove(original);
                services.AddSingleton(sp => new DatabaseDependentServices(
                    [Dropped, .. ((DatabaseDependentServices)original.ImplementationFactory!(sp)).Services]));
            });
        }

        public override async ValueTask DisposeAsync()
        {
            await base.DisposeAsync();
            await _database.DisposeAsync();
        }
    }
}
