using ComputeBank.Api.Observability;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Scalar.AspNetCore;

namespace ComputeBank.Api.Http;

/// <summary>
/// The browsable API reference at <c>/docs</c>: Scalar's page over <c>/openapi/v1.json</c>, readable without a token
/// like the document itself. Scalar.AspNetCore serves its script from the package (no CDN); the options below switch off
/// everything else that would leave the machine: the Inter and JetBrains Mono fonts of its CDN, its telemetry, the AI
/// agent and the MCP link, so that the page works offline and tells nobody who reads it.
/// </summary>
internal static class ApiReference
{
    public const string Path = "/docs";

    public static void MapApiReference(this WebApplication app)
    {
        app.MapScalarApiReference(Path, options =>
        {
            options.Title = "ComputeBank API";
            options.OpenApiRoutePattern = "/openapi/{documentName}.json";
            options.DefaultOpenAllTags = true;
            options.DisableDefaultFonts();
            options.DisableTelemetry();
            options.DisableAgent();
            options.DisableMcp();
        }).AllowAnonymous();

        // The start's one line that says where the service and its reference are (after Kestrel has bound its ports).
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            foreach (var address in addresses)
            {
                ApiLog.Started(app.Logger, address, address.TrimEnd('/') + Path);
            }
        });
    }
}
