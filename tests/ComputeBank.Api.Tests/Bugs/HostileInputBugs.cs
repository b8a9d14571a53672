using System.Net;
using System.Text;

namespace ComputeBank.Api.Tests.Bugs;

/// <summary>Bodies the hostile-input fuzzer (Security/HostileInputTests) answered with a 500 or a problem without a code.</summary>
public sealed class HostileInputBugs(ApiFactory factory) : IClassFixture<ApiFactory>
{
    private readonly LedgerClient _client = new(factory.CreateClient());

    [Fact]
    public async Task Bug_invalid_utf8_inside_a_string_was_a_500()
    {
        var body = Encoding.UTF8.GetBytes("{\"accountId\":\"acct-1\",\"ownerId\":\"o\",\"kind\":\"consumer\",\"displayName\":\"X")
            .Concat(new byte[] { 0xC3, 0x28 }).Concat(Encoding.UTF8.GetBytes("\"}")).ToArray();

        var answer = await SendAsync(HttpMethod.Post, "/api/v1/accounts", body);

        answer.ShouldBeProblem(HttpStatusCode.BadRequest, "malformed_json");
    }

    [Fact]
    public async Task Bug_an_escaped_unpaired_surrogate_was_a_500()
    {
        var answer = await _client.PostAsync("/api/v1/holds/h-1/release", "{\"operationId\":\"op-\\ud800\"}");

        answer.ShouldBeProblem(HttpStatusCode.BadRequest, "malformed_json");
    }

    [Fact]
    public async Task Bug_a_nul_character_in_a_text_field_failed_the_commit_with_a_500()
    {
        var before = await factory.Database.ScalarAsync<long>("SELECT count(*) FROM cb.events");

        var answer = await _client.PostAsync("/api/v1/accounts", new { accountId = "nul-1", ownerId = "o", kind = "consumer", displayName = "a\u0000b" });

        answer.ShouldBeProblem(HttpStatusCode.BadRequest, "validation_failed");
        Assert.NotNull(answer.Body!["errors"]!["displayName"]);
        Assert.Equal(before, await factory.Database.ScalarAsync<long>("SELECT count(*) FROM cb.events"));
    }

    private async Task<Answer> SendAsync(HttpMethod method, string path, byte[] body, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative)) { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return await _client.SendAsync(request);
    }
}
