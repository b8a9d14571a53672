using System.Text.Json.Nodes;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Api.Ledger;
using ComputeBank.Api.Security;
using ComputeBank.Domain;
using ComputeBank.Domain.Holds;
using ComputeBank.EventStore;

namespace ComputeBank.Api.Features.GettingHold;

/// <summary>
/// GET /api/v1/holds/{holdId}: the hold and its status, from the hold stream's inline snapshot plus any later events.
/// A hold still pending at or after its <c>expiresAt</c> is reported <c>expired</c>: DOMAIN.md makes expiry happen at
/// that instant whether or not the expiry event has been written yet (it can no longer be captured or released).
/// </summary>
public static class GetHoldEndpoint
{
    public static void Map(IEndpointRouteBuilder api) =>
        api.MapGet("/holds/{holdId}", GetAsync)
            .WithName("GetHold")
            .RequireHoldReader()
            .WithTags(ApiDocs.QueriesTag)
            .WithSummary("Get a hold")
            .WithDescription("The hold and its status (pending, captured, released, expired).")
            .Produces<HoldDetails>(StatusCodes.Status200OK, ApiDocs.Json)
            .ProducesProblems(400, "validation_failed")
            .ProducesProblems(404, "hold_not_found");

    private static async Task<IResult> GetAsync(string holdId, MartenEventStore store, TimeProvider time, CancellationToken ct)
    {
        if (!OperationId.TryParse(holdId, out var id, out var error))
        {
            return Problems.Validation(new Dictionary<string, string[]>(StringComparer.Ordinal) { ["holdId"] = [error ?? "is not valid"] });
        }

        var (state, version) = await store.CurrentAsync(StreamIds.Hold(id), ct);
        if (state is not HoldState hold)
        {
            return Problems.NotFound("hold_not_found", $"No hold '{holdId}'.");
        }

        var status = hold.Status == HoldStatus.Pending && time.GetUtcNow() >= hold.ExpiresAt ? HoldStatus.Expired : hold.Status;
        return Results.Json(new JsonObject
        {
            ["holdId"] = hold.HoldId.Value,
            ["accountId"] = hold.AccountId.Value,
            ["beneficiaryAccountId"] = hold.BeneficiaryAccountId?.Value,
            ["resourceClass"] = hold.Bucket.ResourceClass.Value,
            ["region"] = hold.Bucket.Region.Value,
            ["period"] = hold.Bucket.Period.ToString(),
            ["hours"] = hold.Hours.ToString(),
            ["capturedHours"] = hold.CapturedHours.ToString(),
            ["status"] = OperationResults.Lower(status.ToString()),
            ["placedAt"] = OperationResults.Timestamp(hold.PlacedAt),
            ["expiresAt"] = OperationResults.Timestamp(hold.ExpiresAt),
            ["endedAt"] = hold.EndedAt is { } ended ? OperationResults.Timestamp(ended) : null,
            ["version"] = version,
        });
    }
}
