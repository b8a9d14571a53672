using System.Net;
using System.Text.Json.Nodes;

namespace ComputeBank.Samples.Sme;

/// <summary>
/// What an SME's job scheduler does with ComputeBank: find the credits it bought, reserve them for a training job with
/// a hold, capture what the job used, let an unused hold expire on its own, see the refusal when it asks for more than it
/// has, and withdraw the rest; then buy next month's capacity on the market across two regions, have the payment system
/// confirm the payment of one trade, and let the other expire unpaid.
/// </summary>
public static class SmeSample
{
    public const string Usage = """
        usage: dotnet run --project samples/sme -- [--url URL] [--token JWT] [--settlement-token JWT] [--run ID] [--expire-seconds N]
          --url               the service (or $COMPUTEBANK_URL), e.g. http://127.0.0.1:5080
          --token             the SME's token (or $COMPUTEBANK_TOKEN): deploy/local/cli token --role consumer --owner bright-ai
          --settlement-token  the payment system's token (or $COMPUTEBANK_SETTLEMENT_TOKEN), which confirms a trade's payment:
                              deploy/local/cli token --role settlement
          --run               the run of samples/provider that sold this SME its credits (or $COMPUTEBANK_RUN)
          --expire-seconds    how soon the hold that is left to expire expires (default 3)
        """;

    /// <summary>How long the sample waits for the scheduler to expire a hold after its <c>expiresAt</c>.</summary>
    public static readonly TimeSpan ExpiryPatience = TimeSpan.FromSeconds(30);

    /// <summary>Reads the settings from <paramref name="args"/> and the environment, then runs the tour.</summary>
    public static Task RunAsync(string[] args, TextWriter output, CancellationToken cancellationToken) =>
        RunAsync(args, Environment.GetEnvironmentVariable, output, cancellationToken);

    /// <summary>The same, with the environment variables read from <paramref name="environment"/>.</summary>
    public static Task RunAsync(string[] args, Func<string, string?> environment, TextWriter output, CancellationToken cancellationToken)
    {
        var settings = SampleSettings.Parse(args, environment, ["url", "token", "settlement-token", "run", "expire-seconds"]);
        var run = settings.Required("run", "COMPUTEBANK_RUN", "the --run given to samples/provider, which sold this SME its credits");
        var seconds = settings.Optional("expire-seconds", "COMPUTEBANK_EXPIRE_SECONDS") ?? "3";
        if (!int.TryParse(seconds, System.Globalization.CultureInfo.InvariantCulture, out var expireSeconds) || expireSeconds is < 1 or > 60)
        {
            throw new SampleException($"--expire-seconds '{seconds}' must be a whole number of seconds from 1 to 60", usage: true);
        }

        return RunAsync(settings.Url(), settings.Token("token", "COMPUTEBANK_TOKEN", "consumer"),
            settings.Token("settlement-token", "COMPUTEBANK_SETTLEMENT_TOKEN", "settlement"), run, TimeSpan.FromSeconds(expireSeconds), output, cancellationToken);
    }

