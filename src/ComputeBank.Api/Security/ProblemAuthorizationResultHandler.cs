using ComputeBank.Api.Http;
using ComputeBank.Messaging;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;

namespace ComputeBank.Api.Security;

/// <summary>
/// Answers the endpoint policies' refusals as problem+json: 401 <c>unauthenticated</c> (after the bearer challenge has
/// set <c>WWW-Authenticate</c>) and 403 <c>forbidden</c>, each logged with sub, role and path but never the token.
/// Routing's own refusals are not the policies' to answer: with no endpoint (404) or one of the endpoints routing makes
/// when a path matched but the method (405) or the media type (415) did not, the fallback policy would answer 403 to a
/// provider and 401 to an anonymous caller instead. Those run no handler and reveal nothing that the OpenAPI document
/// does not, so every caller gets the refusal that describes the request; the endpoints that exist keep their rules.
/// </summary>
internal sealed class ProblemAuthorizationResultHandler(ILogger<ProblemAuthorizationResultHandler> logger, IServiceProvider services) : IAuthorizationMiddlewareResultHandler
{
    /// <summary><see cref="HttpContext.Items"/> key of why the bearer token was not accepted (the exception's type name).</summary>
    public const string FailureItem = "ComputeBank.AuthFailure";

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (IsRoutingRefusal(context.GetEndpoint()))
        {
            await next(context);
            return;
        }

        if (authorizeResult.Challenged)
        {
            if (policy.AuthenticationSchemes.Count > 0)
            {
                foreach (var scheme in policy.AuthenticationSchemes)
                {
                    await context.ChallengeAsync(scheme);
                }
            }
            else
            {
                await context.ChallengeAsync();
            }

            var reason = context.Items[FailureItem] as string ?? "no bearer token";
            SecurityLog.Unauthenticated(logger, context.Request.Method, context.Request.Path.Value ?? string.Empty, reason);
            var detail = services.GetService<UnauthenticatedDetail>()?.Text ?? "Send a valid bearer token: Authorization: Bearer <token>.";
            await new ReplyResult(CommandReply.Problem(StatusCodes.Status401Unauthorized, "unauthenticated", "Unauthenticated", detail)).ExecuteAsync(context);
            return;
        }

        if (authorizeResult.Forbidden)
        {
            var required = policy.Requirements.OfType<RolesAuthorizationRequirement>().SelectMany(r => r.AllowedRoles).ToList();
            var reason = required.Count > 0 ? $"this endpoint needs the role {string.Join(" or ", required)}" : "this endpoint's rule refused the caller";
            await new ReplyResult(CommandAuthorizer.Forbidden(context, context.User, reason, logger)).ExecuteAsync(context);
            return;
        }

        await next(context);
    }

    /// <summary>
    /// No endpoint, or one of routing's rejection endpoints: ASP.NET Core's HttpMethodMatcherPolicy (405) and
    /// AcceptsMatcherPolicy (415) synthesize a plain <see cref="Endpoint"/> with empty metadata, while every endpoint the
    /// application maps is a <see cref="RouteEndpoint"/> with metadata (at least its HTTP method).
    /// </summary>
    public static bool IsRoutingRefusal(Endpoint? endpoint) => endpoint is null || (endpoint is not RouteEndpoint && endpoint.Metadata.Count == 0);
}
