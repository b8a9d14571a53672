using System.Text.Json;

namespace ComputeBank.Api.Security;

/// <summary>
/// What a parsed JSON body may still hide: the parser checks structure, not text, so invalid UTF-8 inside a string
/// or an escaped unpaired surrogate (<c>"\ud800"</c>) only fails when the string is read, deep inside a handler.
/// Every string and property name is read here once, so that such a body is a 400 <c>malformed_json</c> up front.
/// </summary>
public static class HostileJson
{
    /// <summary>Null when every string of <paramref name="element"/> is readable text; else what is wrong and where.</summary>
    public static string? Problem(JsonElement element, string path = "$")
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        if (Problem(property.Value, path + "." + property.Name) is { } inner)
                        {
                            return inner;
                        }
                    }

                    return null;
                case JsonValueKind.Array:
                    var index = 0;
                    foreach (var item in element.EnumerateArray())
                    {
                        if (Problem(item, $"{path}[{index++}]") is { } inner)
                        {
                            return inner;
                        }
                    }

                    return null;
                case JsonValueKind.String:
                    _ = element.GetString();
                    return null;
                default:
                    return null;
            }
        }
        catch (InvalidOperationException)
        {
            return $"A string at or below {Truncate(path)} is not valid UTF-8 text (invalid bytes or an unpaired surrogate).";
        }
    }

    private static string Truncate(string path) => path.Length <= 120 ? path : path[..120] + "...";
}

/// <summary>
/// Answers the framework produces on its own (404 no such route, 405 wrong method, 415 from an endpoint's declared
/// content type, 500 from the exception handler) are problem+json already; this gives them the stable <c>code</c>
/// every ComputeBank problem carries.
/// </summary>
public static class FrameworkProblems
{
    public static void Configure(ProblemDetailsOptions options)
    {
        var previous = options.CustomizeProblemDetails;
        options.CustomizeProblemDetails = context =>
        {
            previous?.Invoke(context);
            var status = context.ProblemDetails.Status ?? context.HttpContext.Response.StatusCode;
            context.ProblemDetails.Extensions.TryAdd("code", CodeOf(status));
        };
    }

    public static string CodeOf(int status) => status switch
    {
        StatusCodes.Status400BadRequest => "bad_request",
        StatusCodes.Status401Unauthorized => "unauthenticated",
        StatusCodes.Status403Forbidden => "forbidden",
        StatusCodes.Status404NotFound => "not_found",
        StatusCodes.Status405MethodNotAllowed => "method_not_allowed",
        StatusCodes.Status413PayloadTooLarge => "payload_too_large",
        StatusCodes.Status415UnsupportedMediaType => "unsupported_media_type",
        StatusCodes.Status429TooManyRequests => "rate_limited",
        >= 500 => "internal_error",
        _ => "http_" + status.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
