using System.Security.Claims;
using ComputeBank.Api.Http;

namespace ComputeBank.Api.Security;

/// <summary>
/// The rule of a read of one account or hold: auditors and operators read everything; a provider or consumer reads
/// only its own (an unknown id answers 403 like another owner's, so that ids cannot be probed).
/// </summary>
public static class ReadAuthorization
{
    /// <summary>Readable by the owner of the account named by route value <paramref name="routeValue"/>, auditors and operators.</summary>
    public static RouteHandlerBuilder RequireAccountReader(this RouteHandlerBuilder endpoint, string routeValue = "accountId") =>
        endpoint.RequireAuthorization(Policies.Reader).AddEndpointFilter((context, next) => CheckAsync(context, next, routeValue, hold: false));

    /// <summary>Readable by the owner of the account of the hold named by route value <paramref name="routeValue"/>, auditors and operators.</summary>
    public static RouteHandlerBuilder RequireHoldReader(this RouteHandlerBuilder endpoint, string routeValue = "holdId") =>
        endpoint.RequireAuthorization(Policies.Reader).AddEndpointFilter((context, next) => CheckAsync(context, next, routeValue, hold: true));

    /// <summary>Whether <paramref name="user"/> reads everything: an auditor or operator, or any caller with authentication off.</summary>
    public static bool ReadsEverything(ClaimsPrincipal user, AuthSettings settings) =>
        !settings.Enabled || Policies.RolesByPolicy[Policies.ReadAll].Any(user.IsInRole);

    private static async ValueTask<object?> CheckAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next, string routeValue, bool hold)
    {
        var http = context.HttpContext;
        var settings = http.RequestServices.GetRequiredService<AuthSettings>();
        var user = http.User;
        if (ReadsEverything(user, settings))
        {
            return await next(context);
        }

        var id = http.Request.RouteValues[routeValue]?.ToString() ?? string.Empty;
        var owner = user.FindFirst(ClaimNames.Owner)?.Value;
        var resource = new OwnedResource(ResourceKind.Hold, id);
        var known = await http.RequestServices.GetRequiredService<OwnershipReader>()
            .ReadAsync(hold ? [] : [id], hold ? [resource] : [], http.RequestAborted);
        var found = hold ? known.Resources.GetValueOrDefault(resource) : known.Accounts.GetValueOrDefault(id);
        if (!string.IsNullOrEmpty(owner) && found is not null && string.Equals(found.OwnerId, owner, StringComparison.Ordinal))
        {
            return await next(context);
        }

        return Refused(http, $"{(hold ? "hold" : "account")} '{id}' is not one of the caller's");
    }

    /// <summary>The 403 problem of a read the caller may not make, logged like every refusal (never the token).</summary>
    internal static ReplyResult Refused(HttpContext http, string reason)
    {
        var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ReadAuthorization));
        return new ReplyResult(CommandAuthorizer.Forbidden(http, http.User, reason, logger));
    }
}
