using System.CommandLine;
using ComputeBank.Api.Ledger;
using ComputeBank.Domain;
using ComputeBank.EventStore;

namespace ComputeBank.Cli;

/// <summary>
/// The <c>computebank</c> command tree. Each command group lives in its own file and adds itself through
/// <see cref="Groups"/>; a new group (e.g. <c>token</c>) is one more entry there. Output goes to the given writers, so
/// tests run the real handlers in-process.
/// </summary>
public static class CliApp
{
    public const string ConnectionVariable = "COMPUTEBANK_CONNECTION";

    /// <summary>Exit code of a command that ran and found nothing wrong.</summary>
    public const int Ok = 0;

    /// <summary>Exit code of <c>audit verify</c> when it found discrepancies.</summary>
    public const int Discrepancies = 1;

    /// <summary>Exit code of a command that could not run (bad arguments, unreachable database).</summary>
    public const int Failed = 2;

    /// <summary>The command groups under the root; each gets the shared options.</summary>
    public static IReadOnlyList<Func<CliOptions, Command>> Groups { get; } =
    [
        AuditCommands.Create,
        ExportCommand.Create,
        MigrateEventsCommand.Create,
        ProjectionCommands.Create,
        TokenCommand.Create,
    ];

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var options = new CliOptions();
        var root = new RootCommand("ComputeBank operator and auditor tool: verify the books, export history, rebuild read models, convert an old event layout.");
        root.Options.Add(options.Connection);
        root.Options.Add(options.Schema);
        foreach (var group in Groups)
        {
            root.Subcommands.Add(group(options));
        }

        var parsed = root.Parse(args);
        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false }, ct);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidOperationException or ArgumentException or IOException or TimeoutException)
        {
            await error.WriteLineAsync($"error: {e.Message}");
            return Failed;
        }
    }
}

/// <summary>Options every command shares, and how a command gets its store from them.</summary>
public sealed class CliOptions
{
    public Option<string?> Connection { get; } = new("--connection")
    {
        Description = $"Npgsql connection string of the ledger's database (default: ${CliApp.ConnectionVariable}, which deploy/local/cli sets to the local database).",
        Recursive = true,
    };

    public Option<string> Schema { get; } = new("--schema")
    {
        Description = "PostgreSQL schema of the ledger's tables.",
        DefaultValueFactory = _ => "cb",
        Recursive = true,
    };

    /// <summary>A store on the chosen database (the catalogue is the default one: the read side only needs its system accounts).</summary>
    public CliContext Open(ParseResult parsed)
    {
        var connection = parsed.GetValue(Connection) ?? Environment.GetEnvironmentVariable(CliApp.ConnectionVariable);
        if (string.IsNullOrWhiteSpace(connection))
        {
            throw new ArgumentException($"No database: pass --connection \"Host=...;Database=...\" or set {CliApp.ConnectionVariable}.");
        }

        var store = MartenEventStore.Create(
            new EventStoreOptions { ConnectionString = connection, Schema = parsed.GetValue(Schema) ?? "cb", Json = DomainJson.Options },
            LedgerTypes.Registry());
        return new CliContext(store, LedgerCatalogue.Default, parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error);
    }
}

/// <summary>What a command handler works with: the store, the catalogue and the output writers.</summary>
public sealed class CliContext(MartenEventStore store, LedgerCatalogue catalogue, TextWriter output, TextWriter error) : IAsyncDisposable
{
    public MartenEventStore Store { get; } = store;

    public LedgerCatalogue Catalogue { get; } = catalogue;

    public TextWriter Output { get; } = output;

    public TextWriter Error { get; } = error;

    public ValueTask DisposeAsync() => Store.DisposeAsync();
}

/// <summary>An <see cref="IProgress{T}"/> that reports on the caller's thread (Progress&lt;T&gt; posts to the pool,
/// so its last report could land after the command's result).</summary>
public sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
