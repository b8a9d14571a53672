using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace ComputeBank.Api.Tests.Http;

/// <summary>
/// HTTP/1.1 over a plain TCP socket to 127.0.0.1: sends exactly the bytes a test gives (so that it can send what no
/// HTTP client would: broken chunks, a NUL in the path, a body that stops), then reads one response.
/// </summary>
public static class RawHttp
{
    /// <summary>Sends <paramref name="head"/> and <paramref name="body"/> on a new connection, then (sending nothing more
    /// and not closing) reads one response within <paramref name="timeout"/>.</summary>
    public static async Task<RawResponse> SendAsync(int port, string head, byte[]? body = null, TimeSpan? timeout = null)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(head));
        if (body is not null)
        {
            await stream.WriteAsync(body);
        }

        await stream.FlushAsync();
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        return await ReadAsync(stream, cancel.Token);
    }

    private static async Task<RawResponse> ReadAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new List<byte>();
        var chunk = new byte[8192];
        int headEnd;
        while ((headEnd = IndexOf(buffer, "\r\n\r\n"u8.ToArray())) < 0)
        {
            var read = await stream.ReadAsync(chunk, cancellationToken);
            if (read == 0)
            {
                throw new IOException($"The server closed the connection before a whole response head: '{Encoding.Latin1.GetString(buffer.ToArray())}'");
            }

            buffer.AddRange(chunk.AsSpan(0, read).ToArray());
        }

        var lines = Encoding.Latin1.GetString(buffer.GetRange(0, headEnd).ToArray()).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToLookup(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var bodyBytes = buffer.Skip(headEnd + 4).ToList();
        if (headers["Content-Length"].FirstOrDefault() is { } length)
        {
            var expected = int.Parse(length, CultureInfo.InvariantCulture);
            while (bodyBytes.Count < expected)
            {
                var read = await stream.ReadAsync(chunk, cancellationToken);
                if (read == 0)
                {
                    break;
                }

                bodyBytes.AddRange(chunk.AsSpan(0, read).ToArray());
            }
        }
        else if (headers["Transfer-Encoding"].Any(v => v.Contains("chunked", StringComparison.OrdinalIgnoreCase)))
        {
            while (IndexOf(bodyBytes, "0\r\n\r\n"u8.ToArray()) < 0)
            {
                var read = await stream.ReadAsync(chunk, cancellationToken);
                if (read == 0)
                {
                    break;
                }

                bodyBytes.AddRange(chunk.AsSpan(0, read).ToArray());
            }

            bodyBytes = Dechunk(bodyBytes);
        }

        return new RawResponse(status, headers, Encoding.UTF8.GetString(bodyBytes.ToArray()));
    }

    private static List<byte> Dechunk(List<byte> chunked)
    {
        var result = new List<byte>();
        var position = 0;
        while (true)
        {
            var lineEnd = IndexOf(chunked, "\r\n"u8.ToArray(), position);
            var size = int.Parse(Encoding.Latin1.GetString(chunked.GetRange(position, lineEnd - position).ToArray()).Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (size == 0)
            {
                return result;
            }

            result.AddRange(chunked.GetRange(lineEnd + 2, size));
            position = lineEnd + 2 + size + 2;
        }
    }

    private static int IndexOf(List<byte> haystack, byte[] needle, int from = 0)
    {
        for (var i = from; i <= haystack.Count - needle.Length; i++)
        {
            var match = true;
            for (var j = 0; j < needle.Length && match; j++)
            {
                match = haystack[i + j] == needle[j];
            }

            if (match)
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>One response read off the wire.</summary>
public sealed record RawResponse(int Status, ILookup<string, string> Headers, string Body)
{
    public string? ContentType => Headers["Content-Type"].FirstOrDefault();

    /// <summary>Asserts a problem+json answer with <paramref name="status"/> and <paramref name="code"/>; returns its body.</summary>
    public JsonObject ShouldBeProblem(int status, string code)
    {
        Assert.True(Status == status, $"Expected {status} but got {Status}: '{Body}'");
        Assert.StartsWith("application/problem+json", ContentType ?? "(none)", StringComparison.Ordinal);
        var problem = Assert.IsType<JsonObject>(JsonNode.Parse(Body));
        Assert.Equal(code, (string?)problem["code"]);
        Assert.Equal(status, (int?)problem["status"]);
        Assert.False(string.IsNullOrEmpty((string?)problem["title"]));
        Assert.False(string.IsNullOrEmpty((string?)problem["detail"]));
        return problem;
    }
}
