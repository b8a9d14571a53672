using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace ComputeBank.Api.Http;

/// <summary>Reads a request body as one JSON object, answering the client's mistakes as problems rather than
/// exceptions: 415 without a JSON content type, 413 over the size limit, 400 <c>malformed_json</c> for anything that
/// is not one well-formed JSON object (bad UTF-8, duplicate keys, nesting deeper than 32), 400 <c>malformed_request</c>
/// or 408 <c>request_timeout</c> for a body whose framing is broken or that arrives too slowly (<see cref="RequestFaults"/>).</summary>
internal static class JsonBody
{
    public const int MaxDepth = 32;

    private static readonly JsonDocumentOptions Options = new()
    {
        MaxDepth = MaxDepth,
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        AllowDuplicateProperties = false,
    };

    public static async Task<(JsonDocument? Document, IResult? Problem)> ReadAsync(HttpRequest request, long? maxBytes, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
        {
            return (null, Problems.Of(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type",
                "Unsupported media type", "Send the body as JSON with Content-Type: application/json."));
        }

        if (maxBytes is { } limit && request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit;
        }

        if (maxBytes is { } declaredLimit && request.ContentLength > declaredLimit)
        {
            return (null, TooLarge(declaredLimit));
        }

        try
        {
            var document = await JsonDocument.ParseAsync(request.Body, Options, cancellationToken);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                return (null, Problems.MalformedJson("The body must be a JSON object."));
            }

            if (Security.HostileJson.Problem(document.RootElement) is { } unreadable)
            {
                document.Dispose();
                return (null, Problems.MalformedJson(unreadable));
            }

            return (document, null);
        }
        catch (JsonException ex)
        {
            return (null, Problems.MalformedJson(MalformedJson.Describe(ex)));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge(maxBytes ?? 0));
        }
        catch (BadHttpRequestException ex)
        {
            return (null, new ReplyResult(RequestFaults.Problem(request.HttpContext, ex)));
        }
    }

    private static IResult TooLarge(long limit) =>
        Problems.Of(StatusCodes.Status413PayloadTooLarge, "payload_too_large", "Payload too large",
            $"The body is larger than the limit of {limit} bytes for this endpoint.");
}
