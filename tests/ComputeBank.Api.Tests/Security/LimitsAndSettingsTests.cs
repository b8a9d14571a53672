using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ComputeBank.Api.Security;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ComputeBank.Api.Tests.Security;

/// <summary>A host whose callers get 3 requests a minute.</summary>
public sealed class RateLimitedApiFactory : SecureApiFactory
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["ComputeBank:RateLimiting:PermitLimit"] = "3",
        ["ComputeBank:RateLimiting:WindowSeconds"] = "60",
    };
}

/// <summary>Per-caller rate limiting: a 429 <c>rate_limited</c> problem with Retry-After, counted per token subject.</summary>
public sealed class RateLimitTests(RateLimitedApiFactory factory) : IClassFixture<RateLimitedApiFactory>
{
    [Fact]
    public async Task FourthRequestInTheWindow_IsRateLimited_OtherCallersAndHealthAreNot()
    {
        var first = Client(factory.Token(Roles.Auditor, "", subject: "auditor-1"));
        var second = Client(factory.Token(Roles.Auditor, "", subject: "auditor-2"));
        var before = await factory.EventCountAsync();

        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 4; i++)
        {
            answers.Add(await first.GetAsync(new Uri("/api/v1/accounts/nobody", UriKind.Relative)));
        }

        var other = await second.GetAsync(new Uri("/api/v1/accounts/nobody", UriKind.Relative));
        var health = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => first.GetAsync(new Uri("/health/live", UriKind.Relative))));

        Assert.All(answers.Take(3), a => Assert.Equal(HttpStatusCode.NotFound, a.StatusCode));
        var limited = answers[3];
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        Assert.Equal("rate_limited", (string?)(await limited.Content.ReadFromJsonAsync<JsonObject>())!["code"]);
        Assert.True(limited.Headers.RetryAfter?.Delta is { TotalSeconds: >= 1 and <= 60 }, $"Retry-After: {limited.Headers.RetryAfter}");
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.All(health, h => Assert.Equal(HttpStatusCode.OK, h.StatusCode));
        Assert.Equal(before, await factory.EventCountAsync());
    }

    private HttpClient Client(string token)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}

/// <summary>A host with no signing key configured: it makes a dev key in its data folder.</summary>
public sealed class DevKeyApiFactory : SecureApiFactory
{
    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "cb-devkey-" + Guid.NewGuid().ToString("N"));

    public List<string> Logged { get; } = [];

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["ComputeBank:Auth:SigningKey"] = "",
        ["ComputeBank:Auth:DataDirectory"] = DataDirectory,
    };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureLogging(logging => logging.AddProvider(new CapturingLoggerProvider(Logged)));
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }

        GC.SuppressFinalize(this);
    }
}

/// <summary>The dev signing key: generated on first start into the data folder (owner-only), reused after, never logged.</summary>
public sealed class DevKeyTests(DevKeyApiFactory factory) : IClassFixture<DevKeyApiFactory>
{
    [Fact]
    public async Task WithoutAConfiguredKey_TheHostMakesOneInTheDataFolder_AndTokensMintedWithItWork()
    {
        var client = factory.CreateClient();
        var path = Path.Combine(factory.DataDirectory, DevTokens.KeyFileName);
        var key = DevTokens.LoadOrCreateSigningKey(factory.DataDirectory);
        var token = DevTokens.Mint(Roles.Consumer, "devkey-owner", TimeSpan.FromMinutes(5), key);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        var opened = await new LedgerClient(client).OpenAsync("devkey-" + Guid.NewGuid().ToString("N")[..8], "consumer", "devkey-owner");

        opened.ShouldBe(HttpStatusCode.Created);
        Assert.True(File.Exists(path));
        Assert.Equal(DevTokens.KeyBytes, key.Length);
        Assert.Equal(key, DevTokens.LoadOrCreateSigningKey(factory.DataDirectory));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        var logged = string.Join("\n", factory.Logged);
        Assert.Contains("Authentication: JWT bearer", logged, StringComparison.Ordinal); // the start-up line naming the key source...
        Assert.DoesNotContain(Convert.ToBase64String(key), logged, StringComparison.Ordinal); // ...never the key
        Assert.DoesNotContain(token, logged, StringComparison.Ordinal);
    }

    [Fact]
    public void DataFolderWithoutKeyFile_GetsANewKey_AndAShortConfiguredKeyIsRefused()
    {
        var folder = Path.Combine(Path.GetTempPath(), "cb-devkey-" + Guid.NewGuid().ToString("N"));
        try
        {
            var first = DevTokens.LoadOrCreateSigningKey(folder);
            var again = DevTokens.LoadOrCreateSigningKey(folder);

            Assert.Equal(first, again);
            Assert.Throws<InvalidOperationException>(() => DevTokens.DecodeKey(Convert.ToBase64String(new byte[16]), "test"));
            Assert.Throws<InvalidOperationException>(() => DevTokens.DecodeKey("not base64!", "test"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

/// <summary>Authentication switched off explicitly (as the ledger tests do): every answer says so.</summary>
public sealed class AuthDisabledTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task AuthDisabled_EveryAnswerCarriesTheWarningHeader_AndKestrelCapsBodiesAtTheBatchLimit()
    {
        var response = await factory.CreateClient().GetAsync(new Uri("/api/v1/accounts/nobody", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("disabled", response.Headers.GetValues(SecurityHosting.DisabledHeader).Single());
        Assert.Equal(Features.SubmittingBatches.SubmitBatchEndpoint.MaxBatchBytes,
            factory.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits.MaxRequestBodySize);
    }
}

/// <summary>Collects every formatted log message (to check what is never logged).</summary>
internal sealed class CapturingLoggerProvider(List<string> messages) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Capturing(messages);

    public void Dispose()
    {
    }

    private sealed class Capturing(List<string> messages) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        // As every logging provider: None means "not written" (Wolverine logs its agent commands at None by default).
        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (messages)
            {
                messages.Add(formatter(state, exception) + (exception is null ? string.Empty : " " + exception));
            }
        }
    }
}
