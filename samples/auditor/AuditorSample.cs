using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

using ComputeBank.Api.Auditing;

namespace ComputeBank.Samples.Auditor;

/// <summary>
/// What an auditor does with ComputeBank, over HTTP only (no database access): replay an account's history with the
/// running balance after every event, ask the balance as of a past instant and check it against that replay, list its
/// trades on the market with their settlement records, have the service verify the whole ledger (double entry,
/// projections, the market's hours, hash chains), and export the whole ledger to CSV by walking the global event feed.
/// </summary>
public static class AuditorSample
{
    public const string Usage = """
        usage: dotnet run --project samples/auditor -- [--url URL] [--token JWT] --account ID [--csv FILE]
          --url      the service (or $COMPUTEBANK_URL), e.g. http://127.0.0.1:5080
          --token    an auditor's token (or $COMPUTEBANK_TOKEN): deploy/local/cli token --role auditor
          --account  the account to replay (or $COMPUTEBANK_ACCOUNT), e.g. bright-ai-<run> of samples/sme
          --csv      where the ledger export goes (or $COMPUTEBANK_CSV; default computebank-ledger.csv)
        """;

    private const int FeedPage = 500;

    /// <summary>Reads the settings from <paramref name="args"/> and the environment, then runs the audit.</summary>
    public static Task RunAsync(string[] args, TextWriter output, CancellationToken cancellationToken) =>
        RunAsync(args, Environment.GetEnvironmentVariable, output, cancellationToken);

    /// <summary>The same, with the environment variables read from <paramref name="environment"/>.</summary>
    public static Task RunAsync(string[] args, Func<string, string?> environment, TextWriter output, CancellationToken cancellationToken)
    {
        var settings = SampleSettings.Parse(args, environment, ["url", "token", "account", "csv"]);
        return RunAsync(settings.Url(), settings.Token("token", "COMPUTEBANK_TOKEN", "auditor"),
            settings.Required("account", "COMPUTEBANK_ACCOUNT", "the account whose history to replay, e.g. bright-ai-<run> of samples/sme"),
            settings.Optional("csv", "COMPUTEBANK_CSV") ?? "computebank-ledger.csv", output, cancellationToken);
    }

