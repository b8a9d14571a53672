using System.Text;
using System.Text.Json.Nodes;
using ComputeBank.Api.Security;

namespace ComputeBank.Cli.Tests;

/// <summary><c>token</c> prints only a JWT signed with the given key, with the role and owner asked for.</summary>
public sealed class TokenCommandTests
{
    [Fact]
    public async Task Token_PrintsJustASignedJwt_WithRoleAndOwner()
    {
        var key = Convert.ToBase64String(Encoding.ASCII.GetBytes("an-hs256-test-key-of-32-bytes-or-more!!"));
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await CliApp.RunAsync(["token", "--role", "provider", "--owner", "acme", "--key", key], output, error, default);

        Assert.Equal(CliApp.Ok, code);
        var token = output.ToString().Trim();
        var parts = token.Split('.');
        Assert.Equal(3, parts.Length);
        var payload = JsonNode.Parse(Encoding.UTF8.GetString(Base64Url(parts[1])))!;
        Assert.Equal("provider", (string?)payload["role"]);
        Assert.Equal("acme", (string?)payload["owner"]);
        Assert.Equal(AuthSettings.DefaultAudience, (string?)payload["aud"]);
    }

    [Fact]
    public async Task Token_WithAnUnknownRole_FailsWithAMessage()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await CliApp.RunAsync(["token", "--role", "king", "--owner", "acme", "--key", Convert.ToBase64String(new byte[32])], output, error, default);

        Assert.Equal(CliApp.Failed, code);
        Assert.Contains("Unknown role 'king'", error.ToString(), StringComparison.Ordinal);
        Assert.Equal("", output.ToString());
    }

    private static byte[] Base64Url(string text) =>
        Convert.FromBase64String(text.Replace('-', '+').Replace('_', '/').PadRight(text.Length + ((4 - (text.Length % 4)) % 4), '='));
}
