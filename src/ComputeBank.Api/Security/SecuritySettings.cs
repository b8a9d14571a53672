namespace ComputeBank.Api.Security;

/// <summary>
/// <c>ComputeBank:Auth</c>: who may call the API. On unless switched off explicitly. The signing key is a secret: it
/// comes from configuration or the environment (<c>ComputeBank__Auth__SigningKey</c>), or for local use from the
/// git-ignored data folder (<c>COMPUTEBANK_DATA</c>), never from the repository.
/// </summary>
public sealed class AuthSettings
{
    public const string Section = "ComputeBank:Auth";

    public const string DefaultIssuer = "computebank";

    public const string DefaultAudience = "computebank-api";

    /// <summary>False switches authentication and authorization off (local experiments only; logged loudly).</summary>
    public bool Enabled { get; set; } = true;

    public string Issuer { get; set; } = DefaultIssuer;

    public string Audience { get; set; } = DefaultAudience;

    /// <summary>Base64 HS256 key of at least 32 bytes. Without it (and without an authority) a dev key is generated.</summary>
    public string? SigningKey { get; set; }

    /// <summary>An OpenID Connect authority whose published keys sign the tokens (instead of a shared key).</summary>
    public string? Authority { get; set; }

    /// <summary>Tolerance for clocks that disagree about <c>exp</c>/<c>nbf</c>.</summary>
    public int ClockSkewSeconds { get; set; } = 30;

    /// <summary>Where a dev signing key is kept; defaults to the environment variable <c>COMPUTEBANK_DATA</c>.</summary>
    public string? DataDirectory { get; set; }
}

/// <summary>
/// <c>ComputeBank:RateLimiting</c>: requests per caller (the token's <c>sub</c>, else the remote address) per fixed window.
/// The default, 100 requests a second, is a real limit: a client that needs more sends batches (up to 8,190 commands in
/// one request) or is given a higher limit by the operator; load tests switch it off (<c>Enabled=false</c>).
/// </summary>
public sealed class RateLimitSettings
{
    public const string Section = "ComputeBank:RateLimiting";

    public bool Enabled { get; set; } = true;

    public int PermitLimit { get; set; } = 100;

    public int WindowSeconds { get; set; } = 1;
}