    /// <param name="baseAddress">The service, e.g. http://127.0.0.1:5080.</param>
    /// <param name="token">An auditor's (or operator's) token: it reads every account and the whole feed.</param>
    /// <param name="accountId">The account to replay.</param>
    /// <param name="csvPath">Where the CSV export is written (replaced if it exists).</param>
    /// <param name="output">Where the audit is written.</param>
    /// <param name="cancellationToken">Cancels the calls.</param>
    public static async Task RunAsync(Uri baseAddress, string token, string accountId, string csvPath, TextWriter output, CancellationToken cancellationToken)
    {
        using var auditor = new LedgerApi(baseAddress, token);
        output.WriteLine($"Audit of account {accountId}");

        output.WriteLine();
        output.WriteLine($"1. History with running balances: GET /api/v1/accounts/{accountId}/history");
        var history = await auditor.HistoryAsync(accountId, cancellationToken);
        var running = new SortedDictionary<string, JsonNode>(StringComparer.Ordinal);
        var after = new List<Dictionary<string, string>>();
        foreach (var e in history)
        {
            output.WriteLine($"   v{(long?)e["version"],-3} {(string?)e["time"]}  {(string?)e["type"],-26} {Describe(e["data"]!)}");
            foreach (var balance in e["balances"]!.AsArray())
            {
                running[Show.Bucket(balance)] = balance!;
                output.WriteLine($"        {Show.Bucket(balance),-28} posted {(string?)balance!["posted"],9}  pending {(string?)balance["pending"],9}  available {(string?)balance["available"],9}");
            }

            after.Add(running.Where(b => !IsZero(b.Value)).ToDictionary(b => b.Key, b => Triple(b.Value), StringComparer.Ordinal));
        }

        output.WriteLine($"   {history.Count} events");

        output.WriteLine();
        var past = history[history.Count / 2];
        var instant = (string)past["time"]!;
        output.WriteLine($"2. Balances as of {instant}, the time of version {(long?)past["version"]}: GET /api/v1/accounts/{accountId}/balances?asOf={instant}");
        var asOf = await auditor.GetAsync($"/api/v1/accounts/{Uri.EscapeDataString(accountId)}/balances?asOf={Uri.EscapeDataString(instant)}", cancellationToken);
        var version = (long)asOf["version"]!;
        output.WriteLine($"   replayed to version {version} (last event at {(string?)asOf["lastEventAt"]}), status {(string?)asOf["status"]}");
        Show.Balances(output, asOf["balances"]);
        var told = asOf["balances"]!.AsArray().Where(b => !IsZero(b!)).ToDictionary(b => Show.Bucket(b), b => Triple(b!), StringComparer.Ordinal);
        var replayed = version == 0 ? [] : after[(int)version - 1];
        var agrees = told.Count == replayed.Count && told.All(b => replayed.TryGetValue(b.Key, out var mine) && mine == b.Value);
        output.WriteLine(agrees
            ? $"   equals the running balance after version {version} in the history above"
            : $"   DIFFERS from the running balance after version {version} in the history above");

        output.WriteLine();
        output.WriteLine($"3. Trades on the market and their settlement records: GET /api/v1/market/trades?accountId={accountId}");
        var trades = (await auditor.GetAsync($"/api/v1/market/trades?accountId={Uri.EscapeDataString(accountId)}&limit=1000", cancellationToken))["trades"]!.AsArray();
        foreach (var trade in trades.Reverse())
        {
            var paid = trade!["settlement"] is JsonObject settlement
                ? $", paid {(string?)settlement["amount"]} {(string?)settlement["currency"]} by {(string?)settlement["rail"]} ({(string?)settlement["paymentReference"]})"
                : "";
            output.WriteLine($"   {(string?)trade["tradeId"]}: {(string?)trade["hours"]} h {(string?)trade["resourceClass"]}/{(string?)trade["region"]}/{(string?)trade["period"]} " +
                $"from {(string?)trade["sellerAccountId"]} at {(string?)trade["unitPrice"]} = {(string?)trade["amount"]} CNY, {(string?)trade["status"]}{paid}");
        }

        output.WriteLine($"   {trades.Count} trades; a settled one is a transfer in the history above (V1.CreditsTransferredIn with the same settlement)");

        output.WriteLine();
        output.WriteLine("4. Verify the whole ledger: GET /api/v1/audit/verify");
        var report = await auditor.GetAsync("/api/v1/audit/verify", cancellationToken);
        output.WriteLine($"   ok: {((bool?)report["ok"] == true ? "yes" : "NO")}, {(long?)report["eventsChecked"]} events in {(long?)report["streamsChecked"]} streams replayed, " +
            $"{(long?)report["discrepancyCount"]} discrepancies (double entry per resource class, projections = fold of events, the market's hours, hash chains)");
        foreach (var discrepancy in report["discrepancies"]?.AsArray() ?? [])
        {
            output.WriteLine($"   - {discrepancy?.ToJsonString()}");
        }

        output.WriteLine();
        output.WriteLine($"5. Export the ledger to CSV by walking the event feed: GET /api/v1/events?afterSequence=N&limit={FeedPage}");
        var (events, streams, last, mine) = await ExportAsync(auditor, csvPath, accountId, cancellationToken);
        output.WriteLine($"   {events} events of {streams} streams, sequences up to {last}, written to {csvPath}; {mine} of them are {accountId}'s");
        output.WriteLine("   one row per posting (signed hours) or per event that posts nothing, as deploy/local/cli export --format csv writes (docs/export-csv.md)");
        output.WriteLine($"   columns: {LedgerCsv.Header}");

        if (!agrees || (bool?)report["ok"] != true || mine != history.Count)
        {
            throw new SampleException(
                !agrees ? $"the balance as of {instant} differs from the replayed history"
                : mine != history.Count ? $"the feed has {mine} events of {accountId}, its history {history.Count}"
                : "the ledger verification found discrepancies (listed above)");
        }
    }

