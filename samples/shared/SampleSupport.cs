using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

// Plumbing shared by the samples, compiled into each of them (linked from samples/shared), so that every sample stays a
// single project a reader can copy, and the part worth reading (the calls to the ledger) is the sample's own file.
// Everything here is internal: each sample assembly has its own copy, and the test project that references all three
// sees only their public entry points.
namespace ComputeBank.Samples;

/// <summary>A failure the sample explains to its user (bad input, a refused call); Program prints it and exits non-zero,
/// with the usage text too when <paramref name="usage"/> says the arguments were wrong.</summary>
internal sealed class SampleException(string message, bool usage = false) : Exception(message)
{
    public bool Usage { get; } = usage;
}

/// <summary>
/// Settings from <c>--name value</c> arguments, each with an environment variable as fallback
/// (<c>--url</c> / <c>COMPUTEBANK_URL</c>, <c>--token</c> / <c>COMPUTEBANK_TOKEN</c>, ...).
/// </summary>
internal sealed class SampleSettings
{
    private readonly Dictionary<string, string> _values;
    private readonly Func<string, string?> _environment;

    private SampleSettings(Dictionary<string, string> values, Func<string, string?> environment)
    {
        _values = values;
        _environment = environment;
    }

    /// <summary>Parses <paramref name="args"/>; an unknown option or one without a value is a <see cref="SampleException"/>.</summary>
    public static SampleSettings Parse(string[] args, Func<string, string?> environment, IReadOnlyCollection<string> known)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (!name.StartsWith("--", StringComparison.Ordinal) || !known.Contains(name[2..]))
            {
                throw new SampleException($"unknown argument '{name}'; known: {string.Join(", ", known.Select(k => "--" + k))}", usage: true);
            }

            if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                throw new SampleException($"{name} needs a value", usage: true);
            }

            values[name[2..]] = args[++i];
        }

        return new SampleSettings(values, environment);
    }

    public string? Optional(string name, string variable) =>
        _values.TryGetValue(name, out var value) ? value
        : _environment(variable) is { Length: > 0 } fromEnvironment ? fromEnvironment
        : null;

    public string Required(string name, string variable, string hint) =>
        Optional(name, variable) ?? throw new SampleException($"missing --{name} (or ${variable}): {hint}", usage: true);

    /// <summary>The service's base address: <c>--url</c> or <c>COMPUTEBANK_URL</c>, an absolute http(s) URL.</summary>
    public Uri Url()
    {
        var text = Required("url", "COMPUTEBANK_URL", "the service's address, e.g. http://127.0.0.1:5080 (deploy/local/run)");
        return Uri.TryCreate(text, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)
            ? url
            : throw new SampleException($"--url '{text}' is not an absolute http(s) URL such as http://127.0.0.1:5080", usage: true);
    }

    /// <summary>A bearer token: <c>--{name}</c> or <c>${variable}</c>, minted with <c>deploy/local/cli token --role {role} --owner ...</c>.</summary>
    public string Token(string name, string variable, string role) =>
        Required(name, variable, $"a bearer token of role {role}; mint one with: deploy/local/cli token --role {role} --owner <party>");

    /// <summary>The run id that makes this tour's account and operation ids unique (<c>--run</c>, <c>COMPUTEBANK_RUN</c>); a new one by default.</summary>
    public string Run()
    {
        var run = Optional("run", "COMPUTEBANK_RUN") ?? DateTime.UtcNow.ToString("'r'yyMMddHHmmss", CultureInfo.InvariantCulture);
        return run.Length is > 0 and <= 24 && run.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
            ? run
            : throw new SampleException($"--run '{run}' must be 1 to 24 characters of a-z, 0-9 and '-'", usage: true);
    }

    /// <summary>The settlement period called "this month" (<c>--period yyyy-MM</c>, <c>COMPUTEBANK_PERIOD</c>); the current UTC month by default.</summary>
    public SamplePeriod Period() =>
        Optional("period", "COMPUTEBANK_PERIOD") is { } text ? SamplePeriod.Parse(text) : SamplePeriod.Of(DateTime.UtcNow);
}

