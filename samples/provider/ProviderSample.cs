namespace ComputeBank.Samples.Provider;

/// <summary>
/// What a compute provider's own system does with ComputeBank: open its account, deposit idle GPU capacity for this and
/// next month in two regions, sell credits to an SME with the e-CNY payment recorded, defer capacity it could not sell
/// to a later period, list next month's capacity on the market in both regions, and read its balances.
/// </summary>
public static class ProviderSample
{
    public const string Usage = """
        usage: dotnet run --project samples/provider -- [--url URL] [--token JWT] [--buyer-token JWT] [--run ID] [--period yyyy-MM]
          --url          the service (or $COMPUTEBANK_URL), e.g. http://127.0.0.1:5080
          --token        the provider's token (or $COMPUTEBANK_TOKEN): deploy/local/cli token --role provider --owner acme-cloud
          --buyer-token  the SME's token (or $COMPUTEBANK_BUYER_TOKEN), used only for the SME to open the account it buys into:
                         deploy/local/cli token --role consumer --owner bright-ai
          --run          makes the account ids unique (or $COMPUTEBANK_RUN; default: from the clock); pass the same to samples/sme
          --period       "this month" (or $COMPUTEBANK_PERIOD; default: the current UTC month)
        """;

    private const string Gpu = "gpu.h100";

    /// <summary>Reads the settings from <paramref name="args"/> and the environment, then runs the tour.</summary>
    public static Task RunAsync(string[] args, TextWriter output, CancellationToken cancellationToken) =>
        RunAsync(args, Environment.GetEnvironmentVariable, output, cancellationToken);

    /// <summary>The same, with the environment variables read from <paramref name="environment"/>.</summary>
    public static Task RunAsync(string[] args, Func<string, string?> environment, TextWriter output, CancellationToken cancellationToken)
    {
        var settings = SampleSettings.Parse(args, environment, ["url", "token", "buyer-token", "run", "period"]);
        return RunAsync(settings.Url(), settings.Token("token", "COMPUTEBANK_TOKEN", "provider"),
            settings.Token("buyer-token", "COMPUTEBANK_BUYER_TOKEN", "consumer"), settings.Run(), settings.Period().ToString(), output, cancellationToken);
    }