    /// <summary>
    /// Exports the whole ledger to <paramref name="csvPath"/> in the ledger's CSV format (docs/export-csv.md, the same
    /// rows as <c>deploy/local/cli export --all --format csv</c>) by walking the <c>/api/v1/events</c> feed from the start.
    /// </summary>
    /// <param name="baseAddress">The service.</param>
    /// <param name="token">An auditor's or operator's token (the feed is theirs to read).</param>
    /// <param name="csvPath">Where the CSV goes (replaced if it exists).</param>
    /// <param name="cancellationToken">Cancels the calls.</param>
    /// <returns>The number of events exported and the last sequence.</returns>
    public static async Task<(int Events, long LastSequence)> ExportCsvAsync(Uri baseAddress, string token, string csvPath, CancellationToken cancellationToken)
    {
        using var auditor = new LedgerApi(baseAddress, token);
        var (events, _, last, _) = await ExportAsync(auditor, csvPath, "", cancellationToken);
        return (events, last);
    }

    /// <summary>Walks the feed from the start, writing each event's rows; returns the counts the audit prints.</summary>
    private static async Task<(int Events, int Streams, long LastSequence, int OfAccount)> ExportAsync(LedgerApi auditor, string csvPath, string accountId, CancellationToken cancellationToken)
    {
        var streams = new HashSet<string>(StringComparer.Ordinal);
        var (count, ofAccount, after) = (0, 0, 0L);
        await using var csv = new StreamWriter(csvPath, append: false, new UTF8Encoding(false));
        await LedgerCsv.WriteLineAsync(csv, LedgerCsv.Header, cancellationToken);
        while (true)
        {
            var page = await auditor.GetAsync(string.Create(CultureInfo.InvariantCulture, $"/api/v1/events?afterSequence={after}&limit={FeedPage}"), cancellationToken);
            var events = page["events"]!.AsArray();
            foreach (var e in events)
            {
                var data = e!["data"]!;
                var streamId = (string)e["streamId"]!;
                streams.Add(streamId);
                count++;
                if ((string?)data["accountId"] == accountId && streamId.StartsWith("account-", StringComparison.Ordinal))
                {
                    ofAccount++;
                }

                foreach (var row in LedgerCsv.Rows((long)e["sequence"]!, (string)e["time"]!, streamId, (long)e["version"]!, (string)e["type"]!, data, (string?)e["metadata"]?["user"]))
                {
                    await LedgerCsv.WriteLineAsync(csv, row, cancellationToken);
                }
            }

            var next = (long)page["next"]!;
            if (events.Count == 0 || next == after)
            {
                return (count, streams.Count, after, ofAccount);
            }

            after = next;
        }
    }

    /// <summary>The gist of an event for the history listing: hours, counterparty, hold, settlement, reason.</summary>
    private static string Describe(JsonNode data)
    {
        var parts = new List<string>();
        if ((string?)data["hours"] is { } hours)
        {
            parts.Add(hours + " h");
        }

        AddIf(parts, "from", data["fromAccountId"]);
        AddIf(parts, "to", data["toAccountId"]);
        AddIf(parts, "hold", data["holdId"]);
        AddIf(parts, "captured", data["capturedHours"]);
        AddIf(parts, "job", data["jobReference"]);
        AddIf(parts, "reason", data["reason"]);
        AddIf(parts, "kind", data["kind"]);
        if (data["settlement"] is JsonObject settlement)
        {
            parts.Add($"paid {settlement["amount"]} {(string?)settlement["currency"]} by {(string?)settlement["rail"]} ({(string?)settlement["paymentReference"]})");
        }

        return string.Join(", ", parts);
    }

    private static void AddIf(List<string> parts, string label, JsonNode? value)
    {
        if (value is JsonValue v && v.ToString() is { Length: > 0 } text)
        {
            parts.Add($"{label} {text}");
        }
    }

    private static string Triple(JsonNode balance) => $"{(string?)balance["posted"]}/{(string?)balance["pending"]}/{(string?)balance["available"]}";

    private static bool IsZero(JsonNode balance) => Triple(balance) == "0.000/0.000/0.000";
}