/// <summary>A monthly settlement period, <c>yyyy-MM</c>.</summary>
internal readonly record struct SamplePeriod(int Year, int Month)
{
    public static SamplePeriod Of(DateTime instant) => new(instant.Year, instant.Month);

    public static SamplePeriod Parse(string text) =>
        DateTime.TryParseExact(text, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out var month)
            ? Of(month)
            : throw new SampleException($"period '{text}' is not a month written yyyy-MM, e.g. 2026-11", usage: true);

    public SamplePeriod Plus(int months) => Of(new DateTime(Year, Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(months));

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Year:D4}-{Month:D2}");
}

/// <summary>An answer of the ledger: status, parsed JSON body and whether it was an idempotent replay.</summary>
internal sealed record Reply(HttpStatusCode Status, JsonNode? Body, bool Replayed, string Text)
{
    /// <summary>The stable problem code of an error answer (<c>insufficient_credits</c>, ...).</summary>
    public string? Code => (string?)Body?["code"];

    public string Describe() =>
        Body?["code"] is not null
            ? $"{(int)Status} {Code}: {(string?)Body["detail"] ?? (string?)Body["title"]}{Errors()}"
            : $"{(int)Status}: {(Text.Length == 0 ? "(no body)" : Text.Length <= 300 ? Text : Text[..300] + "...")}";

    private string Errors() =>
        Body?["errors"] is JsonObject errors
            ? " (" + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value!.AsArray().Select(m => (string?)m))}")) + ")"
            : "";
}

