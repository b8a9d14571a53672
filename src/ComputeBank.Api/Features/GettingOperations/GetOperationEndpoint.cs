using System.Text.Json.Nodes;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Features.ExpiringHolds;
using ComputeBank.Api.Hosting;
using ComputeBank.Api.Http;
using ComputeBank.Messaging.Durable;

namespace ComputeBank.Api.Features.GettingOperations;

/// <summary>
/// GET /api/v1/operations/{operationId}: where an operation stands, <c>{status: pending|succeeded|failed, result | problem}</c>,
/// from the durable queue, the operation log (so a command sent synchronously is found too) and Wolverine's scheduled
/// messages (a hold's expiry before it has run). 404 <c>operation_not_found</c>.
/// </summary>
public static class GetOperationEndpoint
{
    public static void Map(IEndpointRouteBuilder api) =>
        api.MapGet("/operations/{operationId}", GetAsync)
            .WithName("GetOperation")
            .RequireAuthorization(Security.Policies.Reader)
            .WithTags(ApiDocs.QueriesTag)
            .WithSummary("Get the status of an operation")
            .WithDescription("{status: pending|succeeded|failed, result | problem} of an asynchronously submitted command (or of any command the operation log remembers). Auditors and operators read every operation; a provider or consumer reads one that acted on or touched an account of its own, with the result cut to its own accounts; any other id answers 404 as if it were unknown.")
            .Produces<OperationStatusView>(StatusCodes.Status200OK, ApiDocs.Json)
            .ProducesProblems(404, "operation_not_found");

    private static async Task<IResult> GetAsync(
        string operationId, DurableQueue queue, ScheduledMessages scheduled, HttpContext http, CancellationToken cancellationToken)
    {
        var status = await queue.FindAsync(operationId, cancellationToken) ?? await ScheduledAsync(operationId, scheduled, cancellationToken);
        if (status is null)
        {
            return NotFound(operationId);
        }

        var body = new JsonObject
        {
            ["operationId"] = status.OperationId,
            ["status"] = status.Status,
            ["type"] = status.CommandType,
            ["attempts"] = status.Attempts,
            ["submittedAt"] = status.SubmittedAt,
            ["finishedAt"] = status.FinishedAt,
        };
        if (status.Status != "pending" && status.Response is not null)
        {
            body["httpStatus"] = status.HttpStatus;
            body[status.Status == "succeeded" ? "result" : "problem"] = status.Response.DeepClone();
        }

        if (status.LastError is not null)
        {
            body["lastError"] = status.LastError;
        }

        if (status.DeadLetterId is { } deadLetter)
        {
            body["deadLetterId"] = deadLetter;
        }

        var visible = await OperationVisibility.ForCallerAsync(body, status, http.User, http.RequestServices, cancellationToken);
        return visible is null ? NotFound(operationId) : Results.Json(visible);
    }

    /// <summary>A hold's expiry that is scheduled or running and has no answer yet: pending.</summary>
    private static async Task<OperationStatus?> ScheduledAsync(string operationId, ScheduledMessages scheduled, CancellationToken cancellationToken)
    {
        var found = operationId.StartsWith("expire:", StringComparison.Ordinal)
            ? await scheduled.FindAsync<HoldExpiryDue>(operationId, cancellationToken)
            : null;
        return found is { } running
            ? new OperationStatus(operationId, "pending", HoldExpiry.Type, null, null, running.Attempts, null, null, null, null)
            {
                Body = new JsonObject { ["holdId"] = running.Message.HoldId },
            }
            : null;
    }

    /// <summary>The one answer for an unknown operation and for one the caller may not see.</summary>
    private static IResult NotFound(string operationId) =>
        Problems.NotFound("operation_not_found", $"No operation '{operationId}' is known to this caller.");
}
