using System.Text.Json;
using System.Text.Json.Nodes;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.SubmittingAsynchronously;

/// <summary>
/// POST /api/v1/commands <c>{type, body}</c>: for systems that only speak messages. Always asynchronous: the body is
/// validated exactly as on the command's own endpoint (same 400 problems), stored on the durable queue and answered
/// <c>202 Accepted</c> with <c>Location: /api/v1/operations/{operationId}</c>.
/// </summary>
public static class SubmitCommandEndpoint
{
    public static void Map(IEndpointRouteBuilder api) =>
        api.MapPost("/commands", (HttpContext http, LedgerCatalogue catalogue, TimeProvider time, CancellationToken ct) => SubmitAsync(http, catalogue, time, ct))
            .WithName("SubmitCommand")
            .RequireAuthorization(Security.Policies.Writer)
            .WithTags(ApiDocs.CommandsTag)
            .WithSummary("Submit a command as a message")
            .WithDescription("Stores a command {type, body} durably and answers 202 with Location: /api/v1/operations/{operationId}; a worker on any node runs it. The body is validated exactly as on the synchronous endpoint.")
            .Accepts<SubmitCommandRequest>(ApiDocs.Json)
            .Produces<CommandAccepted>(StatusCodes.Status202Accepted, ApiDocs.Json)
            .WithMetadata(new ApiDocs.LocationHeader(StatusCodes.Status202Accepted))
            .ProducesProblems(400, "validation_failed", "malformed_json")
            .ProducesProblems(409, "operation_id_conflict")
            .ProducesProblems(413, "payload_too_large")
            .ProducesProblems(415, "unsupported_media_type");

    private static async Task<IResult> SubmitAsync(
        HttpContext http, LedgerCatalogue catalogue, TimeProvider time, CancellationToken cancellationToken)
    {
        var (document, problem) = await JsonBody.ReadAsync(http.Request, CommandEndpoints.MaxCommandBytes, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        using var _ = document;
        var root = document!.RootElement;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var kinds = CommandRegistry.OfferedByType;
        CommandKind? kind = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            errors["body"] = ["must be an object {type, body}"];
        }
        else if (!root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || !kinds.TryGetValue(type.GetString()!, out kind))
        {
            errors["type"] = [$"must be one of: {string.Join(", ", kinds.Keys.Order(StringComparer.Ordinal))}"];
        }

        if (root.ValueKind == JsonValueKind.Object && (!root.TryGetProperty("body", out var body) || body.ValueKind != JsonValueKind.Object))
        {
            errors["body"] = ["is required: the command's JSON object"];
        }

        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }

        var commandBody = root.GetProperty("body");
        var (envelope, invalid) = CommandEndpoints.Read(kind!, commandBody, catalogue, CommandEndpoints.ContextOf(http, time));
        if (invalid is not null)
        {
            return new ReplyResult(invalid);
        }

        return await Security.CommandSecurity.RefusalAsync(http, envelope!, cancellationToken) is { } refused
            ? new ReplyResult(refused)
            : await AsyncSubmission.AcceptAsync(http, kind!, envelope!, JsonObject.Create(commandBody.Clone())!, cancellationToken);
    }
}
