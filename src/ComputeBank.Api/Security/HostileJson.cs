using System.Text.Json;

namespace ComputeBank.Api.Security;

/// <summary>
/// What a parsed JSON body may still hide: the parser checks structure, not text, so invalid UTF-8 inside a string
/// or an escaped unpaired surrogate (<c>"\ud800"</c>) only fails when the string is read, deep inside a handler.
/// Every string and property name is read here once, so that such a body is a 400 <c>malformed_json</c> up front.
/// The walk builds no path (a batch has thousands of fields); only a body that fails is walked again to say where.
/// </summary>
public static class HostileJson
{
    /// <summary>Null when every string of <paramref name="element"/> is readable text; else what is wrong and where.</summary>
    public static string? Problem(JsonElement element) =>
        Readable(element) ? null : $"A string at or below {Truncate(Locate(element, "$") ?? "$")} is not valid UTF-8 text (invalid bytes or an unpaired surrogate).";

    private static bool Readable(JsonElement element)
    {
        try
        {
            Read(element);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static void Read(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    _ = property.Name;
                    Read(property.Value);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Read(item);
                }

                break;
            case JsonValueKind.String:
                _ = element.GetString();
                break;
        }
    }

    /// <summary>The path of the first unreadable string or property name (the name's object when the name is the culprit).</summary>
    private static string? Locate(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return path;
                    }

                    if (!Readable(property.Value))
                    {
                        return Locate(property.Value, path + "." + name);
                    }
                }

                return null;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (!Readable(item))
                    {
                        return Locate(item, $"{path}[{index}]");
                    }

                    index++;
                }

                return null;
            default:
                return Readable(element) ? null : path;
        }
    }

    private static string Truncate(string path) => path.Length <= 120 ? path : path[..120] + "...";
}
