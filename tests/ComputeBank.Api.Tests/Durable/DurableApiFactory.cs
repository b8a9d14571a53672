using ComputeBank.Api.Features.SubmittingAsynchronously;
using ComputeBank.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace ComputeBank.Api.Tests.Durable;

/// <summary>The real API host on its own database, with short cooldowns so that durable messaging tests finish
/// quickly; subclasses add settings (webhook subscribers).</summary>
public class DurableApiFactory : WebApplicationFactory<Program>, IAsyncLifetime
{
    private readonly PostgresDatabase _database = new();

    public PostgresDatabase Database => _database;

    protected virtual void AddSettings(IDictionary<string, string?> settings)
    {
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["ConnectionStrings:ComputeBank"] = _database.ConnectionString + ";Maximum Pool Size=30",
            ["ComputeBank:Auth:Enabled"] = "false",
            ["ComputeBank:RateLimiting:Enabled"] = "false",
            ["ComputeBank:Durable:RetryBaseDelay"] = "00:00:00.050",
            ["ComputeBank:Durable:RetryMaxDelay"] = "00:00:00.200",
            ["ComputeBank:Durable:MaxAttempts"] = "3",
        };
        AddSettings(settings);
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }
    }

    public virtual Task InitializeAsync() => _database.InitializeAsync();

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        await _database.DisposeAsync();
    }
}

/// <summary>Commands queued the way a version before Wolverine queued them.</summary>
public static class EarlierVersionQueue
{
    /// <summary>Puts a row on the command queue the way a version before Wolverine did (no message with it) and lets
    /// the node adopt it, as it does at start: how a command of a type this node does not know arrives.</summary>
    public static async Task QueueAsAnEarlierVersionAsync(
        this WebApplicationFactory<Program> factory, PostgresDatabase database, string operationId, string type, string body)
    {
        await database.ExecuteAsync(
            "INSERT INTO cb.command_queue (operation_id, command_type, fingerprint, body, available_at) " +
            $"VALUES ('{operationId}', '{type}', '', '{body}', now())");
        await factory.Services.GetRequiredService<CommandQueue>().AdoptAsync(CancellationToken.None);
    }
}

/// <summary>Waits for a condition with a bounded polling loop (never asserts how long it took).</summary>
public static class Eventually
{
    public static async Task<T> WaitAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string what, int seconds = 90)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Gave up waiting for {what}; last value: {value}");
            await Task.Delay(100);
        }
    }
}
