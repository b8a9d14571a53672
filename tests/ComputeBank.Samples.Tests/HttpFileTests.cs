using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ComputeBank.Api.Security;

namespace ComputeBank.Samples.Tests;

/// <summary>
/// samples/http/computebank.http cannot drift from the service: it has a request for every route of the OpenAPI
/// document (and none the document does not know), and sent top to bottom against the real service each request
/// answers the status its <c># expect:</c> line says.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed partial class HttpFileTests(ServiceFixture service)
{
    private static readonly string FilePath = Path.Combine(ServiceFixture.RepositoryRoot(), "samples", "http", "computebank.http");

    [Fact]
    public async Task HttpFile_HasARequestForEveryRouteOfTheOpenApiDocument_AndNoOther()
    {
        using var http = new HttpClient { BaseAddress = service.BaseAddress };
        var document = JsonNode.Parse(await http.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)))!;
        var routes = document["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Select(o => (Method: o.Key.ToUpperInvariant(), Path: p.Key)))
            .ToList();
        var requests = HttpFile.Parse(await File.ReadAllTextAsync(FilePath)).Requests;

        Assert.True(routes.Count >= 25, $"the document has only {routes.Count} operations");
        var missing = routes.Where(r => !requests.Any(q => q.Method == r.Method && Matches(r.Path, q.Path))).Select(r => $"{r.Method} {r.Path}").ToList();
        Assert.True(missing.Count == 0, "routes of /openapi/v1.json without a request in computebank.http:\n" + string.Join("\n", missing));
        var unknown = requests
            .Where(q => !routes.Any(r => r.Method == q.Method && Matches(r.Path, q.Path)) && !(q.Method == "GET" && PathOf(q.Path) == "/openapi/v1.json"))
            .Select(q => $"{q.Method} {q.Path}").ToList();
        Assert.True(unknown.Count == 0, "requests in computebank.http that the OpenAPI document does not know:\n" + string.Join("\n", unknown));
    }

    [Fact]
    public void HttpFile_DeclaresTheBaseUrlAndTokens_AndSendsATokenOnEveryApiRequest()
    {
        var file = HttpFile.Parse(File.ReadAllText(FilePath));

        Assert.Equal("http://127.0.0.1:5080", file.Variables["baseUrl"]);
        Assert.Subset(file.Variables.Keys.ToHashSet(), new HashSet<string> { "providerToken", "consumerToken", "auditorToken", "operatorToken", "settlementToken" });
        Assert.All(file.Requests, r => Assert.StartsWith("{{baseUrl}}/", r.Path, StringComparison.Ordinal));
        Assert.All(file.Requests.Where(r => r.Path.Contains("/api/v1/", StringComparison.Ordinal)),
            r => Assert.Matches(@"^Bearer \{\{(provider|consumer|auditor|operator|settlement)Token\}\}$", r.Headers.GetValueOrDefault("Authorization") ?? $"(none on {r.Title})"));
    }

    [Fact]
    public async Task HttpFile_SentTopToBottom_AnswersWhatEachRequestExpects()
    {
        var file = HttpFile.Parse(await File.ReadAllTextAsync(FilePath));
        var variables = new Dictionary<string, string>(file.Variables, StringComparer.Ordinal)
        {
            ["baseUrl"] = service.BaseAddress.ToString().TrimEnd('/'),
            ["providerToken"] = service.Token(Roles.Provider, "acme-cloud"),
            ["consumerToken"] = service.Token(Roles.Consumer, "bright-ai"),
            ["auditorToken"] = service.Token(Roles.Auditor),
            ["operatorToken"] = service.Token(Roles.Operator),
            ["settlementToken"] = service.Token(Roles.Settlement),
            ["run"] = "h" + Guid.NewGuid().ToString("N")[..8],
        };
        using var http = new HttpClient();
        var failures = new List<string>();

        foreach (var request in file.Requests)
        {
            using var message = new HttpRequestMessage(new HttpMethod(request.Method), HttpFile.Resolve(request.Path, variables));
            if (request.Body is { } body)
            {
                var resolved = HttpFile.Resolve(body, variables);
                Assert.True(JsonNode.Parse(resolved) is not null, $"{request.Title}: the body is not JSON");
                message.Content = new StringContent(resolved, Encoding.UTF8);
            }

            foreach (var (name, value) in request.Headers)
            {
                var text = HttpFile.Resolve(value, variables);
                if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
                {
                    Assert.NotNull(message.Content);
                    message.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(text);
                }
                else
                {
                    message.Headers.TryAddWithoutValidation(name, text);
                }
            }

            using var response = await http.SendAsync(message);
            var status = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
            if (status != request.Expect)
            {
                failures.Add($"{request.Title}: {request.Method} {request.Path} answered {status}, the file expects {request.Expect}: {await response.Content.ReadAsStringAsync()}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>Whether a request's path (variables unresolved, query ignored) is an instance of an OpenAPI path template.</summary>
    private static bool Matches(string template, string requestPath)
    {
        var pattern = "^" + string.Join("/", template.Split('/').Select(s => s.StartsWith('{') ? "[^/]+" : Regex.Escape(s))) + "$";
        return Regex.IsMatch(PathOf(requestPath), pattern);
    }

    private static string PathOf(string requestPath) => requestPath.Replace("{{baseUrl}}", "", StringComparison.Ordinal).Split('?')[0];
}

/// <summary>The subset of the .http format the file uses: <c>@name = value</c> variables, <c>###</c>-separated requests
/// (title on the separator line, <c>#</c> comments, the request line, headers, a blank line, the body), <c>{{name}}</c>.</summary>
public sealed partial record HttpFile(IReadOnlyDictionary<string, string> Variables, IReadOnlyList<HttpFile.Request> Requests)
{
    public sealed record Request(string Title, string Expect, string Method, string Path, IReadOnlyDictionary<string, string> Headers, string? Body);

    public static HttpFile Parse(string text)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        var requests = new List<Request>();
        var blocks = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n###");
        foreach (var line in blocks[0].Split('\n'))
        {
            if (VariablePattern().Match(line) is { Success: true } variable)
            {
                variables[variable.Groups[1].Value] = variable.Groups[2].Value.Trim();
            }
        }

        foreach (var block in blocks.Skip(1))
        {
            var lines = block.Split('\n');
            var title = lines[0].Trim();
            string? expect = null;
            var i = 1;
            for (; i < lines.Length && (lines[i].StartsWith('#') || lines[i].Trim().Length == 0); i++)
            {
                if (lines[i].StartsWith("# expect:", StringComparison.Ordinal))
                {
                    expect = lines[i]["# expect:".Length..].Trim();
                }
            }

            var requestLine = i < lines.Length ? RequestPattern().Match(lines[i]) : Match.Empty;
            if (!requestLine.Success || expect is null)
            {
                throw new FormatException($"request '{title}' needs a '# expect: <status>' line and then a request line 'METHOD {{{{baseUrl}}}}/path'");
            }

            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            for (i++; i < lines.Length && lines[i].Trim().Length > 0; i++)
            {
                var colon = lines[i].IndexOf(':', StringComparison.Ordinal);
                headers[lines[i][..colon].Trim()] = lines[i][(colon + 1)..].Trim();
            }

            var body = string.Join("\n", lines.Skip(i)).Trim();
            requests.Add(new Request(title, expect, requestLine.Groups[1].Value, requestLine.Groups[2].Value, headers, body.Length == 0 ? null : body));
        }

        return new HttpFile(variables, requests);
    }

    /// <summary>Replaces <c>{{name}}</c> by the variable's value, variables inside values included; an unknown one is an error.</summary>
    public static string Resolve(string text, IReadOnlyDictionary<string, string> variables)
    {
        for (var depth = 0; depth < 10 && text.Contains("{{", StringComparison.Ordinal); depth++)
        {
            text = ReferencePattern().Replace(text, m => variables.TryGetValue(m.Groups[1].Value, out var value)
                ? value
                : throw new KeyNotFoundException($"no variable '{m.Groups[1].Value}' in computebank.http"));
        }

        return text;
    }

    [GeneratedRegex(@"^@(\w+)\s*=\s*(.*)$")]
    private static partial Regex VariablePattern();

    [GeneratedRegex(@"^(GET|POST|PUT|PATCH|DELETE) (\S+)$")]
    private static partial Regex RequestPattern();

    [GeneratedRegex(@"\{\{(\w+)\}\}")]
    private static partial Regex ReferencePattern();
}
