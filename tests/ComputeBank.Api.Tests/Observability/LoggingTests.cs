using System.Collections.Concurrent;
using ComputeBank.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace ComputeBank.Api.Tests.Observability;

/// <summary>Logs never carry credentials, whatever the level; JSON console output is one setting away.</summary>
public sealed class LoggingTests : IAsyncLifetime
{
    private const string Token = "tok-7f3a-SECRET-bearer";
    private const string Password = "pw-91c2-SECRET-db";
    private readonly PostgresDatabase _database = new();

    public Task InitializeAsync() => _database.InitializeAsync();

    public Task DisposeAsync() => _database.DisposeAsync();

    [Fact]
    public async Task GivenTraceLevelLogging_WhenACommandCarriesABearerToken_ThenNoLogLineContainsIt()
    {
        var capture = new CapturingLoggerProvider();
        await using var factory = Factory(_database.ConnectionString, capture);
        var client = new LedgerClient(factory.CreateClient());

        var answer = await client.PostAsync("/api/v1/accounts", new { accountId = "log-acct", ownerId = "acme", kind = "provider" },
            new Dictionary<string, string> { ["Authorization"] = "Bearer " + Token });

        answer.ShouldBe(System.Net.HttpStatusCode.Created);
        Assert.NotEmpty(capture.Lines);
        Assert.DoesNotContain(capture.Lines, l => l.Contains(Token, StringComparison.Ordinal));
        // Npgsql logs connection strings at debug level; the password must never be among them.
        var password = new Npgsql.NpgsqlConnectionStringBuilder(_database.ConnectionString).Password;
        Assert.False(string.IsNullOrEmpty(password));
        Assert.DoesNotContain(capture.Lines, l => l.Contains(password, StringComparison.Ordinal));
    }

