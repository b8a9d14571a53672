using System.Net;

namespace ComputeBank.Api.Tests.Bugs;

/// <summary>
/// A body that is not JSON was answered with System.Text.Json's own text ("... not supported in this mode. Change the
/// reader options. LineNumber: 0 | BytePositionInLine: 55."): advice to the server's reader, lines counted from 0. The
/// detail says what is wrong in the caller's terms and where, lines and columns counted from 1.
/// </summary>
public sealed class Bug_malformed_json_answered_with_the_readers_text(ApiFactory factory) : IClassFixture<ApiFactory>
{
    private readonly LedgerClient _client = new(factory.CreateClient());

    public static TheoryData<string, string> Bodies => new()
    {
        { "{\"withdrawalId\": \"w-1\", \"hours\": \"1\",}", " at line 1, column 38: a trailing comma before the end of an object is not allowed." },
        { "{\"withdrawalId\": \"w-1\",\n  \"tags\": [1, 2,]\n}", " at line 2, column 17: a trailing comma before the end of an array is not allowed." },
        { "{\"withdrawalId\": \"w-1\",", " at line 1, column 23: the body ends before the JSON is complete (an object or array is not closed)." },
        { "", " at line 1, column 1: the body is empty; send one JSON object." },
        { "{\"withdrawalId\": \"w-1\"} {}", " at line 1, column 25: '{' follows the JSON object; send exactly one JSON value." },
        { "{\n  withdrawalId: \"w-1\"\n}", " at line 2, column 3: property names are quoted with '\"' (found 'w')." },
        { "{\"withdrawalId\": 'w-1'}", " at line 1, column 18: strings are quoted with '\"', not with '''." },
        { "{\"withdrawalId\": \"w-1\" /* retry */}", " at line 1, column 24: comments are not allowed in JSON." },
        { "{\"withdrawalId\": \"w-1\", \"withdrawalId\": \"w-2\"}", ": the property 'withdrawalId' appears more than once in the same object." },
        { "{\"withdrawalId\": \"w-1\n\"}", " at line 1, column 22: the control character 0x0A inside a string must be escaped (such as \\n or \\u000A)." },
        { "{\"withdrawalId\": }", " at line 1, column 18: '}' is an invalid start of a value." },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task Bug_the_detail_was_the_readers_text_with_lines_from_zero(string body, string expected)
    {
        var answer = await _client.PostAsync("/api/v1/withdrawals", body);

        answer.ShouldBeProblem(HttpStatusCode.BadRequest, "malformed_json");
        Assert.Equal("The body is not valid JSON" + expected, (string?)answer.Body!["detail"]);
    }
}
