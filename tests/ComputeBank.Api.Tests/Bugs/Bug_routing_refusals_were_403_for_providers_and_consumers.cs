using System.Net;
using System.Text;
using ComputeBank.Api.Security;
using ComputeBank.Api.Tests.Security;

namespace ComputeBank.Api.Tests.Bugs;

/// <summary>
/// Routing's own refusals (no route: 404; a route without this method: 405; a body of a media type the route does not
/// accept: 415) were answered 403 "this endpoint needs the role auditor or operator" to providers and consumers (and 401
/// to anonymous callers): the authorization fallback policy ran on routing's rejection endpoints as if they were
/// endpoints that declared no rule. Every caller gets the refusal that describes the request.
/// </summary>
public sealed class Bug_routing_refusals_were_403_for_providers_and_consumers(SecureApiFactory factory) : IClassFixture<SecureApiFactory>
{
    public static TheoryData<string?> Callers => [Roles.Provider, Roles.Consumer, Roles.Auditor, Roles.Operator, null];

    [Theory]
    [MemberData(nameof(Callers))]
    public async Task Bug_an_unknown_route_was_403_instead_of_404(string? role)
    {
        var answer = await Client(role).GetAsync("/api/v1/no-such-route");

        answer.ShouldBeProblem(HttpStatusCode.NotFound, "not_found");
    }

    [Theory]
    [MemberData(nameof(Callers))]
    public async Task Bug_get_on_a_post_route_was_403_instead_of_405_with_allow(string? role)
    {
        using var response = await Client(role).Http.GetAsync(new Uri("/api/v1/withdrawals", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.MethodNotAllowed, $"{(int)response.StatusCode} {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"code\":\"method_not_allowed\"", body, StringComparison.Ordinal);
        Assert.Equal(["POST"], response.Content.Headers.Allow);
    }

    [Theory]
    [MemberData(nameof(Callers))]
    public async Task Bug_a_text_plain_body_was_403_instead_of_415(string? role)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/v1/withdrawals", UriKind.Relative))
        {
            Content = new StringContent("{}", Encoding.UTF8, "text/plain"),
        };

        var answer = await Client(role).SendAsync(request);

        answer.ShouldBeProblem(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
    }

    [Fact]
    public async Task An_anonymous_caller_of_an_existing_protected_route_is_still_401()
    {
        var answer = await factory.ClientWith(null).PostAsync("/api/v1/withdrawals", new { withdrawalId = "w-1" });

        answer.ShouldBeProblem(HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Fact]
    public async Task A_provider_on_an_existing_route_of_other_roles_is_still_403()
    {
        var answer = await Client(Roles.Provider).GetAsync("/api/v1/events");

        answer.ShouldBeProblem(HttpStatusCode.Forbidden, "forbidden");
    }

    private LedgerClient Client(string? role) => role is null ? factory.ClientWith(null) : factory.ClientAs(role, "acme");
}
