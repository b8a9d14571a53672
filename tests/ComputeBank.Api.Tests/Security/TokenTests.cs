using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ComputeBank.Api.Security;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ComputeBank.Api.Tests.Security;

/// <summary>Only a token signed with the service's key, for its issuer and audience, and not expired, is accepted;
/// every other one is a 401 <c>unauthenticated</c> problem that changes nothing.</summary>
public sealed class TokenTests(SecureApiFactory factory) : IClassFixture<SecureApiFactory>
{
    private const string Owner = "tok-acme";

    public static TheoryData<string> BadTokens => new(["expired", "wrong audience", "wrong issuer", "wrong key", "alg none", "tampered payload",
        "no expiry", "not a token", "empty"]);

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task BadToken_IsUnauthenticated_AndWritesNothing(string kind)
    {
        var account = await OpenProviderAsync();
        var token = BadToken(kind);
        var before = await factory.EventCountAsync();

        using var response = await DepositAsync(account, token);

        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("unauthenticated", (string?)body!["code"]);
        Assert.Equal(401, (int?)body["status"]);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
        Assert.Equal(before, await factory.EventCountAsync());
    }

    [Fact]
    public async Task GoodToken_IsAccepted_AndExpiryWithinTheClockSkewStillIs()
    {
        var account = await OpenProviderAsync();

        using var fresh = await DepositAsync(account, factory.Token(Roles.Provider, Owner));
        using var justExpired = await DepositAsync(account, factory.Token(Roles.Provider, Owner, TimeSpan.FromSeconds(-5)));

        Assert.Equal(HttpStatusCode.Created, fresh.StatusCode);
        Assert.Equal(HttpStatusCode.Created, justExpired.StatusCode);
    }

    [Fact]
    public async Task NoAuthorizationHeader_IsUnauthenticatedOnEveryExistingPath_AnUnknownOneIsNotFound_AndHealthIsOpen()
    {
        var client = factory.CreateClient();

        var account = await client.GetAsync(new Uri("/api/v1/accounts/x", UriKind.Relative));
        var unknownPath = await client.GetAsync(new Uri("/api/v1/nothing-here", UriKind.Relative));
        var live = await client.GetAsync(new Uri("/health/live", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, account.StatusCode);
        Assert.Equal("unauthenticated", (string?)(await account.Content.ReadFromJsonAsync<JsonObject>())!["code"]);
        // Routing's refusal, like every caller's (Bugs/Bug_routing_refusals_were_403_for_providers_and_consumers).
        Assert.Equal(HttpStatusCode.NotFound, unknownPath.StatusCode);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Fact]
    public async Task TokenWithoutAKnownRole_IsForbidden()
    {
        var token = Sign(Payload(role: "admin"), factory.SigningKey);

        using var response = await GetAsync("/api/v1/accounts/some-account", token);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("forbidden", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["code"]);
    }

    private string BadToken(string kind) => kind switch
    {
        "expired" => factory.Token(Roles.Provider, Owner, TimeSpan.FromMinutes(-5)),
        "wrong audience" => DevTokens.Mint(Roles.Provider, Owner, TimeSpan.FromMinutes(5), factory.SigningKey, audience: "another-api"),
        "wrong issuer" => DevTokens.Mint(Roles.Provider, Owner, TimeSpan.FromMinutes(5), factory.SigningKey, issuer: "someone-else"),
        "wrong key" => DevTokens.Mint(Roles.Provider, Owner, TimeSpan.FromMinutes(5), RandomNumberGenerator.GetBytes(32)),
        "alg none" => Base64Url("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + Base64Url(Payload().ToJsonString()) + ".",
        "tampered payload" => Tampered(DevTokens.Mint(Roles.Consumer, "someone-poor", TimeSpan.FromMinutes(5), factory.SigningKey)),
        "no expiry" => Sign(Payload(expires: false), factory.SigningKey),
        "not a token" => "not-a-token",
        "empty" => string.Empty,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>A consumer's token whose payload is rewritten to the provider role and our owner, keeping its signature.</summary>
    private static string Tampered(string token)
    {
        var parts = token.Split('.');
        var payload = JsonNode.Parse(Base64UrlEncoder.Decode(parts[1]))!.AsObject();
        payload[ClaimNames.Role] = Roles.Provider;
        payload[ClaimNames.Owner] = Owner;
        return $"{parts[0]}.{Base64Url(payload.ToJsonString())}.{parts[2]}";
    }

    private static JsonObject Payload(string role = Roles.Provider, bool expires = true)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payload = new JsonObject
        {
            ["iss"] = AuthSettings.DefaultIssuer, ["aud"] = AuthSettings.DefaultAudience, ["sub"] = "tester",
            [ClaimNames.Role] = role, [ClaimNames.Owner] = Owner, ["iat"] = now, ["nbf"] = now,
        };
        if (expires)
        {
            payload["exp"] = now + 300;
        }

        return payload;
    }

    private static string Sign(JsonObject payload, byte[] key) =>
        new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(payload.ToJsonString(),
            new SigningCredentials(new SymmetricSecurityKey(key), SecurityAlgorithms.HmacSha256));

    private static string Base64Url(string text) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(text));

    private async Task<string> OpenProviderAsync()
    {
        var account = "tok-" + Guid.NewGuid().ToString("N")[..10];
        (await factory.ClientAs(Roles.Provider, Owner).OpenAsync(account, "provider", Owner)).ShouldBe(HttpStatusCode.Created);
        return account;
    }

    private async Task<HttpResponseMessage> DepositAsync(string account, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/v1/deposits", UriKind.Relative))
        {
            Content = JsonContent.Create(new
            {
                depositId = "dep-" + Guid.NewGuid().ToString("N")[..10], accountId = account, resourceClass = "gpu.h100", region = "beijing",
                period = LedgerClient.Period, hours = "1",
            }),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        return await factory.CreateClient().SendAsync(request);
    }

    private async Task<HttpResponseMessage> GetAsync(string path, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await factory.CreateClient().SendAsync(request);
    }
}
