using System.Text;
using System.Text.Json;
using ComputeBank.Api.Security;

namespace ComputeBank.Api.Tests.Security;

public sealed class HostileJsonTests
{
    [Fact]
    public void GivenReadableText_ThenNoProblem()
    {
        using var document = JsonDocument.Parse("""{"commands":[{"type":"deposit","body":{"reference":"中文 🚀 \u00e9","hours":1}}]}""");
        Assert.Null(HostileJson.Problem(document.RootElement));
    }

    [Fact]
    public void GivenAnUnpairedSurrogateDeepInABatch_ThenTheProblemNamesItsPath()
    {
        using var document = JsonDocument.Parse("""{"commands":[{"body":{"reference":"fine"}},{"body":{"reference":"bad \ud800 text"}}]}""");
        Assert.Equal(
            "A string at or below $.commands[1].body.reference is not valid UTF-8 text (invalid bytes or an unpaired surrogate).",
            HostileJson.Problem(document.RootElement));
    }

    [Fact]
    public void GivenInvalidUtf8BytesInAPropertyName_ThenTheProblemNamesItsObject()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"a":{"b":1,"X":2}}""");
        bytes[Array.IndexOf(bytes, (byte)'X')] = 0xFF;
        using var document = JsonDocument.Parse(bytes);
        Assert.Equal("A string at or below $.a is not valid UTF-8 text (invalid bytes or an unpaired surrogate).", HostileJson.Problem(document.RootElement));
    }
}
