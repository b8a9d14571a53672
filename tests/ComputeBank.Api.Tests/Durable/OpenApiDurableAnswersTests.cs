using System.Net;

namespace ComputeBank.Api.Tests.Durable;

/// <summary>The answers of the durable-messaging paths (Prefer: respond-async, POST /commands, operation status, dead
/// letters) have exactly the shape /openapi/v1.json declares, headers included.</summary>
public sealed class OpenApiDurableAnswersTests(DurableApiFactory factory) : IClassFixture<DurableApiFactory>
{
    private static readonly Dictionary<string, string> Async = new(StringComparer.Ordinal) { ["Prefer"] = "respond-async" };

    private readonly LedgerClient _client = new(factory.CreateClient());

    [Fact]
    public async Task AsynchronousAnswers_HaveExactlyTheShapeTheDocumentDeclares()
    {
        var document = (await _client.GetAsync("/openapi/v1.json")).Body!;
        (await _client.OpenAsync("da-prov", "provider")).ShouldBe(HttpStatusCode.Created);
        var deposit = new { depositId = "da-dep", accountId = "da-prov", resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours = "1" };

        // A message of a type this node does not know fails every attempt and becomes a dead letter.
        await factory.QueueAsAnEarlierVersionAsync(factory.Database, "da-unknown", "from-a-newer-node", "{}");
        var answers = new List<(string Operation, string Status, Answer Answer)>
        {
            ("DepositCapacity", "202", await _client.PostAsync("/api/v1/deposits", deposit, Async)),
            ("SubmitCommand", "202", await _client.PostAsync("/api/v1/commands", new { type = "deposit", body = deposit with { depositId = "da-dep-2" } })),
            ("SubmitCommand", "400", await _client.PostAsync("/api/v1/commands", new { type = "nope", body = new { } })),
            ("SubmitBatch", "202", await _client.PostAsync("/api/v1/commands/batch", new
            {
                commands = new object[] { new { type = "deposit", body = deposit with { depositId = "da-dep-3" } }, new { type = "deposit", body = new { } } },
            }, Async)),
            ("GetOperation", "200", await FinishedAsync("da-dep")),
            ("GetOperation", "200", await FinishedAsync("da-unknown")),
        };
        var letters = await _client.GetAsync("/api/v1/dead-letters?limit=1");
        answers.Add(("ListDeadLetters", "200", letters));
        var letterId = (long)letters.Body!["items"]![0]!["id"]!;
        answers.Add(("ReplayDeadLetter", "202", await _client.PostAsync($"/api/v1/dead-letters/{letterId}/replay", null)));
        answers.Add(("ReplayDeadLetter", "409", await _client.PostAsync($"/api/v1/dead-letters/{letterId}/replay", null)));
        answers.Add(("ListDeadLetters", "200", await _client.GetAsync("/api/v1/dead-letters?includeReplayed=true")));

        foreach (var (operationId, status, answer) in answers)
        {
            Assert.True(((int)answer.Status).ToString(System.Globalization.CultureInfo.InvariantCulture) == status, $"{operationId}: {answer.Text}");
            var response = OpenApiDocumentTests.Operation(document, operationId)["responses"]![status]!;
            var (mediaType, content) = response["content"]!.AsObject().Single();
            Assert.Equal(mediaType, answer.ContentType);
            var errors = new List<string>();
            OpenApiDocumentTests.Conform(document, content!["schema"]!, answer.Body!, $"{operationId} {status}", errors);
            Assert.True(errors.Count == 0, string.Join("\n", errors));
        }

        // The 202 of a single command carries the headers the document declares.
        using var http = factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/deposits") { Content = JsonContent(deposit with { depositId = "da-dep-4" }) };
        request.Headers.Add("Prefer", "respond-async");
        using var accepted = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var declared = OpenApiDocumentTests.Operation(document, "DepositCapacity")["responses"]!["202"]!["headers"]!.AsObject();
        Assert.Equal(["Preference-Applied", "Location"], declared.Select(h => h.Key));
        Assert.Equal("/api/v1/operations/da-dep-4", accepted.Headers.Location?.OriginalString);
        Assert.Equal("respond-async", accepted.Headers.GetValues("Preference-Applied").Single());
    }

    private static StringContent JsonContent(object body) =>
        new(System.Text.Json.JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");

    private Task<Answer> FinishedAsync(string operationId) =>
        Eventually.WaitAsync(() => _client.GetAsync("/api/v1/operations/" + operationId),
            a => a.Status == HttpStatusCode.OK && (string?)a.Body!["status"] != "pending" && (a.Body["deadLetterId"] is not null || (string?)a.Body["status"] == "succeeded"),
            $"operation {operationId}");
}
