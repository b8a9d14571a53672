using System.Net;
using System.Text.Json.Nodes;
using ComputeBank.Api.Http;
using ComputeBank.Api.Security;

namespace ComputeBank.Api.Tests.Security;

/// <summary>
/// What /openapi/v1.json says about who may call each operation is what the API enforces (authentication on): without
/// a token every operation answers the documented 401, a role outside its x-computebank-roles the documented 403, and
/// a listed role is never refused by the endpoint's role rule.
/// </summary>
public sealed class OpenApiSecurityTests(SecureApiFactory factory) : IClassFixture<SecureApiFactory>
{
    private static readonly Dictionary<string, string> RouteValues = new(StringComparer.Ordinal)
    {
        ["accountId"] = "nobody-account", ["holdId"] = "nobody-hold", ["operationId"] = "nobody-op", ["id"] = "1",
        ["period"] = "2026-11", ["resourceClass"] = "gpu.h100", ["region"] = "beijing",
    };

    [Fact]
    public async Task EveryOperation_RefusesAsDocumented_AndLetsItsDocumentedRolesPastTheRoleRule()
    {
        var document = (await factory.ClientWith(null).GetAsync("/openapi/v1.json")).ShouldBe(HttpStatusCode.OK).Body!;
        var operations = document["paths"]!.AsObject()
            .Where(p => p.Key.StartsWith("/api/v1/", StringComparison.Ordinal))
            .SelectMany(p => p.Value!.AsObject().Select(o => (Path: p.Key, Method: o.Key, Operation: o.Value!)))
            .ToList();
        Assert.True(operations.Count >= 25, $"only {operations.Count} operations");

        var failures = new List<string>();
        foreach (var (path, method, operation) in operations)
        {
            var url = RouteValues.Aggregate(path, (u, v) => u.Replace("{" + v.Key + "}", v.Value, StringComparison.Ordinal));
            var roles = operation[ApiDocs.RolesExtension]!.AsArray().Select(r => (string)r!).ToHashSet(StringComparer.Ordinal);

            var anonymous = await SendAsync(factory.ClientWith(null), method, url);
            if (anonymous.Status != HttpStatusCode.Unauthorized || (string?)anonymous.Body?["code"] != "unauthenticated")
            {
                failures.Add($"{method} {path} anonymous: {(int)anonymous.Status} {anonymous.Text}");
            }

            foreach (var role in Roles.All)
            {
                var answer = await SendAsync(factory.ClientAs(role, "nobody"), method, url);
                var refusedByRole = answer.Status == HttpStatusCode.Forbidden && ((string?)answer.Body?["detail"])?.Contains("needs the role", StringComparison.Ordinal) == true;
                if (roles.Contains(role) == refusedByRole)
                {
                    failures.Add($"{method} {path} as {role} (documented: {string.Join("|", roles)}): {(int)answer.Status} {answer.Text}");
                }

                if (answer.Status == HttpStatusCode.Forbidden && (string?)answer.Body?["code"] != "forbidden")
                {
                    failures.Add($"{method} {path} as {role}: 403 without code forbidden: {answer.Text}");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static Task<Answer> SendAsync(LedgerClient client, string method, string url) => method switch
    {
        "get" => client.GetAsync(url),
        "put" => client.PutAsync(url, new JsonObject()),
        _ => client.PostAsync(url, new JsonObject()),
    };
}
