namespace ComputeBank.Api.Observability;

/// <summary>
/// Every log line of the API host; event ids are kept here, in one place (1xxx hosting, 2xxx shutdown, 3xxx the callers' faults). Messages carry
/// ids, counts and reasons only: never a header value, a token or a connection string.
/// </summary>
internal static partial class ApiLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Schema migration failed ({Reason}); the service is not ready and retries in a few seconds")]
    public static partial void MigrationFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "OpenTelemetry: OTLP export to the endpoint in OTEL_EXPORTER_OTLP_ENDPOINT is {State}")]
    public static partial void OtlpExport(ILogger logger, string state);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "ComputeBank API listening on {Address}; API reference at {Docs}")]
    public static partial void Started(ILogger logger, string address, string docs);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Stopping: new commands are answered 503 shutting_down; in-flight commands finish")]
    public static partial void Stopping(ILogger logger);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Stopped: the command queue is drained and the projection daemon released its locks")]
    public static partial void Drained(ILogger logger);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Shutdown timeout reached with {Queued} command units still queued")]
    public static partial void DrainTimedOut(ILogger logger, int queued);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Debug, Message = "Refused {Method} {Path}: the service is shutting down")]
    public static partial void RefusedWhileStopping(ILogger logger, string method, string path);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Refused {Method} {Path} with {Status}: the request body could not be read ({Reason}); the client's fault")]
    public static partial void UnreadableRequest(ILogger logger, string method, string path, int status, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Refused a request on connection {ConnectionId} from {RemoteAddress} with {Status} {Code}: Kestrel could not accept its request line or headers; the client's fault")]
    public static partial void RefusedRequestHead(ILogger logger, string connectionId, string remoteAddress, int status, string code);
}
