using System.Text.RegularExpressions;
using ComputeBank.Api.Security;
using ComputeBank.Samples.Auditor;
using ComputeBank.Samples.Provider;
using ComputeBank.Samples.Sme;
using ComputeBank.Testing;

namespace ComputeBank.Samples.Tests;

/// <summary>
/// Each sample against the real service with tokens it accepts, its output approved (run ids and timestamps scrubbed).
/// Every test uses a run id of its own, so the tests do not depend on each other's accounts or order.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed partial class SampleTests(ServiceFixture service)
{
    private const string ThisMonth = "2026-11";

    // The samples that buy on the market run in months of their own, so that the book of their next month holds only
    // the offers their own provider run listed (the other tests' providers list in 2026-12).
    private const string SmeMonth = "2027-06";
    private const string AuditorMonth = "2028-06";
    private const string Provider = "acme-cloud";
    private const string Sme = "bright-ai";

    [Fact]
    public async Task Provider_OpensDepositsSellsDefersAndListsOffers()
    {
        var run = NewRun();

        var output = await ProviderAsync(run);

        Approvals.VerifyText(Scrub(output, run));
    }

    [Fact]
    public async Task Sme_HoldsCapturesLetsAHoldExpireIsRefusedAndWithdrawsTheRest_AndBuysOnTheMarket()
    {
        var run = NewRun();
        await ProviderAsync(run, SmeMonth);

        var output = await SmeAsync(run);

        Approvals.VerifyText(Scrub(output, run));
    }

    [Fact]
    public async Task Auditor_ReplaysTravelsInTimeListsTradesVerifiesAndExportsTheFeed()
    {
        var run = NewRun();
        await ProviderAsync(run, AuditorMonth);
        await SmeAsync(run);
        var csv = Path.Combine(Path.GetTempPath(), $"computebank-ledger-{run}.csv");
        var output = new StringWriter();

        try
        {
            await AuditorSample.RunAsync(service.BaseAddress, service.Token(Roles.Auditor), $"{Sme}-{run}", csv, output, CancellationToken.None);

            // The ledger holds other tests' events too: the counts are checked against the database, not approved.
            var text = output.ToString();
            var events = await service.Database.ScalarAsync<long>("SELECT count(*) FROM cb.events");
            var streams = await service.Database.ScalarAsync<long>("SELECT count(DISTINCT stream_id) FROM cb.events");
            // One row per posting (or per event that posts nothing): every sequence appears, in order.
            var rows = (await File.ReadAllLinesAsync(csv)).Skip(1).ToList();
            var sequences = rows.Select(r => long.Parse(r.Split(',')[0], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(Enumerable.Range(1, (int)events).Select(i => (long)i), sequences.Distinct());
            Assert.Equal(sequences.Order(), sequences);
            Assert.Equal(8, rows.Where(r => r.Contains($",account-{Sme}-{run},", StringComparison.Ordinal)).Select(r => r.Split(',')[0]).Distinct().Count());
            Assert.Contains($"{events} events in {streams} streams replayed", text, StringComparison.Ordinal);
            Assert.Contains($"{events} events of {streams} streams, sequences up to {events}", text, StringComparison.Ordinal);
            Approvals.VerifyText(Scrub(CountsPattern().Replace(text.Replace(csv, "{csv}", StringComparison.Ordinal), "{count}"), run));
        }
        finally
        {
            File.Delete(csv);
        }
    }

    [Fact]
    public async Task Sme_BeforeAnythingWasSoldToIt_SaysToRunTheProviderFirst()
    {
        var run = NewRun();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => SmeAsync(run));

        Assert.Equal($"{Sme}-{run} has bought nothing yet: run samples/provider with --run {run} first (it sells this account 40 h)", error.Message);
    }

    [Fact]
    public async Task Provider_WithATokenSignedByAnotherKey_IsToldTheTokenWasRefused()
    {
        var foreign = DevTokens.Mint(Roles.Provider, Provider, TimeSpan.FromHours(1), new byte[32]);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => ProviderSample.RunAsync(
            service.BaseAddress, foreign, service.Token(Roles.Consumer, Sme), NewRun(), ThisMonth, TextWriter.Null, CancellationToken.None));

        Assert.StartsWith("POST /api/v1/accounts answered 401: the token was refused", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Provider_WithNoServiceAtTheUrl_SaysItCannotReachIt()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => ProviderSample.RunAsync(
            new Uri("http://127.0.0.1:1"), service.Token(Roles.Provider, Provider), service.Token(Roles.Consumer, Sme), NewRun(), ThisMonth, TextWriter.Null, CancellationToken.None));

        Assert.StartsWith("cannot reach http://127.0.0.1:1/: ", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("Is the service running (deploy/local/run)?", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auditor_WithAnSmeToken_IsForbiddenToReadTheProvidersAccount()
    {
        var run = NewRun();
        await ProviderAsync(run);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => AuditorSample.RunAsync(
            service.BaseAddress, service.Token(Roles.Consumer, Sme), $"{Provider}-{run}", Path.GetTempFileName(), TextWriter.Null, CancellationToken.None));

        Assert.Contains($"answered 403 forbidden: Not allowed for this caller: account '{Provider}-{run}' is not one of the caller's.", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string[], string> MissingSettings => new()
    {
        { "provider", [], "missing --url (or $COMPUTEBANK_URL)" },
        { "provider", ["--url", "http://127.0.0.1:1"], "missing --token (or $COMPUTEBANK_TOKEN): a bearer token of role provider" },
        { "provider", ["--url", "http://127.0.0.1:1", "--token", "a.b.c"], "missing --buyer-token (or $COMPUTEBANK_BUYER_TOKEN)" },
        { "provider", ["--url", "ftp://x"], "--url 'ftp://x' is not an absolute http(s) URL" },
        { "provider", ["--url", "http://127.0.0.1:1", "--token", "a.b.c", "--buyer-token", "a.b.c", "--period", "November"], "period 'November' is not a month written yyyy-MM" },
        { "provider", ["--colour", "red"], "unknown argument '--colour'" },
        { "sme", ["--url", "http://127.0.0.1:1", "--token", "x"], "missing --run (or $COMPUTEBANK_RUN)" },
        { "sme", ["--url", "http://127.0.0.1:1", "--token", "x", "--run", "r1"], "missing --settlement-token (or $COMPUTEBANK_SETTLEMENT_TOKEN): a bearer token of role settlement" },
        { "sme", ["--url", "http://127.0.0.1:1", "--token", "not-a-jwt", "--settlement-token", "a.b.c", "--run", "r1"], "the token is not a JWT" },
        { "sme", ["--run", "r1", "--expire-seconds", "0"], "--expire-seconds '0' must be a whole number of seconds from 1 to 60" },
        { "auditor", ["--url", "http://127.0.0.1:1", "--token", "x"], "missing --account (or $COMPUTEBANK_ACCOUNT)" },
        { "auditor", ["--url"], "--url needs a value" },
    };

    [Theory]
    [MemberData(nameof(MissingSettings))]
    public async Task Samples_WithMissingOrBadSettings_SayWhatIsWrong(string sample, string[] args, string expected)
    {
        // An empty environment: the settings come from the arguments alone, whatever the developer's shell exports.
        Func<string, string?> environment = _ => null;
        Func<Task> run = sample switch
        {
            "provider" => () => ProviderSample.RunAsync(args, environment, TextWriter.Null, CancellationToken.None),
            "sme" => () => SmeSample.RunAsync(args, environment, TextWriter.Null, CancellationToken.None),
            _ => () => AuditorSample.RunAsync(args, environment, TextWriter.Null, CancellationToken.None),
        };

        var error = await Assert.ThrowsAnyAsync<Exception>(run);

        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Samples_TakeTheirSettingsFromTheEnvironment()
    {
        var run = NewRun();
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["COMPUTEBANK_URL"] = service.BaseAddress.ToString(),
            ["COMPUTEBANK_TOKEN"] = service.Token(Roles.Provider, Provider),
            ["COMPUTEBANK_BUYER_TOKEN"] = service.Token(Roles.Consumer, Sme),
            ["COMPUTEBANK_RUN"] = run,
            ["COMPUTEBANK_PERIOD"] = ThisMonth,
        };
        var output = new StringWriter();

        await ProviderSample.RunAsync([], environment.GetValueOrDefault, output, CancellationToken.None);

        Assert.StartsWith($"Provider '{Provider}', run {run}: account {Provider}-{run}, this month {ThisMonth}, next month 2026-12", output.ToString(), StringComparison.Ordinal);
    }

    private async Task<string> ProviderAsync(string run, string month = ThisMonth)
    {
        var output = new StringWriter();
        await ProviderSample.RunAsync(service.BaseAddress, service.Token(Roles.Provider, Provider), service.Token(Roles.Consumer, Sme), run, month, output, CancellationToken.None);
        return output.ToString();
    }

    private async Task<string> SmeAsync(string run)
    {
        var output = new StringWriter();
        await SmeSample.RunAsync(service.BaseAddress, service.Token(Roles.Consumer, Sme), service.Token(Roles.Settlement), run, TimeSpan.FromSeconds(2), output, CancellationToken.None);
        return output.ToString();
    }

    /// <summary>A run id of fixed length, so that the scrubbed output keeps its column alignment.</summary>
    private static string NewRun() => "t" + Guid.NewGuid().ToString("N")[..8];

    private static string Scrub(string output, string run) => output.Replace(run, "{run}", StringComparison.Ordinal);

    [GeneratedRegex(@"\b\d+(?= events in | streams replayed| events of | streams, sequences)|(?<=sequences up to )\d+")]
    private static partial Regex CountsPattern();
}
