using ComputeBank.Api.Hosting;
using Npgsql;

namespace ComputeBank.Api.Health;

/// <summary><c>/health/live</c> (the process answers) and <c>/health/ready</c> (the database is reachable).</summary>
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

    private static async Task<IResult> ReadyAsync(NpgsqlDataSource dataSource, SchemaMigration schema, CancellationToken cancellationToken)
    {
        var database = await CheckDatabaseAsync(dataSource, cancellationToken);
        var checks = new[] { database, new HealthCheck("schema", schema.IsCurrent, schema.LastError) };
        var ready = checks.All(c => c.Healthy);
        return Results.Json(new HealthReport(ready ? "ready" : "not_ready", checks),
            statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<HealthCheck> CheckDatabaseAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(timeout.Token);
            return new HealthCheck("database", true, null);
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            return new HealthCheck("database", false, ex.Message);
        }
    }
}

/// <summary>Answer of the health endpoints.</summary>
public sealed record HealthReport(string Status, IReadOnlyList<HealthCheck> Checks);

/// <summary>One dependency check of the readiness endpoint.</summary>
public sealed record HealthCheck(string Name, bool Healthy, string? Error);
