using System.Text.Json.Nodes;
using ComputeBank.Api.Http;
using ComputeBank.Messaging;
using ComputeBank.Messaging.Durable;

namespace ComputeBank.Api.Features.SubmittingAsynchronously;

/// <summary>
/// <c>Prefer: respond-async</c> (RFC 7240) on a command: once the body is valid (the same 400 problems as the synchronous
/// path), the command is stored on the durable queue and answered <c>202 Accepted</c> with
/// <c>Location: /api/v1/operations/{operationId}</c>; Wolverine runs it (<see cref="QueuedCommandHandler"/>). Submitting the same operation again answers the
/// same 202 and queues nothing; the same operation id with other fields is <c>409 operation_id_conflict</c>.
/// </summary>
public static class AsyncSubmission
{
    /// <summary>Whether the request prefers an asynchronous answer.</summary>
    public static bool Requested(HttpRequest request) =>
        request.Headers["Prefer"].Any(v => v is not null && v.Split(',').Any(p => p.Trim().Split(';')[0].Trim().Equals("respond-async", StringComparison.OrdinalIgnoreCase)));

    public static string Location(string operationId) => "/api/v1/operations/" + Uri.EscapeDataString(operationId);

    /// <summary>Stores one validated command and answers 202 (or 409 when the operation id is queued with other fields).</summary>
    public static async Task<IResult> AcceptAsync(HttpContext http, CommandKind kind, CommandEnvelope envelope, JsonObject body, CancellationToken cancellationToken)
    {
        var replies = await AcceptManyAsync(http, [(kind.Type, envelope, body)], cancellationToken);
        return new AcceptedResult(replies[0]);
    }

    /// <summary>Stores validated commands (one round-trip) and returns, per command, its 202 answer or its 409 problem.</summary>
    public static async Task<IReadOnlyList<CommandReply>> AcceptManyAsync(
        HttpContext http, IReadOnlyList<(string Type, CommandEnvelope Envelope, JsonObject Body)> commands, CancellationToken cancellationToken)
    {
        var queue = http.RequestServices.GetRequiredService<CommandQueue>();
        var now = http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        var outcomes = await queue.SubmitAsync(
            [.. commands.Select(c => new QueueSubmission(c.Envelope.OperationId, c.Type, c.Envelope.Fingerprint, c.Body, c.Envelope.UserId, now))],
            cancellationToken);

        return [.. commands.Select((c, i) => outcomes[i] == SubmissionOutcome.Conflict
            ? CommandReply.Problem(StatusCodes.Status409Conflict, "operation_id_conflict", "Operation id reused with other fields",
                $"Operation '{c.Envelope.OperationId}' was already submitted with different fields; use a new operation id.")
            : new CommandReply(StatusCodes.Status202Accepted, new JsonObject
            {
                ["operationId"] = c.Envelope.OperationId,
                ["type"] = c.Type,
                ["status"] = "pending",
                ["location"] = Location(c.Envelope.OperationId),
                ["alreadySubmitted"] = outcomes[i] == SubmissionOutcome.AlreadyQueued,
            }))];
    }

    /// <summary>202 with Location and <c>Preference-Applied</c>, or the problem.</summary>
    private sealed class AcceptedResult(CommandReply reply) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => reply.Status;

        public Task ExecuteAsync(HttpContext httpContext)
        {
            if (reply.Status == StatusCodes.Status202Accepted)
            {
                httpContext.Response.Headers.Location = (string?)reply.Body["location"];
                httpContext.Response.Headers["Preference-Applied"] = "respond-async";
            }

            return new ReplyResult(reply).ExecuteAsync(httpContext);
        }
    }
}