    /// <param name="baseAddress">The service, e.g. http://127.0.0.1:5080.</param>
    /// <param name="token">A consumer token; its <c>owner</c> owns the SME account <c>{owner}-{run}</c>.</param>
    /// <param name="settlementToken">A token of role <c>settlement</c>: the payment system confirming a payment.</param>
    /// <param name="run">The run of the provider sample that sold the credits.</param>
    /// <param name="expireAfter">How soon the hold that is left alone expires.</param>
    /// <param name="output">Where the walkthrough is written.</param>
    /// <param name="cancellationToken">Cancels the calls and the wait.</param>
    public static async Task RunAsync(Uri baseAddress, string token, string settlementToken, string run, TimeSpan expireAfter, TextWriter output, CancellationToken cancellationToken)
    {
        using var sme = new LedgerApi(baseAddress, token);
        using var payments = new LedgerApi(baseAddress, settlementToken);
        var account = TourAccounts.Of(sme.Owner, run);
        output.WriteLine($"SME '{sme.Owner}', run {run}: account {account}");

        output.WriteLine();
        output.WriteLine("1. Open the account: POST /api/v1/accounts");
        var opened = await TourAccounts.OpenSmeAsync(sme, run, cancellationToken);
        if (opened.Status != HttpStatusCode.Created)
        {
            throw new SampleException($"could not open {account}: {opened.Describe()}");
        }

        output.WriteLine($"   {(int)opened.Status} {account}: kind {(string?)opened.Body!["kind"]}{Show.Replayed(opened)}");

        output.WriteLine();
        output.WriteLine($"2. The credits bought: GET /api/v1/accounts/{account}/history");
        var purchase = (await sme.HistoryAsync(account, cancellationToken))
            .FirstOrDefault(e => (string?)e["type"] == "V1.CreditsTransferredIn" && e["data"]?["settlement"] is not null)
            ?? throw new SampleException($"{account} has bought nothing yet: run samples/provider with --run {run} first (it sells this account 40 h)");
        var data = purchase["data"]!;
        var settlement = data["settlement"]!;
        var bucket = data["bucket"]!;
        var where = Show.Bucket(bucket);
        output.WriteLine($"   {(string?)data["hours"]} h of {where} from {(string?)data["fromAccountId"]}, " +
            $"paid {settlement["amount"]} {(string?)settlement["currency"]} by {(string?)settlement["rail"]}, reference {(string?)settlement["paymentReference"]}");
        var available = await AvailableAsync(sme, account, where, cancellationToken);
        output.WriteLine($"   available now: {available} h");
        var location = new Location((string)bucket["resourceClass"]!, (string)bucket["region"]!, (string)bucket["period"]!);

        output.WriteLine();
        var training = $"{account}.train";
        output.WriteLine($"3. Reserve 30 h for training job {training}, for at most an hour: POST /api/v1/holds");
        var held = await PlaceHoldAsync(sme, training, account, location, "30", DateTimeOffset.UtcNow.AddHours(1), cancellationToken);
        output.WriteLine($"   hold {(string?)held["hold"]!["status"]}: {Show.BalanceIn(held, account, where)}");

        output.WriteLine();
        output.WriteLine($"4. The job finished having used 22.5 h: POST /api/v1/holds/{training}/capture");
        var captured = await sme.PostAsync($"/api/v1/holds/{training}/capture", new { hours = "22.5" }, cancellationToken);
        var hold = captured["hold"]!;
        output.WriteLine($"   hold {(string?)hold["status"]}: {(string?)hold["capturedHours"]} of {(string?)hold["hours"]} h withdrawn, the rest released");
        output.WriteLine($"   {Show.BalanceIn(captured, account, where)}");

        output.WriteLine();
        var evaluation = $"{account}.eval";
        var expiresAt = DateTimeOffset.UtcNow.Add(expireAfter);
        output.WriteLine($"5. Reserve 5 h for evaluation job {evaluation}, expiring in {expireAfter.TotalSeconds} s, and never use it: POST /api/v1/holds");
        var reserved = await PlaceHoldAsync(sme, evaluation, account, location, "5", expiresAt, cancellationToken);
        output.WriteLine($"   hold {(string?)reserved["hold"]!["status"]}: {Show.BalanceIn(reserved, account, where)}");
        output.WriteLine($"   waiting for the service's scheduler to expire it: GET /api/v1/holds/{evaluation} until it has ended");
        var expired = await WaitUntilEndedAsync(sme, $"/api/v1/holds/{evaluation}", expiresAt, $"hold {evaluation}", cancellationToken);
        output.WriteLine($"   hold {(string?)expired["status"]}, released by the scheduler at {(string?)expired["endedAt"]} (expiresAt {(string?)expired["expiresAt"]}); nobody asked");
        output.WriteLine($"   available again: {await AvailableAsync(sme, account, where, cancellationToken)} h");

        output.WriteLine();
        output.WriteLine("6. Ask to withdraw 100 h, more than is left: POST /api/v1/withdrawals");
        var refused = await sme.SendAsync(HttpMethod.Post, "/api/v1/withdrawals", Withdrawal($"{account}.too-much", account, location, "100", "inference batch"), cancellationToken);
        output.WriteLine($"   {(int)refused.Status} {refused.Body?["code"]} (application/problem+json): {(string?)refused.Body?["detail"]}");
        if (refused.Code != "insufficient_credits")
        {
            throw new SampleException($"expected 422 insufficient_credits, the ledger answered {refused.Describe()}");
        }

        output.WriteLine();
        var rest = await AvailableAsync(sme, account, where, cancellationToken);
        output.WriteLine($"7. Withdraw the remaining {rest} h for the inference batch: POST /api/v1/withdrawals");
        var withdrawn = await sme.PostAsync("/api/v1/withdrawals", Withdrawal($"{account}.rest", account, location, rest, "inference batch"), cancellationToken);
        output.WriteLine($"   {Show.BalanceIn(withdrawn, account, where)}");

        await BuyOnTheMarketAsync(sme, payments, account, location, output, cancellationToken);

        output.WriteLine();
        output.WriteLine($"11. Balances: GET /api/v1/accounts/{account}");
        var final = await sme.GetAsync($"/api/v1/accounts/{account}", cancellationToken);
        output.WriteLine($"   status {(string?)final["status"]}, version {(long?)final["version"]}");
        Show.Balances(output, final["balances"]);
    }

    /// <summary>How long each trade of the market order may wait for its payment (the shortest window the market allows).</summary>
    public const int PaymentWindowSeconds = 30;

