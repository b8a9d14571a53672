using ComputeBank.Api.Observability;
using ComputeBank.Messaging;
using Microsoft.AspNetCore.Diagnostics;

namespace ComputeBank.Api.Http;

/// <summary>
/// The client's faults that surface as a <see cref="BadHttpRequestException"/> while the server reads a request body:
/// broken chunked framing or a body shorter than its Content-Length (400 <c>malformed_request</c>), a body that arrives
/// too slowly for Kestrel's MinRequestBodyDataRate (408 <c>request_timeout</c>), one over the size limit (413). They were
/// 500 <c>internal_error</c>, logged as errors of the service; they are the caller's, logged at Information.
/// </summary>
internal static class RequestFaults
{
    /// <summary>The problem of <paramref name="exception"/>, logged as the caller's fault.</summary>
    public static CommandReply Problem(HttpContext context, BadHttpRequestException exception)
    {
        var request = context.Request;
        ApiLog.UnreadableRequest(Logger(context), request.Method, request.Path.Value ?? string.Empty, exception.StatusCode, exception.Message);
        return exception.StatusCode switch
        {
            StatusCodes.Status408RequestTimeout => CommandReply.Problem(StatusCodes.Status408RequestTimeout, "request_timeout", "Request timeout",
                "The request body arrived too slowly and reading it was abandoned; nothing was changed. Send the whole body without pausing."),
            StatusCodes.Status413PayloadTooLarge => CommandReply.Problem(StatusCodes.Status413PayloadTooLarge, "payload_too_large", "Payload too large",
                "The body is larger than the limit for this endpoint."),
            _ => CommandReply.Problem(StatusCodes.Status400BadRequest, "malformed_request", "The request is malformed",
                $"The request body could not be read: its framing is broken ({exception.Message.TrimEnd('.')}); nothing was changed. " +
                "Send a body of exactly Content-Length bytes, or valid chunked transfer encoding."),
        };
    }

    private static ILogger Logger(HttpContext context) =>
        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RequestFaults).FullName!);
}

/// <summary>
/// Answers a <see cref="BadHttpRequestException"/> that reaches the exception handler (a body read outside
/// <see cref="JsonBody"/>) with its problem instead of 500. Returning true also keeps the exception handler from logging
/// it as an unhandled error (ASP.NET Core 10 suppresses the diagnostics of exceptions an IExceptionHandler handled).
/// </summary>
internal sealed class RequestFaultExceptionHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad || httpContext.Response.HasStarted)
        {
            return false;
        }

        await new ReplyResult(RequestFaults.Problem(httpContext, bad)).ExecuteAsync(httpContext);
        return true;
    }
}
