namespace ComputeBank.Api.WebConsole;

/// <summary>
/// The web console at <c>/console/</c>: a page, a script and a style sheet embedded in this assembly and served by the
/// service itself (nothing from another host: the content security policy allows this origin only). The files hold no
/// data; every figure the console shows comes from <c>/api/v1</c> with the bearer token the person signs in with, so the
/// console can do nothing an API caller cannot.
/// </summary>
public static class ConsoleEndpoints
{
    public const string Path = "/console";

    private const string Policy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly Dictionary<string, string> Files = new(StringComparer.Ordinal)
    {
        ["index.html"] = "text/html; charset=utf-8",
        ["console.js"] = "text/javascript; charset=utf-8",
        ["console.css"] = "text/css; charset=utf-8",
    };

    private static readonly Dictionary<string, byte[]> Contents = Files.Keys.ToDictionary(f => f, Read, StringComparer.Ordinal);

    public static void MapConsole(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path + "/{file?}", (HttpContext http, string? file) => Serve(http, file ?? "index.html")).AllowAnonymous().ExcludeFromDescription();
    }

    private static IResult Serve(HttpContext http, string file)
    {
        if (!Contents.TryGetValue(file, out var content))
        {
            return Results.NotFound();
        }

        http.Response.Headers.ContentSecurityPolicy = Policy;
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["Referrer-Policy"] = "no-referrer";
        return Results.Bytes(content, Files[file]);
    }

    private static byte[] Read(string file)
    {
        var assembly = typeof(ConsoleEndpoints).Assembly;
        var name = assembly.GetManifestResourceNames().Single(n => n.EndsWith(".WebConsole.wwwroot." + file, StringComparison.Ordinal));
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
