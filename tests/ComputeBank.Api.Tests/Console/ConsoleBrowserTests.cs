using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using ComputeBank.Api.Auditing;
using ComputeBank.Api.Security;
using ComputeBank.Api.Tests.Http;
using Microsoft.Playwright;

namespace ComputeBank.Api.Tests.Console;

/// <summary>
/// The console as people use it, in Debian's Chromium (never a browser Playwright downloads) against the real service on
/// Kestrel with authentication on and PostgreSQL: a provider opens an account, deposits and lists an offer (and is shown
/// the refusal of listing more than it has); an SME reads the book and buys; the payment system confirms the payment; the
/// SME sees its trade settled and its hours; an auditor reads the history, runs audit verify and downloads the CSV export; an operator freezes an
/// account with the keyboard alone. Every request stays on the machine, and the only answer of 400 or more is the refusal the test provoked.
/// Screenshots of each page go to <c>console-screenshots/</c> beside the test assembly (or COMPUTEBANK_SCREENSHOTS).
/// </summary>
public sealed partial class ConsoleBrowserTests : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

    private readonly KestrelApi _api = KestrelApi.WithSettings(new Dictionary<string, string?>
    {
        ["ComputeBank:Auth:Enabled"] = "true",
        ["ComputeBank:Auth:SigningKey"] = Convert.ToBase64String(Key),
        ["ComputeBank:RateLimiting:Enabled"] = "false",
    });

    private readonly ConcurrentQueue<string> _failures = new();
    private readonly ConcurrentQueue<string> _offMachine = new();
    private readonly ConcurrentQueue<string> _consoleErrors = new();
    private readonly string _screenshots = Environment.GetEnvironmentVariable("COMPUTEBANK_SCREENSHOTS") is { Length: > 0 } folder
        ? folder
        : Path.Combine(AppContext.BaseDirectory, "console-screenshots");

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public async Task InitializeAsync()
    {
        await _api.InitializeAsync();
        Directory.CreateDirectory(_screenshots);
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        await _api.DisposeAsync();
    }

    [ChromiumFact]
    public async Task ProviderSmeSettlementAuditorAndOperator_DoTheTourThroughTheConsole()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium (deploy/local/test does; CI=true fails instead of skipping).");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var run = Guid.NewGuid().ToString("N")[..6];
        var (provider, sme) = ($"acme-gpu-{run}", $"bright-ai-{run}");

        // The provider: an account, a deposit, an offer; listing more than it has is refused and shown.
        var p = await SignInAsync(Roles.Provider, "acme");
        await p.GetByLabel("New account id").FillAsync(provider);
        await p.GetByRole(AriaRole.Button, new() { Name = "Open account" }).ClickAsync();
        await ExpectTextAsync(p, $"Account {provider} opened.");
        await p.GetByRole(AriaRole.Link, new() { Name = "Deposit" }).ClickAsync();
        await FillAsync(p, "Deposit", ("Provider account", provider), ("Hours", "100"));
        await p.GetByRole(AriaRole.Button, new() { Name = "Deposit" }).ClickAsync();
        await ExpectTextAsync(p, $"Deposited: {provider} now has 100.000 h posted");
        await p.GetByRole(AriaRole.Link, new() { Name = "Offers" }).ClickAsync();
        await FillAsync(p, "List an offer", ("Provider account", provider), ("Hours", "500"), ("Unit price (CNY per hour)", "5.00"));
        await p.GetByRole(AriaRole.Button, new() { Name = "List offer" }).ClickAsync();
        var problem = p.GetByRole(AriaRole.Alert);
        await problem.WaitForAsync();
        Assert.Matches("Insufficient credits.*insufficient_credits, HTTP 422", await problem.InnerTextAsync());
        await ShotAsync(p, "provider-refusal");
        await FillAsync(p, "List an offer", ("Hours", "10"));
        await p.GetByRole(AriaRole.Button, new() { Name = "List offer" }).ClickAsync();
        await ExpectTextAsync(p, "listed: 10.000 h at 5.00 CNY/h, open.");
        await p.GetByRole(AriaRole.Link, new() { Name = "Accounts" }).ClickAsync();
        await ExpectTextAsync(p, $"Posted hours of {provider} per period and region");
        Assert.Contains("100.000", await p.GetByRole(AriaRole.Table).First.InnerTextAsync());
        await ShotAsync(p, "provider-accounts");

        // The SME: an account, the book, an order; the trade shows what to pay by when, counting down.
        var s = await SignInAsync(Roles.Consumer, "bright");
        await s.GetByLabel("New account id").FillAsync(sme);
        await s.GetByRole(AriaRole.Button, new() { Name = "Open account" }).ClickAsync();
        await ExpectTextAsync(s, $"Account {sme} opened.");
        await s.GetByRole(AriaRole.Link, new() { Name = "Market" }).ClickAsync();
        await s.GetByRole(AriaRole.Button, new() { Name = "Show book" }).ClickAsync();
        await ExpectTextAsync(s, "Best price per region");
        Assert.Contains("5.00", await s.Locator("#book table").First.InnerTextAsync());
        await FillAsync(s, "Place an order", ("Your account", sme), ("Hours", "4"), ("Highest unit price (CNY per hour)", "5.00"));
        await s.GetByRole(AriaRole.Button, new() { Name = "Buy" }).ClickAsync();
        await ExpectTextAsync(s, "Order filled: 4.000 h in 1 trade(s).");
        var tradeRow = await s.Locator("#bought tbody tr").First.InnerTextAsync();
        Assert.Matches(@"awaiting_payment.*\d+:\d\d left", tradeRow.Replace('\n', ' ').Replace('\t', ' '));
        var tradeId = tradeRow.Split('\t', '\n')[0].Trim();
        await ShotAsync(s, "sme-market");

        // The payment system confirms the payment: the hours are delivered in the same commit.
        var pay = await SignInAsync(Roles.Settlement, "");
        await pay.GetByLabel("Trade id").FillAsync(tradeId);
        await pay.GetByRole(AriaRole.Button, new() { Name = "Find trade" }).ClickAsync();
        await FillAsync(pay, "Confirm the payment", ("Payment reference", $"ecny-{run}"));
        Assert.Equal("20.00", await pay.GetByRole(AriaRole.Form, new() { Name = "Confirm the payment" }).GetByLabel("Amount (CNY)").InputValueAsync());
        await pay.GetByRole(AriaRole.Button, new() { Name = "Confirm payment" }).ClickAsync();
        await ExpectTextAsync(pay, $"Trade {tradeId} settled: 4.000 h delivered to {sme}");
        await ShotAsync(pay, "settlement-payment");

        await s.GetByRole(AriaRole.Link, new() { Name = "Trades" }).ClickAsync();
        await ExpectTextAsync(s, "settled");
        await s.GetByRole(AriaRole.Link, new() { Name = "Accounts" }).ClickAsync();
        await ExpectTextAsync(s, $"Posted hours of {sme}");
        Assert.Contains("4.000", await s.GetByRole(AriaRole.Table).First.InnerTextAsync());

        // The SME holds an hour for a job and releases it, and reads its history.
        await s.GetByRole(AriaRole.Link, new() { Name = "Holds" }).ClickAsync();
        await FillAsync(s, "Place a hold", ("Your account", sme), ("Hours", "1"));
        await s.GetByRole(AriaRole.Button, new() { Name = "Place hold" }).ClickAsync();
        await ExpectTextAsync(s, "left");
        Assert.Contains("pending", await s.Locator("#hold table").InnerTextAsync());
        await s.GetByRole(AriaRole.Button, new() { Name = "Release" }).ClickAsync();
        await ExpectTextAsync(s, "released.");
        await ShotAsync(s, "sme-holds");
        await s.GetByRole(AriaRole.Link, new() { Name = "Accounts" }).ClickAsync();
        await s.GetByRole(AriaRole.Button, new() { Name = $"History of {sme}" }).ClickAsync();
        await ExpectTextAsync(s, "V1.HeldCreditsReleased");

        // The SME again at a phone's width.
        await s.SetViewportSizeAsync(390, 844);
        await s.GetByRole(AriaRole.Link, new() { Name = "Market" }).ClickAsync();
        await s.GetByRole(AriaRole.Button, new() { Name = "Show book" }).ClickAsync();
        await ExpectTextAsync(s, "Best price per region");
        await ShotAsync(s, "sme-market-phone");

        // The auditor: the SME's history with running balances, and a verify run over the whole ledger.
        var a = await SignInAsync(Roles.Auditor, "");
        await a.GetByLabel("Account id").First.FillAsync(sme);
        await a.GetByRole(AriaRole.Button, new() { Name = "Show history" }).ClickAsync();
        await ExpectTextAsync(a, "V1.CreditsTransferredIn");
        await a.GetByRole(AriaRole.Button, new() { Name = "Run audit verify" }).ClickAsync();
        await ExpectTextAsync(a, "ok: yes");
        Assert.Contains("0 discrepancies", await a.Locator("#verify").InnerTextAsync());
        var download = await a.RunAndWaitForDownloadAsync(() => a.GetByRole(AriaRole.Button, new() { Name = "Download CSV export" }).ClickAsync());
        var csv = await File.ReadAllLinesAsync(await download.PathAsync());
        Assert.Equal(("computebank-ledger.csv", LedgerCsv.Header), (download.SuggestedFilename, csv[0]));
        Assert.Contains(csv, line => line.Contains($",account-{sme},", StringComparison.Ordinal) && line.Contains(",V1.CreditsTransferredIn,", StringComparison.Ordinal));
        await ShotAsync(a, "auditor");

        // The operator freezes the SME's account with the keyboard alone: tab from the token to Sign in, from the
        // account id past the action to Apply, and Enter.
        var o = await OpenAsync();
        await o.GetByLabel("Bearer token").FocusAsync();
        await o.Keyboard.InsertTextAsync(DevTokens.Mint(Roles.Operator, "", TimeSpan.FromMinutes(30), Key));
        await o.Keyboard.PressAsync("Tab");
        await o.Keyboard.PressAsync("Enter");
        await ExpectTextAsync(o, "Signed in as operator");
        await o.GetByRole(AriaRole.Form, new() { Name = "Freeze or unfreeze" }).GetByLabel("Account id").FocusAsync();
        await o.Keyboard.InsertTextAsync(sme);
        await o.Keyboard.PressAsync("Tab");
        await o.Keyboard.PressAsync("Tab");
        Assert.Equal("Apply", await o.EvaluateAsync<string>("document.activeElement.textContent"));
        await o.Keyboard.PressAsync("Enter");
        await ExpectTextAsync(o, $"{sme} is now frozen.");
        await ShotAsync(o, "operator");

        Assert.True(_offMachine.IsEmpty, "requests off the machine: " + string.Join(", ", _offMachine));
        Assert.Equal(["422 POST /api/v1/market/offers"], _failures);
        Assert.True(_consoleErrors.All(e => e.Contains("status of 422", StringComparison.Ordinal)), "console errors: " + string.Join(" | ", _consoleErrors));
    }

    private async Task<IPage> SignInAsync(string role, string owner)
    {
        var page = await OpenAsync();
        await page.GetByLabel("Bearer token").FillAsync(DevTokens.Mint(role, owner, TimeSpan.FromMinutes(30), Key));
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await ExpectTextAsync(page, $"Signed in as {role}");
        return page;
    }

    /// <summary>A fresh browser context (its own sessionStorage) on the console's page, watched for requests off the
    /// machine, answers of 400 or more and console errors.</summary>
    private async Task<IPage> OpenAsync()
    {
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        page.Request += (_, request) =>
        {
            if (!Uri.TryCreate(request.Url, UriKind.Absolute, out var uri) || !(uri.IsLoopback || uri.Scheme is "data" or "blob"))
            {
                _offMachine.Enqueue(request.Url);
            }
        };
        page.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                _failures.Enqueue($"{response.Status} {response.Request.Method} {new Uri(response.Url).AbsolutePath}");
            }
        };
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                _consoleErrors.Enqueue(message.Text);
            }
        };
        page.PageError += (_, error) => _consoleErrors.Enqueue("page error: " + error);
        await page.GotoAsync(new Uri(_api.Address, "/console/").ToString());
        return page;
    }

    private static async Task FillAsync(IPage page, string form, params (string Label, string Value)[] fields)
    {
        var scope = page.GetByRole(AriaRole.Form, new() { Name = form });
        foreach (var (label, value) in fields)
        {
            await scope.GetByLabel(label, new() { Exact = true }).FillAsync(value);
        }
    }

    private static async Task ExpectTextAsync(IPage page, string text)
    {
        try
        {
            await page.GetByText(text).First.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Visible, Timeout = 15_000 });
        }
        catch (TimeoutException)
        {
            Assert.Fail($"The page never showed '{text}'. It shows: {Whitespace().Replace(await page.InnerTextAsync("body"), " ")}");
        }
    }

    private Task ShotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(_screenshots, name + ".png"), FullPage = true });

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
