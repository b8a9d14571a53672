using System.Diagnostics;
using ComputeBank.Api.Tests;
using ComputeBank.Api.Tests.ReadSide;
using Npgsql;

namespace ComputeBank.Cli.Tests;

/// <summary>
/// samples/verify-chain (docs/audit.md): an auditor's own check of the hash chains, exported with psql and
/// export.sql, recomputed by verify_chain.py with nothing but Python's standard library. On the scripted ledger it
/// agrees with the product's own check, and it finds each kind of tampering done with SQL.
/// </summary>
public sealed class VerifyChainScriptTests : IAsyncLifetime
{
    private static readonly string Folder = Path.Combine(RepositoryRoot(), "samples", "verify-chain");
    private readonly ApiFactory _factory = new();
    private readonly string _work = Directory.CreateTempSubdirectory("computebank-chain-").FullName;

    public async Task InitializeAsync()
    {
        await _factory.InitializeAsync();
        var scenario = new LedgerScenario(new LedgerClient(_factory.CreateClient()));
        await scenario.RunAsync();
    }

    public async Task DisposeAsync()
    {
        await ((IAsyncLifetime)_factory).DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task GivenHonestLedger_WhenTheScriptChecksItsExport_ThenEveryChainIsIntact()
    {
        var (code, output) = await CheckAsync();

        Assert.True(code == 0, output);
        Assert.Equal("OK: 23 events in 6 streams checked, 0 broken chains\n", output);
        Assert.Equal(CliApp.Ok, await CliApp.RunAsync(["audit", "verify", "--connection", _factory.Database.ConnectionString], TextWriter.Null, TextWriter.Null, default));
    }

    [Fact]
    public async Task GivenEventDataEditedWithSql_WhenTheScriptChecks_ThenItNamesTheEditedEvent()
    {
        await _factory.Database.ExecuteAsync(
            "UPDATE cb.mt_events SET data = jsonb_set(data, '{hours}', '\"5.000\"') WHERE stream_id = 'account-alice' AND type = 'V1.CreditsWithdrawn'");
        var version = await _factory.Database.ScalarAsync<long>("SELECT version FROM cb.events WHERE stream_id = 'account-alice' AND type = 'V1.CreditsWithdrawn'");

        var (code, output) = await CheckAsync();

        Assert.True(code == 1, output);
        Assert.StartsWith($"BROKEN account-alice v{version} content_altered: stored hash ", output, StringComparison.Ordinal);
        Assert.EndsWith("BROKEN: 23 events in 6 streams checked, 1 broken chains\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenEventsDeletedOrMetadataEdited_WhenTheScriptChecks_ThenEachDamagedStreamIsNamed()
    {
        await _factory.Database.ExecuteAsync(
            """
            DELETE FROM cb.mt_events WHERE stream_id = 'account-bob' AND version = 2;
            DELETE FROM cb.mt_events WHERE stream_id = 'hold-hold-2';
            UPDATE cb.mt_events SET user_name = 'someone-else' WHERE stream_id = 'account-prov-1' AND version = 1;
            """);

        var events = await _factory.Database.ScalarAsync<long>("SELECT count(*) FROM cb.events");
        var holdVersion = await _factory.Database.ScalarAsync<long>("SELECT version FROM cb.mt_streams WHERE id = 'hold-hold-2'");

        var (code, output) = await CheckAsync();

        Assert.True(code == 1, output);
        var lines = output.TrimEnd('\n').Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("BROKEN account-bob v3 event_missing: version 3 follows version 1", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("BROKEN account-prov-1 v1 content_altered: ", lines[1], StringComparison.Ordinal);
        Assert.StartsWith($"BROKEN hold-hold-2 v{holdVersion} tail_mismatch: stream row (version {holdVersion}, head ", lines[2], StringComparison.Ordinal);
        Assert.EndsWith("does not match the last stored event (version 0, hash -)", lines[2], StringComparison.Ordinal);
        Assert.Equal($"BROKEN: {events} events in 6 streams checked, 3 broken chains", lines[3]);
    }

    [Fact]
    public async Task GivenHistoryRewrittenWithRecomputedHashes_WhenCheckedAgainstHeadsKeptEarlier_ThenTheRewriteIsFound()
    {
        var heads = Path.Combine(_work, "heads.csv");
        Assert.Equal(0, (await CheckAsync("--write-heads", heads)).Code);
        // A forger with write access edits alice's withdrawal and recomputes every hash after it, and the stream head.
        await _factory.Database.ExecuteAsync(
            """
            UPDATE cb.mt_events SET data = jsonb_set(data, '{jobReference}', '"forged"') WHERE stream_id = 'account-alice' AND type = 'V1.CreditsWithdrawn';
            DO $$
            DECLARE r record; previous text := null;
            BEGIN
                FOR r IN SELECT seq_id, stream_id, version, type, data, metadata, timestamp FROM cb.events WHERE stream_id = 'account-alice' ORDER BY version LOOP
                    UPDATE cb.event_hashes SET previous_hash = previous,
                        hash = cb.event_hash(r.stream_id, r.version, r.type, r.data, r.metadata, r.timestamp, previous)
                    WHERE seq_id = r.seq_id RETURNING hash INTO previous;
                END LOOP;
            END $$;
            """);

        var plain = await CheckAsync();
        var (code, output) = await CheckAsync("--expect-heads", heads);

        Assert.Equal(0, plain.Code);
        Assert.True(code == 1, output);
        Assert.StartsWith("BROKEN account-alice v", output, StringComparison.Ordinal);
        Assert.Contains(" head_changed: kept head ", output, StringComparison.Ordinal);
        Assert.EndsWith("1 broken chains\n", output, StringComparison.Ordinal);
    }

    /// <summary>Exports the chains with psql and export.sql, then runs verify_chain.py on the file: its exit code and output.</summary>
    private async Task<(int Code, string Output)> CheckAsync(params string[] options)
    {
        var export = Path.Combine(_work, "ledger-chain.csv");
        var connection = new NpgsqlConnectionStringBuilder(_factory.Database.ConnectionString);
        var psql = await RunAsync(Psql(), ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", Path.Combine(Folder, "export.sql")], new()
        {
            ["PGHOST"] = connection.Host!,
            ["PGPORT"] = connection.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["PGUSER"] = connection.Username!,
            ["PGPASSWORD"] = connection.Password!,
            ["PGDATABASE"] = connection.Database!,
        });
        Assert.True(psql.Code == 0, psql.Output + psql.Error);
        await File.WriteAllTextAsync(export, psql.Output);

        var check = await RunAsync("python3", [Path.Combine(Folder, "verify_chain.py"), export, .. options], []);
        Assert.True(check.Error.Length == 0, check.Error);
        return (check.Code, check.Output);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(string program, string[] arguments, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {program}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }

    /// <summary>psql from PATH, else from the PostgreSQL that deploy/local installs.</summary>
    private static string Psql() =>
        Environment.GetEnvironmentVariable("PATH")!.Split(Path.PathSeparator).Select(d => Path.Combine(d, "psql")).FirstOrDefault(File.Exists)
        ?? (Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin", "psql")).FirstOrDefault(File.Exists) : null)
        ?? throw new InvalidOperationException("psql is needed to export the chains (deploy/local installs it with PostgreSQL)");

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "ComputeBank.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException($"No ComputeBank.sln above {AppContext.BaseDirectory}");
    }
}