    [Fact]
    public async Task GivenAnUnreachableDatabase_WhenTheMigrationFails_ThenTheWarningDoesNotContainThePassword()
    {
        var capture = new CapturingLoggerProvider();
        await using var factory = Factory($"Host=127.0.0.1;Port=1;Username=cb;Password={Password};Database=cb;Timeout=2", capture);

        using var ready = await factory.CreateClient().GetAsync(new Uri("/health/ready", UriKind.Relative));

        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains(capture.Lines, l => l.Contains("Schema migration failed", StringComparison.Ordinal));
        Assert.DoesNotContain(capture.Lines, l => l.Contains(Password, StringComparison.Ordinal));
        Assert.DoesNotContain(await ready.Content.ReadAsStringAsync(), Password, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenJsonLoggingSwitchedOn_WhenTheHostStarts_ThenTheConsoleUsesTheJsonFormatter()
    {
        await using var factory = Factory(_database.ConnectionString, new CapturingLoggerProvider(), ("ComputeBank:Logging:Json", "true"));
        await using var plain = Factory(_database.ConnectionString, new CapturingLoggerProvider());

        Assert.Equal(ConsoleFormatterNames.Json, factory.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue.FormatterName);
        Assert.NotEqual(ConsoleFormatterNames.Json, plain.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue.FormatterName);
    }

    [Fact]
    public async Task GivenCommands_WhenAnswered_ThenEachHasOneInformationLineWithItsIdTypeOutcomeAndDuration()
    {
        var capture = new CapturingLoggerProvider();
        await using var factory = Factory(_database.ConnectionString, capture);
        var client = new LedgerClient(factory.CreateClient());

        await client.FundAsync("log-provider", "log-consumer", "5");
        (await client.WithdrawAsync("log-withdrawal-1", "log-consumer", "2")).ShouldBe(System.Net.HttpStatusCode.Created);
        (await client.WithdrawAsync("log-withdrawal-1", "log-consumer", "2")).ShouldBe(System.Net.HttpStatusCode.Created);
        (await client.WithdrawAsync("log-withdrawal-2", "log-consumer", "9")).ShouldBeProblem(System.Net.HttpStatusCode.UnprocessableEntity, "insufficient_credits");

        var lines = capture.Entries.Where(e => e.Category == "ComputeBank.Messaging.Commands").ToList();
        Assert.All(lines, e => Assert.Equal(LogLevel.Information, e.Level));
        var succeeded = Assert.Single(lines, e => e.Message.StartsWith("Command log-withdrawal-1 withdrawal succeeded in ", StringComparison.Ordinal));
        Assert.Single(lines, e => e.Message.StartsWith("Command log-withdrawal-1 withdrawal replayed in ", StringComparison.Ordinal));
        var rejected = Assert.Single(lines, e => e.Message.StartsWith("Command log-withdrawal-2 withdrawal rejected insufficient_credits in ", StringComparison.Ordinal));
        Assert.Equal(2010, succeeded.EventId);
        Assert.Equal(2011, rejected.EventId);
        Assert.EndsWith(" ms", rejected.Message, StringComparison.Ordinal);
        Assert.True(rejected.Values["DurationMs"] is double ms && ms >= 0, "the duration is a number of milliseconds");
        Assert.Equal("insufficient_credits", rejected.Values["Code"]);
        Assert.Equal("log-withdrawal-2", rejected.Values["OperationId"]);
        // One line per command sent: the funding commands once each, the withdrawal sent twice twice.
        Assert.Equal(3, lines.Count(e => e.Message.Contains(" withdrawal ", StringComparison.Ordinal)));
        Assert.All(lines.GroupBy(e => (string)e.Values["OperationId"]!, StringComparer.Ordinal), g => Assert.Equal(g.Key == "log-withdrawal-1" ? 2 : 1, g.Count()));
    }

    [Fact]
    public async Task GivenTheCommandCategoryAtWarning_WhenCommandsAreAnswered_ThenNoCommandLineIsWritten()
    {
        var capture = new CapturingLoggerProvider();
        await using var factory = Factory(_database.ConnectionString, capture, ("Logging:LogLevel:ComputeBank.Messaging.Commands", "Warning"));
        var client = new LedgerClient(factory.CreateClient());

        await client.FundAsync("quiet-provider", "quiet-consumer", "5");
        (await client.WithdrawAsync("quiet-withdrawal-1", "quiet-consumer", "9")).ShouldBeProblem(System.Net.HttpStatusCode.UnprocessableEntity, "insufficient_credits");

        Assert.NotEmpty(capture.Entries);
        Assert.DoesNotContain(capture.Entries, e => e.Category == "ComputeBank.Messaging.Commands");
        Assert.DoesNotContain(capture.Entries, e => e.Message.StartsWith("Command quiet-", StringComparison.Ordinal));
    }

    private static WebApplicationFactory<Program> Factory(string connectionString, CapturingLoggerProvider capture, params (string Key, string Value)[] settings) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Testing");
            builder.UseSetting("ConnectionStrings:ComputeBank", connectionString);
            builder.UseSetting("ComputeBank:Auth:Enabled", "false");
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }

            builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddFilter(_ => true).AddProvider(capture));
        });

    /// <summary>Every log line at every level, with its message, its structured values, its scopes and its exception.</summary>
    private sealed record Entry(string Category, LogLevel Level, int EventId, string Message, IReadOnlyDictionary<string, object?> Values);

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ConcurrentQueue<Entry> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull
            {
                provider.Lines.Enqueue($"{category} scope: {Describe(state)}");
                return null;
            }

            // As every logging provider: None means "not written" (Wolverine logs its agent commands at None by default).
            public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var message = formatter(state, exception);
                provider.Lines.Enqueue($"{category} [{eventId.Id}] {message} {Describe(state)} {exception}");
                var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
                    ? pairs.GroupBy(p => p.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Value, StringComparer.Ordinal)
                    : [];
                provider.Entries.Enqueue(new Entry(category, logLevel, eventId.Id, message, values));
            }

            private static string Describe(object? state) => state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? string.Join(", ", pairs.Select(p => $"{p.Key}={p.Value}"))
                : state?.ToString() ?? "";
        }
    }
}
