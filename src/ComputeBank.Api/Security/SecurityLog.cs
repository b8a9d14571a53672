namespace ComputeBank.Api.Security;

/// <summary>Log messages of the security component (event ids 9001-9099). Never logs a token or a key: only the
/// caller's <c>sub</c> and role, the path, and why it was refused.</summary>
internal static partial class SecurityLog
{
    [LoggerMessage(EventId = 9001, Level = LogLevel.Critical,
        Message = "AUTHENTICATION IS DISABLED (ComputeBank:Auth:Enabled=false): every caller may do everything. For local experiments only; never run a shared service like this")]
    public static partial void AuthDisabled(ILogger logger);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Warning, Message = "Unauthenticated request refused: {Method} {Path} ({Reason})")]
    public static partial void Unauthenticated(ILogger logger, string method, string path, string reason);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Warning, Message = "Forbidden: sub {Subject} role {Role} {Method} {Path}: {Reason}")]
    public static partial void Forbidden(ILogger logger, string subject, string role, string method, string path, string reason);

    [LoggerMessage(EventId = 9004, Level = LogLevel.Warning, Message = "Rate limited: {Partition} {Method} {Path}")]
    public static partial void RateLimited(ILogger logger, string partition, string method, string path);

    [LoggerMessage(EventId = 9005, Level = LogLevel.Information, Message = "Authentication: JWT bearer, issuer {Issuer}, audience {Audience}, keys from {KeySource}")]
    public static partial void AuthConfigured(ILogger logger, string issuer, string audience, string keySource);
}
