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
