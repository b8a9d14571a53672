namespace ComputeBank.Api.Health;

/// <summary><c>/health/live</c> (the process answers) and <c>/health/ready</c> (see <see cref="Readiness"/>).</summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/health/live", () => Results.Ok(new HealthReport("live", [])))
            .WithName("GetLiveness").WithTags("Health").AllowAnonymous();
        endpoints.MapGet("/health/ready", ReadyAsync)
            .WithName("GetReadiness").WithTags("Health").AllowAnonymous();
        return endpoints;
    }

    private static async Task<IResult> ReadyAsync(Readiness readiness, CancellationToken cancellationToken)
    {
        var report = await readiness.CheckAsync(cancellationToken);
        return Results.Json(report, statusCode: report.Status == "ready" ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }
}

/// <summary>Answer of the health endpoints.</summary>
public sealed record HealthReport(string Status, IReadOnlyList<HealthCheck> Checks);

/// <summary>One dependency check of the readiness endpoint.</summary>
public sealed record HealthCheck(string Name, bool Healthy, string? Error);