    /// <param name="baseAddress">The service, e.g. http://127.0.0.1:5080.</param>
    /// <param name="providerToken">A provider token; its <c>owner</c> owns the provider account.</param>
    /// <param name="buyerToken">A consumer token of the SME that buys; only used for the SME to open its account.</param>
    /// <param name="run">Suffix of the account ids (<c>{owner}-{run}</c>) and operation ids.</param>
    /// <param name="period">This month, <c>yyyy-MM</c>.</param>
    /// <param name="output">Where the walkthrough is written.</param>
    /// <param name="cancellationToken">Cancels the calls.</param>
    public static async Task RunAsync(Uri baseAddress, string providerToken, string buyerToken, string run, string period, TextWriter output, CancellationToken cancellationToken)
    {
        using var provider = new LedgerApi(baseAddress, providerToken);
        using var sme = new LedgerApi(baseAddress, buyerToken);
        var thisMonth = SamplePeriod.Parse(period);
        var nextMonth = thisMonth.Plus(1);
        var deferredTo = thisMonth.Plus(4);
        var account = TourAccounts.Of(provider.Owner, run);
        var buyer = TourAccounts.Of(sme.Owner, run);
        output.WriteLine($"Provider '{provider.Owner}', run {run}: account {account}, this month {thisMonth}, next month {nextMonth}");

        output.WriteLine();
        output.WriteLine("1. Open the provider account: POST /api/v1/accounts");
        var opened = await provider.SendAsync(HttpMethod.Post, "/api/v1/accounts",
            new { accountId = account, ownerId = provider.Owner, kind = "provider", displayName = $"{provider.Owner} idle GPUs" }, cancellationToken);
        Expect(opened, "open the provider account");
        output.WriteLine($"   {(int)opened.Status} {(string?)opened.Body!["accountId"]}: kind {(string?)opened.Body["kind"]}, status {(string?)opened.Body["status"]}{Show.Replayed(opened)}");

        output.WriteLine($"   The buyer opens its own SME account {buyer} with its token (a provider cannot open accounts for others)");
        var buyerOpened = await TourAccounts.OpenSmeAsync(sme, run, cancellationToken);
        Expect(buyerOpened, "open the SME's account");
        output.WriteLine($"   {(int)buyerOpened.Status} {buyer}: kind {(string?)buyerOpened.Body!["kind"]}{Show.Replayed(buyerOpened)}");

        output.WriteLine();
        output.WriteLine($"2. Deposit idle {Gpu} capacity for {thisMonth} and {nextMonth} in beijing and xiongan: POST /api/v1/deposits");
        foreach (var (region, month, hours) in new[] { ("beijing", thisMonth, "100"), ("beijing", nextMonth, "80"), ("xiongan", thisMonth, "60"), ("xiongan", nextMonth, "50") })
        {
            var bucket = $"{Gpu}/{region}/{month}";
            var deposit = await provider.PostAsync("/api/v1/deposits", new
            {
                depositId = $"{account}.deposit.{region}.{month}",
                accountId = account,
                resourceClass = Gpu,
                region,
                period = month.ToString(),
                hours,
                reference = $"idle nodes of {region}, {month}",
            }, cancellationToken);
            output.WriteLine($"   {"+" + hours,4} h {bucket,-26} -> {Show.BalanceIn(deposit, account, bucket)}");
        }

        output.WriteLine();
        var sold = $"{Gpu}/beijing/{thisMonth}";
        output.WriteLine($"3. Sell 40 h of {sold} to {buyer}, paid 1200.00 CNY in e-CNY: POST /api/v1/transfers");
        var sale = await provider.PostAsync("/api/v1/transfers", new
        {
            transferId = $"{account}.sale.1",
            fromAccountId = account,
            toAccountId = buyer,
            resourceClass = Gpu,
            region = "beijing",
            period = thisMonth.ToString(),
            hours = "40",
            settlement = new { amount = "1200.00", currency = "CNY", rail = "e-cny", paymentReference = $"ecny-{run}-0001" },
        }, cancellationToken);
        output.WriteLine($"   {account,-26} {Show.BalanceIn(sale, account, sold)}");
        output.WriteLine($"   {buyer,-26} {Show.BalanceIn(sale, buyer, sold)}");
        output.WriteLine($"   the ledger records the settlement (e-cny, reference ecny-{run}-0001) with the transfer; it moves no money");

        output.WriteLine();
        output.WriteLine($"4. Defer the 60 h of xiongan/{thisMonth} nobody bought to {deferredTo}: POST /api/v1/period-transfers");
        var deferral = await provider.PostAsync("/api/v1/period-transfers", new
        {
            transferId = $"{account}.defer.1",
            fromAccountId = account,
            resourceClass = Gpu,
            from = new { region = "xiongan", period = thisMonth.ToString() },
            to = new { region = "xiongan", period = deferredTo.ToString() },
            hours = "60",
        }, cancellationToken);
        output.WriteLine($"   debited {(string?)deferral["hoursDebited"]} h, credited {(string?)deferral["hoursCredited"]} h at rate {(string?)deferral["rate"]} " +
            "(deferring more than three periods costs 10%; the difference goes to bank.conversion)");

        output.WriteLine();
        output.WriteLine($"5. List next month's capacity on the market, valid for a day: POST /api/v1/market/offers");
        foreach (var (region, hours, price) in new[] { ("xiongan", "30", "11.80"), ("beijing", "20", "12.50") })
        {
            var bucket = $"{Gpu}/{region}/{nextMonth}";
            var offer = await provider.PostAsync("/api/v1/market/offers", new
            {
                offerId = $"{account}.offer.{region}.{nextMonth}",
                accountId = account,
                resourceClass = Gpu,
                region,
                period = nextMonth.ToString(),
                hours,
                unitPrice = price,
                minHours = "1",
                validUntil = DateTimeOffset.UtcNow.AddDays(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            }, cancellationToken);
            output.WriteLine($"   {(string?)offer["offerId"]}: {(string?)offer["hoursLeft"]} h of {bucket} at {(string?)offer["unitPrice"]} CNY/h, {(string?)offer["status"]}");
        }

        output.WriteLine("   the listed hours are pending on the account until they are sold, withdrawn or expire: nothing else can spend them");

        output.WriteLine();
        output.WriteLine($"6. Balances: GET /api/v1/accounts/{account}");
        var balances = await provider.GetAsync($"/api/v1/accounts/{account}", cancellationToken);
        output.WriteLine($"   status {(string?)balances["status"]}, version {(long?)balances["version"]}");
        Show.Balances(output, balances["balances"]);
    }

    private static void Expect(Reply reply, string what)
    {
        if (reply.Status != System.Net.HttpStatusCode.Created || reply.Body is null)
        {
            throw new SampleException($"could not {what}: {reply.Describe()}");
        }
    }
}
