using System.Net;
using System.Text.Json.Nodes;
using ComputeBank.Api.Tests;
using ComputeBank.Api.Auditing;
using ComputeBank.Api.Tests.ReadSide;

namespace ComputeBank.Cli.Tests;

/// <summary>The CLI's command handlers, run in-process against the scripted ledger in a throwaway database.</summary>
public sealed class CliTests : IAsyncLifetime
{
    private readonly ApiFactory _factory = new();
    private LedgerClient _client = null!;

    public async Task InitializeAsync()
    {
        await _factory.InitializeAsync();
        _client = new LedgerClient(_factory.CreateClient());
        var scenario = new LedgerScenario(_client);
        await scenario.RunAsync();
        await scenario.WaitForPoolsAsync();
    }

    public async Task DisposeAsync() => await ((IAsyncLifetime)_factory).DisposeAsync();

    [Fact]
    public async Task GivenHonestLedger_WhenAuditVerify_ThenExitZeroAndOkReport()
    {
        var (code, output, _) = await RunAsync("audit", "verify");
        Assert.Equal(CliApp.Ok, code);
        Assert.StartsWith("OK: 23 events in 6 streams replayed; 0 discrepancies", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenTamperedProjectionRow_WhenAuditVerify_ThenExitOneNamingTheAccount()
    {
        await _factory.Database.ExecuteAsync("UPDATE cb.account_buckets SET pending = 2000 WHERE account_id = 'alice'");

        var (code, output, _) = await RunAsync("audit", "verify");
        Assert.Equal(CliApp.Discrepancies, code);
        Assert.Contains("[invariant 3 account_buckets] account=alice stream=account-alice bucket=gpu.h100/beijing/2026-12 field=pending expected=0.000 found=2.000", output,
            StringComparison.Ordinal);

        var (json, jsonOutput, _) = await RunAsync("audit", "verify", "--json");
        Assert.Equal(CliApp.Discrepancies, json);
        Assert.False((bool)JsonNode.Parse(jsonOutput)!["ok"]!);

        Assert.Equal(CliApp.Ok, (await RunAsync("projections", "rebuild", "account_buckets")).Code);
        Assert.Equal(CliApp.Ok, (await RunAsync("audit", "verify")).Code);
    }

    [Fact]
    public async Task GivenLedger_WhenExportingCsvThroughTheApi_ThenItIsWhatTheCliExports()
    {
        var (code, cli, _) = await RunAsync("export", "--all", "--format", "csv");
        Assert.Equal(CliApp.Ok, code);

        using var response = await _client.Http.GetAsync(new Uri("/api/v1/events/export.csv", UriKind.Relative));
        var api = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal(cli, api);
    }

    [Fact]
    public async Task GivenAccount_WhenExportingCsv_ThenItsSignedHoursAndHeldHoursSumToTheCurrentBalance()
    {
        var (code, output, _) = await RunAsync("export", "--account", "alice", "--format", "csv");
        Assert.Equal(CliApp.Ok, code);
        var lines = output.TrimEnd('\n').Split('\n');
        Assert.Equal(LedgerCsv.Header, lines[0]);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        int Column(string name) => Array.IndexOf(LedgerCsv.Columns, name);
        Assert.All(rows, r => Assert.Equal("account-alice", r[Column("stream_id")]));
        var withdrawn = rows.Where(r => r[Column("type")] == "V1.CreditsWithdrawn").Select(r => (r[Column("account_id")], r[Column("hours")], r[Column("operation_id")])).ToList();
        Assert.Equal([("alice", "-5.250", "wd-1"), ("bank.consumption", "5.250", "wd-1")], withdrawn);

        foreach (var period in new[] { "2026-11", "2026-12" })
        {
            var own = rows.Where(r => r[Column("account_id")] == "alice" && r[Column("period")] == period).ToList();
            decimal Sum(string column) => own.Sum(r => r[Column(column)] is { Length: > 0 } v ? decimal.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : 0m);
            var (posted, pending, _) = await _client.BalanceAsync("alice", period);
            Assert.Equal(decimal.Parse(posted, System.Globalization.CultureInfo.InvariantCulture), Sum("hours"));
            Assert.Equal(decimal.Parse(pending, System.Globalization.CultureInfo.InvariantCulture), Sum("held_hours"));
        }
    }

    [Theory]
    [InlineData("=1+2", false, "'=1+2")]
    [InlineData("+49 30", false, "'+49 30")]
    [InlineData("-SME", false, "'-SME")]
    [InlineData("@SUM(A1)", false, "'@SUM(A1)")]
    [InlineData("\tx", false, "'\tx")]
    [InlineData("\rx", false, "\"'\rx\"")]
    [InlineData("a,\"b\"", false, "\"a,\"\"b\"\"\"")]
    [InlineData("-12.500", true, "-12.500")]
    [InlineData("-12.500", false, "'-12.500")]
    [InlineData("-1+2", true, "'-1+2")]
    [InlineData("-", true, "'-")]
    [InlineData("plain", false, "plain")]
    [InlineData(null, false, "")]
    public void GivenCellText_WhenWrittenToCsv_ThenFormulasAreGuardedButNegativeNumbersStayNumbers(string? value, bool numeric, string expected) =>
        Assert.Equal(expected, LedgerCsv.Cell(value, numeric));

    [Fact]
    public async Task GivenLedger_WhenExportingAllAsNdjsonToFile_ThenOneLinePerEventInSequenceOrder()
    {
        var file = Path.Combine(Path.GetTempPath(), $"cb-export-{Guid.NewGuid():N}.ndjson");
        try
        {
            var (code, output, _) = await RunAsync("export", "--all", "--output", file);
            Assert.Equal(CliApp.Ok, code);
            Assert.Equal("", output);
            var lines = (await File.ReadAllLinesAsync(file)).Select(l => JsonNode.Parse(l)!).ToList();
            Assert.Equal(Enumerable.Range(1, 23).Select(i => (long)i), lines.Select(l => (long)l["sequence"]!));
            var feed = (await _client.GetAsync("/api/v1/events?limit=1000")).ShouldBe(HttpStatusCode.OK).Body!["events"]!.AsArray();
            Assert.Equal(feed.Select(e => (string)e!["type"]!), lines.Select(l => (string)l["type"]!));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task GivenCaughtUpDaemon_WhenProjectionsStatus_ThenEveryReadModelWithItsLag()
    {
        var (code, output, _) = await RunAsync("projections", "status");
        Assert.Equal(CliApp.Ok, code);
        Assert.Matches(@"(?m)^pools\s+async\s+23\s+23\s+0\s+generation 1$", output);
        Assert.Matches(@"(?m)^account_buckets\s+inline\s+23\s+23\s+0\s+", output);
        Assert.Matches(@"(?m)^snapshots\s+inline\s+", output);
    }

    [Fact]
    public async Task GivenPools_WhenRebuildingWithProgress_ThenNewGenerationAndProgressOnStandardError()
    {
        var (code, output, error) = await RunAsync("projections", "rebuild", "pools");
        Assert.Equal(CliApp.Ok, code);
        Assert.StartsWith("rebuilt pools: 23 events up to sequence 23", output, StringComparison.Ordinal);
        Assert.Contains("pools: 23 events, sequence 23/23 (100%)", error, StringComparison.Ordinal);
        Assert.Equal(2, await _factory.Database.ScalarAsync<int>("SELECT live FROM cb.read_model_generations WHERE name = 'pools'"));
        Assert.Equal(CliApp.Ok, (await RunAsync("audit", "verify")).Code);
    }

    [Theory]
    [InlineData("export", "--format", "csv")]
    [InlineData("export", "--all", "--account", "alice")]
    [InlineData("projections", "rebuild", "no_such_model")]
    [InlineData("export", "--account", "nobody")]
    public async Task GivenBadArguments_WhenRunning_ThenNonZeroExitAndMessageOnStandardError(params string[] args)
    {
        var (code, output, error) = await RunAsync(args);
        Assert.NotEqual(CliApp.Ok, code);
        Assert.NotEqual("", error.Trim());
        Assert.DoesNotContain("alice", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenNoConnection_WhenRunning_ThenFailsWithAHint()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var previous = Environment.GetEnvironmentVariable(CliApp.ConnectionVariable);
        Environment.SetEnvironmentVariable(CliApp.ConnectionVariable, null);
        try
        {
            Assert.Equal(CliApp.Failed, await CliApp.RunAsync(["audit", "verify"], output, error, default));
            Assert.Contains("--connection", error.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(CliApp.ConnectionVariable, previous);
        }
    }

    private async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApp.RunAsync([.. args, "--connection", _factory.Database.ConnectionString], output, error, default);
        return (code, output.ToString().Replace("\r\n", "\n", StringComparison.Ordinal), error.ToString());
    }
}
