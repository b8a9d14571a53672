using ComputeBank.Api.Auditing;
using ComputeBank.Api.Hosting;

namespace ComputeBank.Api.Features.VerifyingLedger;

/// <summary>
/// GET /api/v1/audit/verify: replays every event and checks DOMAIN.md invariants 1, 3 and 5 (<see cref="LedgerAuditor"/>).
/// Always 200 when the check ran: <c>ok</c> says whether the books are clean, <c>discrepancies</c> what is wrong.
/// </summary>
public static class VerifyLedgerEndpoint
{
    public static void Map(IEndpointRouteBuilder api) =>
        api.MapGet("/audit/verify", async (LedgerAuditor auditor, CancellationToken ct) => Results.Json(await auditor.VerifyAsync(null, ct), ReportJson))
            .WithName("VerifyLedger")
            .ReadsFromReplica()
            .RequireAuthorization(Security.Policies.ReadAll)
            .WithTags("Queries")
            .WithSummary("Verify the ledger")
            .WithDescription("Replays every stream from events alone and checks double entry per resource class, that every read model equals the fold of its events, and the hash chains; lists each discrepancy with account, bucket, expected and found.")
            .Produces<AuditReport>();

    public static System.Text.Json.JsonSerializerOptions ReportJson { get; } = new(System.Text.Json.JsonSerializerDefaults.Web);
}
