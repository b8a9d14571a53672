namespace ComputeBank.Api.Health;

/// <summary><c>/health/live</c> (the process answers) and <c>/health/ready</c> (see <see cref="Readiness"/>).</summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/health/live", () => Results.Ok(new HealthReport("live", [])))
            .WithName("GetLiveness").WithTags("Health").AllowAnonymous()
            .WithSummary("Liveness")
            .WithDescription("200 {status: live} while the process answers; checks no dependency.")
            .Produces<HealthReport>(StatusCodes.Status200OK, Http.ApiDocs.Json);
        endpoints.MapGet("/health/ready", ReadyAsync)
            .WithName("GetReadiness").WithTags("Health").AllowAnonymous()
            .WithSummary("Readiness")
            .WithDescription("200 {status: ready} when every dependency check passes, else 503 with the failing checks (what a load balancer routes on).")
            .Produces<HealthReport>(StatusCodes.Status200OK, Http.ApiDocs.Json)
            .Produces<HealthReport>(StatusCodes.Status503ServiceUnavailable, Http.ApiDocs.Json);
        return endpoints;
    }

    private static async Task<IResult> ReadyAsync(Readiness readiness, CancellationToken cancellationToken)
    {
        var report = await readiness.CheckAsync(cancellationToken);
        return Results.Json(report, statusCode: report.Status == "ready" ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }
}

/// <summary>Answer of the health endpoints.</summary>
/// <param name="Status"><c>live</c> (liveness), <c>ready</c> or <c>not_ready</c> (readiness).</param>
/// <param name="Checks">The dependency checks of the readiness endpoint (none for liveness).</param>
public sealed record HealthReport(string Status, IReadOnlyList<HealthCheck> Checks);

/// <summary>One dependency check of the readiness endpoint.</summary>
/// <param name="Name">What was checked.</param>
/// <param name="Healthy">Whether the check passed.</param>
/// <param name="Error">Why it failed, or null.</param>
public sealed record HealthCheck(string Name, bool Healthy, string? Error);
