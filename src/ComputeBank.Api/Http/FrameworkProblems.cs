namespace ComputeBank.Api.Http;

/// <summary>
/// Gives the problems that ASP.NET Core writes itself (routing's 404/405/415 through the status code pages, the
/// exception handler's 500) the stable <c>code</c> and <c>type</c> every ComputeBank problem has (API.md "Errors"), so a
/// client can rely on <c>code</c> whichever layer refused the request.
/// </summary>
internal static class FrameworkProblems
{
    private static readonly Dictionary<int, string> Codes = new()
    {
        [StatusCodes.Status400BadRequest] = "bad_request",
        [StatusCodes.Status404NotFound] = "not_found",
        [StatusCodes.Status405MethodNotAllowed] = "method_not_allowed",
        [StatusCodes.Status408RequestTimeout] = "request_timeout",
        [StatusCodes.Status413PayloadTooLarge] = "payload_too_large",
        [StatusCodes.Status415UnsupportedMediaType] = "unsupported_media_type",
        [StatusCodes.Status500InternalServerError] = "internal_error",
        [StatusCodes.Status503ServiceUnavailable] = "service_unavailable",
    };

    public static void Customize(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var status = problem.Status ?? context.HttpContext.Response.StatusCode;
        if (problem.Extensions.ContainsKey("code"))
        {
            return;
        }

        var code = Codes.GetValueOrDefault(status, status < 500 ? "bad_request" : "internal_error");
        problem.Extensions["code"] = code;
        problem.Type = $"https://computebank.dev/problems/{code.Replace('_', '-')}";
        if (status == StatusCodes.Status415UnsupportedMediaType)
        {
            problem.Detail ??= "Send the body as JSON with Content-Type: application/json.";
        }
    }
}