    /// <summary>
    /// Steps 8 to 10: one order for next month's hours in two regions, filled from the cheapest offers; the payment system
    /// pays the first trade (delivery versus payment), the second is left unpaid until the service's scheduler undoes it.
    /// </summary>
    private static async Task BuyOnTheMarketAsync(LedgerApi sme, LedgerApi payments, string account, Location bought, TextWriter output, CancellationToken cancellationToken)
    {
        var period = SamplePeriod.Parse(bought.Period).Plus(1).ToString();
        var orderId = $"{account}.order.1";
        output.WriteLine();
        output.WriteLine($"8. Buy 40 h of {bought.ResourceClass} for {period} in beijing or xiongan at up to 13.00 CNY/h, {PaymentWindowSeconds} s to pay: POST /api/v1/market/orders");
        var order = await sme.PostAsync("/api/v1/market/orders", new
        {
            orderId,
            accountId = account,
            bought.ResourceClass,
            period,
            regions = new[] { "beijing", "xiongan" },
            hours = "40",
            maxUnitPrice = "13.00",
            paymentWindowSeconds = PaymentWindowSeconds,
        }, cancellationToken);
        output.WriteLine($"   {(string?)order["status"]}: {(string?)order["hoursFilled"]} h in {order["trades"]!.AsArray().Count} trades, cheapest first");
        var trades = order["trades"]!.AsArray().Select(t => t!).ToList();
        foreach (var trade in trades)
        {
            output.WriteLine($"   {(string?)trade["tradeId"]}: {(string?)trade["hours"]} h in {(string?)trade["region"]} at {(string?)trade["unitPrice"]} = {(string?)trade["amount"]} CNY, " +
                $"{(string?)trade["status"]}, from {(string?)trade["sellerAccountId"]}");
        }

        if (trades.Count < 2)
        {
            throw new SampleException($"the order made {trades.Count} trade(s); run samples/provider first (it lists offers in two regions for {period})");
        }

        var (paid, unpaid) = (trades[0], trades[1]);
        var paidId = (string)paid["tradeId"]!;
        output.WriteLine();
        output.WriteLine($"9. The payment system confirms {(string?)paid["amount"]} CNY paid in e-CNY for {paidId}: POST /api/v1/market/trades/{paidId}/payments (role settlement)");
        var settled = await payments.PostAsync($"/api/v1/market/trades/{Uri.EscapeDataString(paidId)}/payments", new
        {
            paymentReference = $"ecny-{account}-trade-1",
            amount = (string)paid["amount"]!,
            currency = "CNY",
            rail = "e-cny",
        }, cancellationToken);
        output.WriteLine($"   trade {(string?)settled["status"]}, settlement {(string?)settled["settlement"]!["paymentReference"]}: the hours were delivered in the same commit");
        var where = $"{bought.ResourceClass}/{(string?)paid["region"]}/{period}";
        output.WriteLine($"   {where}: available {await AvailableAsync(sme, account, where, cancellationToken)} h");

        var unpaidId = (string)unpaid["tradeId"]!;
        output.WriteLine();
        output.WriteLine($"10. Leave {unpaidId} unpaid: GET /api/v1/market/trades/{unpaidId} until the service's scheduler has undone it at payBy");
        var payBy = DateTimeOffset.Parse((string)unpaid["payBy"]!, System.Globalization.CultureInfo.InvariantCulture);
        var expired = await WaitUntilEndedAsync(sme, $"/api/v1/market/trades/{Uri.EscapeDataString(unpaidId)}", payBy, $"trade {unpaidId}", cancellationToken);
        output.WriteLine($"   trade {(string?)expired["status"]} at {(string?)expired["endedAt"]} (payBy {(string?)expired["payBy"]}); nobody asked, and its hours went back to the offer");
    }

    /// <summary>The bucket the credits were bought in; its members serialize as the body fields of the same names.</summary>
    private sealed record Location(string ResourceClass, string Region, string Period);

    private static Task<JsonNode> PlaceHoldAsync(LedgerApi sme, string holdId, string account, Location at, string hours, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        sme.PostAsync("/api/v1/holds", new { holdId, accountId = account, at.ResourceClass, at.Region, at.Period, hours, expiresAt = expiresAt.ToString("O") }, cancellationToken);

    private static object Withdrawal(string withdrawalId, string account, Location at, string hours, string jobReference) =>
        new { withdrawalId, accountId = account, at.ResourceClass, at.Region, at.Period, hours, jobReference };

    private static async Task<string> AvailableAsync(LedgerApi sme, string account, string bucket, CancellationToken cancellationToken)
    {
        var state = await sme.GetAsync($"/api/v1/accounts/{account}", cancellationToken);
        var balance = state["balances"]!.AsArray().FirstOrDefault(b => Show.Bucket(b) == bucket);
        return (string?)balance?["available"] ?? "0.000";
    }

    /// <summary>
    /// Polls a hold or trade (<paramref name="path"/>) until the scheduler has ended it (<c>endedAt</c> is set: the release
    /// or expiry event is written and the hours are back). The status alone says <c>expired</c> as soon as the deadline has
    /// passed, because from then on it can no longer be captured or paid, which can be a moment before the scheduler runs.
    /// </summary>
    private static async Task<JsonNode> WaitUntilEndedAsync(LedgerApi sme, string path, DateTimeOffset deadline, string what, CancellationToken cancellationToken)
    {
        while (true)
        {
            var resource = await sme.GetAsync(path, cancellationToken);
            if (resource["endedAt"] is not null)
            {
                return resource;
            }

            if (DateTimeOffset.UtcNow > deadline + ExpiryPatience)
            {
                throw new SampleException($"{what} was not ended {ExpiryPatience.TotalSeconds} s after its deadline: is the service's scheduler running?");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }
    }
}
