using System.Globalization;
using System.Text.Json.Nodes;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Features.SubmittingAsynchronously;
using ComputeBank.Api.Http;
using ComputeBank.Messaging.Durable;

namespace ComputeBank.Api.Features.ManagingDeadLetters;

/// <summary>
/// GET /api/v1/dead-letters?afterId=&amp;limit=&amp;includeReplayed=: queued commands that failed more often than the error
/// policy allows, oldest first, with a <c>next</c> cursor. POST /api/v1/dead-letters/{id}/replay: puts one back on the
/// queue with fresh attempts (after its cause is fixed) and answers 202 with the operation's Location. POST
/// /api/v1/dead-letters/{id}/discard {reason}: the operator decides the command is not run again; the letter keeps when
/// and why, and the command stays failed.
/// </summary>
public static class DeadLetterEndpoints
{
    public const int MaxLimit = 500;

    public static void Map(IEndpointRouteBuilder api)
    {
        api.MapGet("/dead-letters", ListAsync)
            .WithName("ListDeadLetters")
            .RequireAuthorization(Security.Policies.ReadAll)
            .WithTags("Operations")
            .WithSummary("List dead letters")
            .WithDescription("Commands that failed after the configured number of attempts, with their last error, newest first, paged.")
            .AcceptsQuery(new QueryParameter("afterId", "Dead letters after this id (0, the default, starts at the first).", QueryParameterType.Int64, Minimum: 0, Default: 0))
            .AcceptsQuery(new QueryParameter("limit", "At most this many dead letters.", QueryParameterType.Int32, Minimum: 1, Maximum: MaxLimit, Default: 100))
            .AcceptsQuery(new QueryParameter("includeReplayed", "true to list dead letters already replayed too.", QueryParameterType.Boolean, Default: false))
            .Produces<DeadLetterPage>(StatusCodes.Status200OK, ApiDocs.Json)
            .ProducesProblems(400, "validation_failed");
        api.MapPost("/dead-letters/{id}/replay", ReplayAsync)
            .WithName("ReplayDeadLetter")
            .RequireAuthorization(Security.Policies.Operator)
            .WithTags("Operations")
            .WithSummary("Replay a dead letter")
            .WithDescription("Queues the dead-lettered command again (202); answered 404 for an unknown letter and 409 when it was replayed already.")
            .ProducesProblems(404, "dead_letter_not_found")
            .Produces<DeadLetterReplayed>(StatusCodes.Status202Accepted, ApiDocs.Json)
            .WithMetadata(new ApiDocs.LocationHeader(StatusCodes.Status202Accepted))
            .ProducesProblems(404, "dead_letter_not_found")
            .ProducesProblems(409, "dead_letter_already_replayed", "dead_letter_discarded");
        api.MapPost("/dead-letters/{id}/discard", DiscardAsync)
            .WithName("DiscardDeadLetter")
            .RequireAuthorization(Security.Policies.Operator)
            .WithTags("Operations")
            .WithSummary("Discard a dead letter")
            .WithDescription("Records that the dead-lettered command is not to be run again, with the reason; it leaves the default list and cannot be replayed. The command stays failed.")
            .Accepts<DiscardDeadLetterRequest>(ApiDocs.Json)
            .Produces<DeadLetterDiscarded>(StatusCodes.Status200OK, ApiDocs.Json)
            .ProducesProblems(400, "validation_failed")
            .ProducesProblems(404, "dead_letter_not_found")
            .ProducesProblems(409, "dead_letter_already_replayed", "dead_letter_discarded");
    }