/// <summary>The ledger's HTTP API with one caller's bearer token.</summary>
internal sealed class LedgerApi : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;
    private readonly Lazy<string> _owner;

    public LedgerApi(Uri baseAddress, string token)
    {
        _owner = new Lazy<string>(() => Tokens.OwnerOf(token));
        _ = Tokens.Claims(token);
        _http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
    }

    /// <summary>The party id the token acts for (its <c>owner</c> claim): the <c>ownerId</c> of the caller's accounts.</summary>
    public string Owner => _owner.Value;

    public async Task<Reply> SendAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: Json);
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new SampleException($"cannot reach {_http.BaseAddress}: {e.Message}. Is the service running (deploy/local/run)?");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SampleException($"{method} {path}: no answer from {_http.BaseAddress} within {_http.Timeout.TotalSeconds} s");
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            var reply = new Reply(response.StatusCode, ParseOrNull(text), response.Headers.TryGetValues("Idempotent-Replayed", out var replayed) && replayed.Contains("true"), text);
            return reply.Status == HttpStatusCode.Unauthorized
                ? throw new SampleException($"{method} {path} answered 401: the token was refused (expired, or minted with another key than the service's). " +
                    "Mint a new one with deploy/local/cli token in the checkout the service runs from.")
                : reply;
        }
    }

    /// <summary>Sends and returns the body of a 2xx answer; any other answer is a <see cref="SampleException"/> saying what the ledger said.</summary>
    public async Task<JsonNode> ExpectAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        var reply = await SendAsync(method, path, body, cancellationToken);
        return (int)reply.Status is >= 200 and < 300 && reply.Body is not null
            ? reply.Body
            : throw new SampleException($"{method} {path} answered {reply.Describe()}");
    }

    public Task<JsonNode> PostAsync(string path, object? body, CancellationToken cancellationToken) => ExpectAsync(HttpMethod.Post, path, body, cancellationToken);

    public Task<JsonNode> GetAsync(string path, CancellationToken cancellationToken) => ExpectAsync(HttpMethod.Get, path, null, cancellationToken);

    /// <summary>Every event of an account's history, following the <c>next</c> cursor page by page.</summary>
    public async Task<List<JsonNode>> HistoryAsync(string accountId, CancellationToken cancellationToken)
    {
        var events = new List<JsonNode>();
        long? after = 0;
        while (after is { } cursor)
        {
            var page = await GetAsync(string.Create(CultureInfo.InvariantCulture, $"/api/v1/accounts/{Uri.EscapeDataString(accountId)}/history?afterVersion={cursor}&limit=100"), cancellationToken);
            events.AddRange(page["events"]!.AsArray().Select(e => e!));
            after = (long?)page["next"];
        }

        return events;
    }

    public void Dispose() => _http.Dispose();

    /// <summary>The body as JSON, or null when it is none (a proxy's HTML page, say: <see cref="Reply.Describe"/> shows its text).</summary>
    private static JsonNode? ParseOrNull(string text)
    {
        try
        {
            return text.Length == 0 ? null : JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>Reads the claims of a ComputeBank token (without checking it: that is the service's job).</summary>
internal static class Tokens
{
    /// <summary>The token's claims; a token that is not a JWT is a <see cref="SampleException"/>.</summary>
    public static JsonNode Claims(string token)
    {
        var parts = token.Trim().Split('.');
        if (parts.Length != 3)
        {
            throw new SampleException("the token is not a JWT (three dot-separated parts); mint one with deploy/local/cli token --role R --owner O", usage: true);
        }

        try
        {
            var payload = parts[1].Replace('-', '+').Replace('_', '/');
            return JsonNode.Parse(Convert.FromBase64String(payload.PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=')))
                ?? throw new FormatException("null payload");
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            throw new SampleException("the token's payload is not base64url JSON; mint one with deploy/local/cli token --role R --owner O", usage: true);
        }
    }

    public static string OwnerOf(string token) =>
        Claims(token)["owner"] is JsonValue value && value.GetValueKind() == JsonValueKind.String && (string?)value is { Length: > 0 } owner
            ? owner
            : throw new SampleException("the token names no owner; mint it with --owner <party>, the ownerId of the accounts it acts on", usage: true);
}

/// <summary>The ids of a tour: one account per party and run, so that every run starts from empty accounts.</summary>
internal static class TourAccounts
{
    public static string Of(string owner, string run) => $"{owner}-{run}";

    /// <summary>Opens the SME's consumer account with the SME's own token. Both the provider sample (to sell to it) and
    /// the SME sample call this with the same fields, so whichever comes second gets an idempotent replay.</summary>
    public static Task<Reply> OpenSmeAsync(LedgerApi sme, string run, CancellationToken cancellationToken) =>
        sme.SendAsync(HttpMethod.Post, "/api/v1/accounts",
            new { accountId = Of(sme.Owner, run), ownerId = sme.Owner, kind = "consumer", displayName = $"{sme.Owner} (SME)" }, cancellationToken);
}

/// <summary>Printing what the ledger answered.</summary>
internal static class Show
{
    /// <summary>One line per bucket: class/region/period, posted, pending, available.</summary>
    public static void Balances(TextWriter output, JsonNode? balances, string indent = "   ")
    {
        var rows = balances?.AsArray() ?? [];
        if (rows.Count == 0)
        {
            output.WriteLine($"{indent}(no balances: every bucket is zero)");
            return;
        }

        output.WriteLine($"{indent}{"bucket",-30} {"posted",10} {"pending",10} {"available",10}");
        foreach (var b in rows)
        {
            output.WriteLine($"{indent}{Bucket(b),-30} {(string?)b!["posted"],10} {(string?)b["pending"],10} {(string?)b["available"],10}");
        }
    }

    /// <summary>The balance of <paramref name="accountId"/> in one bucket from an operation result, as "posted/pending/available".</summary>
    public static string BalanceIn(JsonNode result, string accountId, string bucket)
    {
        var account = result["accounts"]?.AsArray().FirstOrDefault(a => (string?)a!["accountId"] == accountId);
        var balance = account?["balances"]?.AsArray().FirstOrDefault(b => Bucket(b) == bucket);
        return balance is null
            ? "(bucket not touched)"
            : $"posted {(string?)balance["posted"]}, pending {(string?)balance["pending"]}, available {(string?)balance["available"]}";
    }

    /// <summary><c>class/region/period</c> of a balance or of an event's <c>bucket</c>.</summary>
    public static string Bucket(JsonNode? node) => $"{(string?)node?["resourceClass"]}/{(string?)node?["region"]}/{(string?)node?["period"]}";

    public static string Replayed(Reply reply) => reply.Replayed ? " (Idempotent-Replayed: true, it was opened before with the same fields)" : "";
}

/// <summary>What every Program.cs does: run the sample, turn its explained failures into a message and an exit code.</summary>
internal static class SampleMain
{
    public static async Task<int> RunAsync(string[] args, string usage, Func<string[], TextWriter, CancellationToken, Task> sample)
    {
        if (args is ["--help"] or ["-h"])
        {
            Console.Out.WriteLine(usage);
            return 0;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        try
        {
            await sample(args, Console.Out, cancel.Token);
            return 0;
        }
        catch (SampleException e)
        {
            var message = new StringBuilder("error: ").Append(e.Message);
            if (e.Usage)
            {
                message.AppendLine().AppendLine().Append(usage);
            }

            await Console.Error.WriteLineAsync(message, cancel.Token);
            return 1;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return 130;
        }
    }
}
