using System.Net;
using ComputeBank.Api.Security;

namespace ComputeBank.Api.Observability;

/// <summary>
/// <c>GET /metrics</c>: the host's meters (<see cref="Observability.Meters"/>: commands handled and rejected, latency,
/// batch sizes, retries, queue depth, projection lag, durable messaging's backlog; and ASP.NET Core's) in the Prometheus
/// text format, through OpenTelemetry's Prometheus exporter, a second reader beside the OTLP export.
/// <para>
/// Who may read it: a caller on this machine without credentials, anyone else with an operator's token. Metrics carry
/// command types, problem codes and counts, never an account, an owner or a payload, but they tell an outsider how busy
/// the ledger is and what fails, so they are not public. Nodes listen on 127.0.0.1, where the usual scraper (a
/// Prometheus server or a collector agent on the node's host) reads them with no token to manage; a scraper elsewhere
/// authenticates like every other client, as an operator (the role that runs the service). A request with
/// <c>X-Forwarded-For</c> or <c>Forwarded</c> came through a proxy and counts as remote, so a reverse proxy on the
/// node's host does not open the endpoint to its own clients. With authentication off (<c>ComputeBank:Auth:Enabled</c>
/// = false, for tests) it is as open as the rest of the API.
/// </para>
/// It is left out of the OpenAPI document: it is for scrapers, not API clients, and its format is Prometheus's.
/// </summary>
internal static class MetricsEndpoint
{
    public const string Path = "/metrics";

    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder endpoints)
    {
        var authEnabled = endpoints.ServiceProvider.GetRequiredService<AuthSettings>().Enabled;
        endpoints.MapPrometheusScrapingEndpoint(Path)
            .RequireAuthorization(policy => policy.RequireAssertion(context =>
                !authEnabled || context.User.IsInRole(Roles.Operator) || (context.Resource is HttpContext http && IsLocal(http))))
            .ExcludeFromDescription();
        return endpoints;
    }

    /// <summary>From this machine directly: a loopback peer, and no proxy's forwarding header.</summary>
    internal static bool IsLocal(HttpContext http)
    {
        if (http.Connection.RemoteIpAddress is not { } peer)
        {
            return false;
        }

        var address = peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer;
        return IPAddress.IsLoopback(address)
            && !http.Request.Headers.ContainsKey("X-Forwarded-For")
            && !http.Request.Headers.ContainsKey("Forwarded");
    }
}
