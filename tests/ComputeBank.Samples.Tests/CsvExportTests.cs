using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using ComputeBank.Api.Security;
using ComputeBank.Cli;
using ComputeBank.Samples.Auditor;

namespace ComputeBank.Samples.Tests;

/// <summary>
/// The ledger's two CSV exports (docs/export-csv.md): <c>cli export --all --format csv</c> from the database and
/// samples/auditor's walk of the <c>/api/v1/events</c> feed write the same header and the same rows for one ledger, and
/// neither lets a spreadsheet evaluate text a client chose.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class CsvExportTests(ServiceFixture service)
{
    private const string Header =
        "sequence,time,stream_id,version,type,operation_id,hold_id,account_id,resource_class,region,period,hours,held_hours," +
        "counterparty_account_id,rate,settlement_amount,settlement_currency,settlement_rail,settlement_reference,reference,reason," +
        "kind,owner_id,display_name,credit_limit,expires_at,user";

    [Fact]
    public async Task CliAndAuditorExports_OfOneLedger_HaveTheSameHeaderAndRows_AndNeutraliseFormulas()
    {
        var run = "x" + Guid.NewGuid().ToString("N")[..8];
        var (provider, sme) = ($"prov-{run}", $"sme-{run}");
        using var asProvider = Client(service.Token(Roles.Provider, "csv-provider"));
        using var asSme = Client(service.Token(Roles.Consumer, "csv-sme"));
        await PostAsync(asProvider, "/api/v1/accounts", new { accountId = provider, ownerId = "csv-provider", kind = "provider", displayName = "=HYPERLINK(\"http://x\",\"y\")" });
        await PostAsync(asSme, "/api/v1/accounts", new { accountId = sme, ownerId = "csv-sme", kind = "consumer", displayName = "-SME, Ltd" });
        await PostAsync(asProvider, "/api/v1/deposits", new { depositId = $"dep-{run}", accountId = provider, resourceClass = "gpu.h100", region = "beijing", period = "2026-11", hours = "100", reference = "=1+2" });
        await PostAsync(asProvider, "/api/v1/transfers", new
        {
            transferId = $"=tr-{run}", fromAccountId = provider, toAccountId = sme, resourceClass = "gpu.h100", region = "beijing", period = "2026-11", hours = "40",
            settlement = new { amount = "1200.00", rail = "e-cny", paymentReference = "=cmd|' /C calc'!A0" },
        });
        await PostAsync(asSme, "/api/v1/withdrawals", new { withdrawalId = $"wd-{run}", accountId = sme, resourceClass = "gpu.h100", region = "beijing", period = "2026-11", hours = "12.5", jobReference = "@SUM(A1:A2)" });
        await PostAsync(asSme, "/api/v1/holds", new { holdId = $"hold-{run}", accountId = sme, resourceClass = "gpu.h100", region = "beijing", period = "2026-11", hours = "5", expiresAt = DateTimeOffset.UtcNow.AddHours(1) });
        await PostAsync(asSme, $"/api/v1/holds/hold-{run}/capture", new { hours = "2" }, HttpStatusCode.OK);
        await PostAsync(asProvider, "/api/v1/period-transfers", new
        {
            transferId = $"pt-{run}", fromAccountId = provider, resourceClass = "gpu.h100", from = new { region = "beijing", period = "2026-11" }, to = new { region = "beijing", period = "2027-03" }, hours = "20",
        });

        var fromDatabase = Path.GetTempFileName();
        var fromFeed = Path.GetTempFileName();
        try
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            Assert.Equal(CliApp.Ok, await CliApp.RunAsync(
                ["export", "--all", "--format", "csv", "--output", fromDatabase, "--connection", service.Database.ConnectionString], output, error, CancellationToken.None));
            await AuditorSample.ExportCsvAsync(service.BaseAddress, service.Token(Roles.Auditor), fromFeed, CancellationToken.None);

            var cli = await File.ReadAllTextAsync(fromDatabase);
            var feed = await File.ReadAllTextAsync(fromFeed);
            Assert.StartsWith(Header + "\n", cli, StringComparison.Ordinal);
            Assert.StartsWith(Header + "\n", feed, StringComparison.Ordinal);
            // Other tests' holds may expire while the two exports run, so the feed (read second) may hold more events:
            // every row of the database's export is in the feed's, and this test's own rows are the same, in order.
            var cliLines = cli.TrimEnd('\n').Split('\n');
            var feedLines = feed.TrimEnd('\n').Split('\n');
            Assert.Empty(cliLines.Except(feedLines, StringComparer.Ordinal));
            bool Mine(string line) => line.Contains($"-{run},", StringComparison.Ordinal);
            Assert.Equal(cliLines.Where(Mine), feedLines.Where(Mine));
            Assert.True(cliLines.Count(Mine) >= 15, cli);

            var rows = cli.TrimEnd('\n').Split('\n').Skip(1).Select(Parse).Where(r => r[Column("stream_id")].EndsWith(run, StringComparison.Ordinal)).ToList();
            Assert.All(rows, r => Assert.Equal(27, r.Count));
            string Cell(List<string> row, string column) => row[Column(column)];
            List<string> Row(string type, string account) => Assert.Single(rows, r => Cell(r, "type") == type && Cell(r, "account_id") == account);

            Assert.Equal("'=HYPERLINK(\"http://x\",\"y\")", Cell(Row("V1.AccountOpened", provider), "display_name"));
            Assert.Equal("'-SME, Ltd", Cell(Row("V1.AccountOpened", sme), "display_name"));
            Assert.Contains(",\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",", cli, StringComparison.Ordinal);

            var deposit = Row("V1.CapacityDeposited", provider);
            Assert.Equal(["100.000", "'=1+2", $"dep-{run}"], new[] { Cell(deposit, "hours"), Cell(deposit, "reference"), Cell(deposit, "operation_id") });
            Assert.Equal("-100.000", Cell(Row("V1.CapacityDeposited", "bank.capacity"), "hours"));

            var sold = Row("V1.CreditsTransferredOut", provider);
            Assert.Equal(["-40.000", sme, "1200.00", "CNY", "e-cny", "'=cmd|' /C calc'!A0", $"'=tr-{run}"],
                new[] { "hours", "counterparty_account_id", "settlement_amount", "settlement_currency", "settlement_rail", "settlement_reference", "operation_id" }.Select(c => Cell(sold, c)));
            Assert.Equal(["40.000", provider, "1200.00"], new[] { "hours", "counterparty_account_id", "settlement_amount" }.Select(c => Cell(Row("V1.CreditsTransferredIn", sme), c)));

            var withdrawn = Row("V1.CreditsWithdrawn", sme);
            Assert.Equal(["-12.500", "'@SUM(A1:A2)"], new[] { Cell(withdrawn, "hours"), Cell(withdrawn, "reference") });
            Assert.Equal("12.500", Cell(rows.Single(r => Cell(r, "type") == "V1.CreditsWithdrawn" && Cell(r, "account_id") == "bank.consumption" && Cell(r, "stream_id") == $"account-{sme}"), "hours"));

            var held = Row("V1.CreditsHeld", sme);
            Assert.Equal(["", "5.000", $"hold-{run}"], new[] { Cell(held, "hours"), Cell(held, "held_hours"), Cell(held, "hold_id") });
            var captured = rows.Where(r => Cell(r, "type") == "V1.HeldCreditsCaptured").ToList();
            Assert.Equal([(sme, "-2.000", "-5.000"), ("bank.consumption", "2.000", "")], captured.Select(r => (Cell(r, "account_id"), Cell(r, "hours"), Cell(r, "held_hours"))));

            var deferred = rows.Where(r => Cell(r, "type") == "V1.CreditsTransferredAcrossPeriods").ToList();
            // The difference goes to bank.conversion in the source bucket (sorted by hours as text: -20, 18, 2).
            Assert.Equal([(provider, "2026-11", "-20.000"), (provider, "2027-03", "18.000"), ("bank.conversion", "2026-11", "2.000")],
                deferred.Select(r => (Cell(r, "account_id"), Cell(r, "period"), Cell(r, "hours"))).OrderBy(r => r.Item3, StringComparer.Ordinal));
            Assert.All(deferred, r => Assert.Equal("0.9", Cell(r, "rate")));

            // No cell a spreadsheet would evaluate: text never starts with = + - @, numbers are plain numbers.
            var numeric = new[] { "sequence", "version", "hours", "held_hours", "rate", "settlement_amount", "credit_limit" }.Select(Column).ToHashSet();
            foreach (var row in rows)
            {
                for (var c = 0; c < row.Count; c++)
                {
                    if (numeric.Contains(c))
                    {
                        Assert.Matches(@"^(-?\d+(\.\d+)?)?$", row[c]);
                    }
                    else
                    {
                        Assert.False(row[c].Length > 0 && "=+-@\t\r".Contains(row[c][0], StringComparison.Ordinal), $"cell '{row[c]}' of column {Header.Split(',')[c]}");
                    }
                }
            }
        }
        finally
        {
            File.Delete(fromDatabase);
            File.Delete(fromFeed);
        }
    }

    private static int Column(string name) => Array.IndexOf(Header.Split(','), name) is var i and >= 0 ? i : throw new ArgumentException(name);

    /// <summary>One CSV line (RFC 4180, no line breaks inside quotes in these rows) as its cells.</summary>
    private static List<string> Parse(string line)
    {
        var cells = new List<string>();
        var cell = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    cell.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    cell.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                cells.Add(cell.ToString());
                cell.Clear();
            }
            else
            {
                cell.Append(c);
            }
        }

        cells.Add(cell.ToString());
        return cells;
    }

    private static HttpClient Client(string token)
    {
        var http = new HttpClient { BaseAddress = null, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    private async Task PostAsync(HttpClient http, string path, object body, HttpStatusCode expected = HttpStatusCode.Created)
    {
        using var response = await http.PostAsJsonAsync(new Uri(service.BaseAddress, path), body);
        Assert.True(response.StatusCode == expected, $"POST {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}
