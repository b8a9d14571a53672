using System.Text.Json.Nodes;
using ComputeBank.Messaging;

namespace ComputeBank.Api.Http;

/// <summary>Writes a <see cref="CommandReply"/> as the HTTP answer: its status, its JSON body (problem+json for
/// errors) and <c>Idempotent-Replayed: true</c> when it is the stored answer of an earlier submission.</summary>
internal sealed class ReplyResult(CommandReply reply, string? location = null) : IResult, IStatusCodeHttpResult
{
    public int? StatusCode => reply.Status;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = reply.Status;
        if (reply.Replayed)
        {
            response.Headers["Idempotent-Replayed"] = "true";
        }

        if (location is not null && reply.Succeeded)
        {
            response.Headers.Location = location;
        }

        if (reply.Status == StatusCodes.Status503ServiceUnavailable)
        {
            response.Headers.RetryAfter = "1";
        }

        response.ContentType = reply.Succeeded ? "application/json; charset=utf-8" : "application/problem+json; charset=utf-8";
        await response.Body.WriteAsync(reply.JsonMemory, httpContext.RequestAborted);
    }
}

/// <summary>Problem answers of the HTTP layer itself (before a command reaches the bus).</summary>
internal static class Problems
{
    public static IResult Of(int status, string code, string title, string? detail = null, JsonObject? extensions = null) =>
        new ReplyResult(CommandReply.Problem(status, code, title, detail, extensions));

    public static IResult Validation(IReadOnlyDictionary<string, string[]> errors) =>
        Of(StatusCodes.Status400BadRequest, "validation_failed", "The request is not valid",
            "One or more fields are missing or invalid; see errors.", new JsonObject { ["errors"] = ErrorsNode(errors) });

    public static IResult MalformedJson(string detail) =>
        Of(StatusCodes.Status400BadRequest, "malformed_json", "The body is not valid JSON", detail);

    public static IResult NotFound(string code, string detail) =>
        Of(StatusCodes.Status404NotFound, code, "Not found", detail);

    public static JsonObject ErrorsNode(IReadOnlyDictionary<string, string[]> errors)
    {
        var node = new JsonObject();
        foreach (var (field, messages) in errors.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            node[field] = new JsonArray([.. messages.Select(m => (JsonNode?)JsonValue.Create(m))]);
        }

        return node;
    }
}