    private static async Task<IResult> DiscardAsync(string id, HttpRequest request, DurableQueue queue, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var letterId))
        {
            return Problems.NotFound("dead_letter_not_found", $"No dead letter '{id}'.");
        }

        var (document, problem) = await JsonBody.ReadAsync(request, 16 * 1024, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        string? reason;
        using (document)
        {
            reason = document!.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object && document.RootElement.TryGetProperty("reason", out var value)
                && value.ValueKind == System.Text.Json.JsonValueKind.String ? value.GetString() : null;
        }

        if (string.IsNullOrWhiteSpace(reason) || reason.Length > 500 || Domain.FreeText.Problem(reason) is not null)
        {
            return Problems.Validation(new Dictionary<string, string[]>(StringComparer.Ordinal)
            {
                ["reason"] = ["is required: 1 to 500 characters without control characters, saying why the command is not run again"],
            });
        }

        var now = time.GetUtcNow();
        return await queue.DiscardAsync(letterId, now, reason, cancellationToken) switch
        {
            null => Results.Json(new DeadLetterDiscarded { DeadLetterId = letterId, DiscardedAt = Ledger.OperationResults.Timestamp(now), Reason = reason }, ContractJson.Options),
            ReplayOutcome.AlreadyReplayed => Problems.Of(StatusCodes.Status409Conflict, "dead_letter_already_replayed", "Dead letter already replayed",
                $"Dead letter {id} was replayed; see the operation's status."),
            ReplayOutcome.Discarded => Discarded(id),
            _ => Problems.NotFound("dead_letter_not_found", $"No dead letter '{id}'."),
        };
    }

    private static IResult Discarded(string id) =>
        Problems.Of(StatusCodes.Status409Conflict, "dead_letter_discarded", "Dead letter discarded", $"Dead letter {id} was discarded by an operator; it is not run again.");

    private static async Task<IResult> ListAsync(HttpRequest request, DurableQueue queue, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var afterId = Number(request, "afterId", 0, long.MaxValue, 0, errors);
        var limit = Number(request, "limit", 1, MaxLimit, 100, errors);
        var includeReplayed = request.Query["includeReplayed"].FirstOrDefault() is { } flag && flag.Equals("true", StringComparison.OrdinalIgnoreCase);
        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }

        var letters = await queue.ListDeadLettersAsync(afterId, (int)limit, includeReplayed, cancellationToken);
        return Results.Json(new JsonObject
        {
            ["items"] = new JsonArray([.. letters.Select(l => (JsonNode)new JsonObject
            {
                ["id"] = l.Id,
                ["operationId"] = l.OperationId,
                ["type"] = l.CommandType,
                ["body"] = l.Body.DeepClone(),
                ["attempts"] = l.Attempts,
                ["error"] = l.Error,
                ["problem"] = l.Problem?.DeepClone(),
                ["failedAt"] = l.FailedAt,
                ["replayedAt"] = l.ReplayedAt,
                ["discardedAt"] = l.DiscardedAt,
                ["discardReason"] = l.DiscardReason,
            })]),
            ["next"] = letters.Count == limit
                ? $"/api/v1/dead-letters?afterId={letters[^1].Id.ToString(CultureInfo.InvariantCulture)}&limit={limit.ToString(CultureInfo.InvariantCulture)}" +
                  (includeReplayed ? "&includeReplayed=true" : "")
                : null,
        });
    }

    private static async Task<IResult> ReplayAsync(string id, HttpResponse response, CommandQueue commands, CancellationToken cancellationToken)
    {
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var letterId))
        {
            return Problems.NotFound("dead_letter_not_found", $"No dead letter '{id}'.");
        }

        var (outcome, operationId) = await commands.ReplayAsync(letterId, cancellationToken);
        switch (outcome)
        {
            case ReplayOutcome.NotFound:
                return Problems.NotFound("dead_letter_not_found", $"No dead letter '{id}'.");
            case ReplayOutcome.Discarded:
                return Discarded(id);
            case ReplayOutcome.AlreadyReplayed:
                return Problems.Of(StatusCodes.Status409Conflict, "dead_letter_already_replayed", "Dead letter already replayed",
                    $"Dead letter {id} was replayed before; see the operation's status.");
            default:
                var location = AsyncSubmission.Location(operationId!);
                response.Headers.Location = location;
                return Results.Json(
                    new JsonObject { ["deadLetterId"] = letterId, ["operationId"] = operationId, ["status"] = "pending", ["location"] = location },
                    statusCode: StatusCodes.Status202Accepted);
        }
    }

    private static long Number(HttpRequest request, string name, long min, long max, long fallback, Dictionary<string, string[]> errors)
    {
        var text = request.Query[name].FirstOrDefault();
        if (text is null)
        {
            return fallback;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }

        errors[name] = [$"must be an integer from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}"];
        return fallback;
    }
}
