using System.Net;
using ComputeBank.Api.Tests.Security;

namespace ComputeBank.Api.Tests.Console;

/// <summary>The console's files: served by the service without a token (they hold no data), under a content security
/// policy that allows this origin only, and nothing else under /console.</summary>
public sealed class ConsoleFilesTests(SecureApiFactory factory) : IClassFixture<SecureApiFactory>
{
    [Theory]
    [InlineData("/console", "text/html")]
    [InlineData("/console/", "text/html")]
    [InlineData("/console/console.js", "text/javascript")]
    [InlineData("/console/console.css", "text/css")]
    public async Task EachFile_IsServedWithoutAToken_UnderAPolicyOfThisOriginOnly(string path, string mediaType)
    {
        using var response = await factory.CreateClient().GetAsync(new Uri(path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        var policy = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", text, StringComparison.OrdinalIgnoreCase);
        // The one URL in the files is the SVG namespace, a name that is never fetched.
        Assert.DoesNotContain("http://", text.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("/console/secrets.json")]
    [InlineData("/console/..%2Fappsettings.json")]
    public async Task AnythingElse_IsNotFound(string path)
    {
        using var response = await factory.CreateClient().GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
