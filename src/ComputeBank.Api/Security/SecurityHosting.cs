using System.Globalization;
using System.Threading.RateLimiting;
using ComputeBank.Api.Features.SubmittingBatches;
using ComputeBank.Api.Http;
using ComputeBank.Api.Projections;
using ComputeBank.Messaging;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.IdentityModel.Tokens;
using Npgsql;

namespace ComputeBank.Api.Security;

/// <summary>
/// Wiring of the security component: JWT bearer authentication, the role policies every endpoint declares, the command
/// authorizer and its ownership read model, per-caller rate limiting and the server-wide body limit.
/// </summary>
public static class SecurityHosting
{
    /// <summary>Response header that says on every answer that authentication is switched off.</summary>
    public const string DisabledHeader = "X-ComputeBank-Auth";

    public static WebApplicationBuilder AddComputeBankSecurity(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var services = builder.Services;
        var schema = configuration["ComputeBank:Schema"] ?? "cb";
        var settings = configuration.GetSection(AuthSettings.Section).Get<AuthSettings>() ?? new AuthSettings();
        var rateLimits = configuration.GetSection(RateLimitSettings.Section).Get<RateLimitSettings>() ?? new RateLimitSettings();

        // Nothing the API reads is larger than a batch; Kestrel's own default (about 28.6 MiB) would let more in.
        // The Server header only tells an attacker which server to aim at.
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = SubmitBatchEndpoint.MaxBatchBytes;
            kestrel.AddServerHeader = false;
            // Kestrel's own refusals of a request head (400, 408, 414, 431) get a problem+json body like every other error.
            kestrel.ConfigureEndpointDefaults(KestrelRefusals.Use);
        });

        services.AddSingleton(settings);
        services.AddSingleton(rateLimits);
        services.AddSingleton<IStateProjection>(new AccountsProjection(schema));
        services.AddSingleton<IStateProjection>(new MarketProjection(schema));
        services.AddSingleton(sp => new OwnershipReader(sp.GetRequiredService<NpgsqlDataSource>(), schema));
        services.AddSingleton<ICommandAuthorizer, CommandAuthorizer>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, ProblemAuthorizationResultHandler>();

        if (settings.Enabled)
        {
            var (keySource, key) = SigningKey(settings, configuration);
            services.AddSingleton(new SigningKeyInfo(keySource));
            // Only a service that signs with the local dev key (deploy/local) or runs in Development names the local
            // CLI that mints tokens; anywhere else the way to a token is the operator's, and the answer says no more.
            var local = builder.Environment.IsDevelopment() || (string.IsNullOrWhiteSpace(settings.SigningKey) && string.IsNullOrWhiteSpace(settings.Authority));
            services.AddSingleton(new UnauthenticatedDetail(local
                ? "Send a valid bearer token: Authorization: Bearer <token> (deploy/local/cli token --role ... --owner ... mints one locally)."
                : "Send a valid bearer token: Authorization: Bearer <token>, issued to you by the bank's operator."));
            services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(options => Configure(options, settings, key));
            services.AddAuthorization(options =>
            {
                foreach (var (name, roles) in Policies.RolesByPolicy)
                {
                    options.AddPolicy(name, policy => policy.RequireAuthenticatedUser().RequireRole(roles));
                }

                // An endpoint that declares no rule is readable by auditors and operators only, never open.
                options.FallbackPolicy = options.GetPolicy(Policies.ReadAll);
            });
        }
        else
        {
            services.AddAuthentication();
            services.AddAuthorization(options =>
            {
                foreach (var name in Policies.RolesByPolicy.Keys)
                {
                    options.AddPolicy(name, policy => policy.RequireAssertion(_ => true));
                }
            });
        }

        services.AddRateLimiter(options =>
        {
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http => Partition(http, rateLimits));
            options.OnRejected = OnRejectedAsync;
        });
        return builder;
    }

    /// <summary>Authentication, then rate limiting per caller (which needs to know the caller), then the endpoint rules.</summary>
    public static WebApplication UseComputeBankSecurity(this WebApplication app)
    {
        var settings = app.Services.GetRequiredService<AuthSettings>();
        if (!settings.Enabled)
        {
            SecurityLog.AuthDisabled(app.Logger);
            app.Use((context, next) =>
            {
                context.Response.Headers[DisabledHeader] = "disabled";
                return next(context);
            });
        }
        else
        {
            SecurityLog.AuthConfigured(app.Logger, settings.Issuer, settings.Audience, app.Services.GetRequiredService<SigningKeyInfo>().Source);
        }

        app.UseAuthentication();
        if (app.Services.GetRequiredService<RateLimitSettings>().Enabled)
        {
            app.UseRateLimiter();
        }

        app.UseAuthorization();
        return app;
    }

    private static void Configure(JwtBearerOptions options, AuthSettings settings, byte[]? key)
    {
        options.MapInboundClaims = false;
        options.IncludeErrorDetails = false;
        var parameters = new TokenValidationParameters
        {
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidAudience = settings.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            ClockSkew = TimeSpan.FromSeconds(Math.Clamp(settings.ClockSkewSeconds, 0, 300)),
            NameClaimType = ClaimNames.Subject,
            RoleClaimType = ClaimNames.Role,
        };
        if (key is not null)
        {
            parameters.ValidIssuer = settings.Issuer;
            parameters.IssuerSigningKey = new SymmetricSecurityKey(key);
            parameters.ValidAlgorithms = [SecurityAlgorithms.HmacSha256];
        }
        else
        {
            options.Authority = settings.Authority;
            options.Audience = settings.Audience;
            if (!string.Equals(settings.Issuer, AuthSettings.DefaultIssuer, StringComparison.Ordinal))
            {
                parameters.ValidIssuer = settings.Issuer;
            }
        }

        options.TokenValidationParameters = parameters;
        options.Events = new JwtBearerEvents
        {
            OnAuthenticationFailed = context =>
            {
                context.HttpContext.Items[ProblemAuthorizationResultHandler.FailureItem] = context.Exception.GetType().Name;
                return Task.CompletedTask;
            },
        };
    }

    /// <summary>The HS256 key: configured, or (no key and no authority) the dev key of the data folder; null with an authority.</summary>
    private static (string Source, byte[]? Key) SigningKey(AuthSettings settings, IConfiguration configuration)
    {
        if (!string.IsNullOrWhiteSpace(settings.SigningKey))
        {
            return ("configuration", DevTokens.DecodeKey(settings.SigningKey, $"{AuthSettings.Section}:SigningKey"));
        }

        if (!string.IsNullOrWhiteSpace(settings.Authority))
        {
            return ($"authority {settings.Authority}", null);
        }

        var dataDirectory = settings.DataDirectory ?? configuration["COMPUTEBANK_DATA"];
        if (string.IsNullOrWhiteSpace(dataDirectory))
        {
            throw new InvalidOperationException(
                $"No token signing key: set {AuthSettings.Section}:SigningKey (base64, at least 32 bytes) or {AuthSettings.Section}:Authority, " +
                "or COMPUTEBANK_DATA to a private folder where a dev key is generated (deploy/local/run does). " +
                $"{AuthSettings.Section}:Enabled=false switches authentication off for local experiments.");
        }

        return ($"the dev key file in {dataDirectory}", DevTokens.LoadOrCreateSigningKey(dataDirectory));
    }

    private static RateLimitPartition<string> Partition(HttpContext http, RateLimitSettings settings)
    {
        if (http.Request.Path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase))
        {
            return RateLimitPartition.GetNoLimiter("health");
        }

        var subject = http.User.Identity?.IsAuthenticated == true ? http.User.FindFirst(ClaimNames.Subject)?.Value : null;
        var key = subject is not null ? "sub:" + subject : "ip:" + (http.Connection.RemoteIpAddress?.ToString() ?? "unknown");
        return RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = Math.Max(1, settings.PermitLimit),
            Window = TimeSpan.FromSeconds(Math.Max(1, settings.WindowSeconds)),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    private static async ValueTask OnRejectedAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        var http = context.HttpContext;
        var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        var subject = http.User.FindFirst(ClaimNames.Subject)?.Value;
        SecurityLog.RateLimited(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SecurityHosting)),
            subject is not null ? "sub " + subject : "ip " + http.Connection.RemoteIpAddress, http.Request.Method, http.Request.Path.Value ?? string.Empty);
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await new ReplyResult(CommandReply.Problem(StatusCodes.Status429TooManyRequests, "rate_limited", "Too many requests",
            $"This caller sent more requests than allowed; retry after {seconds} s.")).ExecuteAsync(http);
    }

    /// <summary>Where the signing keys come from (logged at start; never the key itself).</summary>
    private sealed record SigningKeyInfo(string Source);
}

/// <summary>The detail of a 401 answer: how to get a token, in the words that fit where the service runs.</summary>
public sealed record UnauthenticatedDetail(string Text);

/// <summary>Headers on every answer: no content sniffing, no caching of ledger data by browsers or proxies, no Server header.</summary>
public static class SecurityHeaders
{
    public static WebApplication UseSecurityHeaders(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            context.Response.OnStarting(static state =>
            {
                var response = ((HttpContext)state).Response;
                response.Headers.XContentTypeOptions = "nosniff";
                if (!response.Headers.ContainsKey("Cache-Control"))
                {
                    response.Headers.CacheControl = "no-store";
                }

                return Task.CompletedTask;
            }, context);
            return next(context);
        });
        return app;
    }
}
