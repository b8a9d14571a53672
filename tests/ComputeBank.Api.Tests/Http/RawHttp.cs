using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace ComputeBank.Api.Tests.Http;

/// <summary>
/// HTTP/1.1 over a plain TCP socket to 127.0.0.1: sends exactly the bytes a test gives (so that it can send what no
/// HTTP client would: broken chunks, a NUL in the path, a body that stops, pipelined requests), then reads the responses.
/// </summary>
public static class RawHttp
{
    /// <summary>Sends <paramref name="head"/> and <paramref name="body"/> on a new connection, then (sending nothing more
    /// and not closing) reads one response within <paramref name="timeout"/>.</summary>
    public static async Task<RawResponse> SendAsync(int port, string head, byte[]? body = null, TimeSpan? timeout = null)
    {
        byte[] request = [.. Encoding.Latin1.GetBytes(head), .. body ?? []];
        var exchange = await ExchangeAsync(port, request, 1, timeout: timeout);
        return exchange.Responses[0];
    }

    /// <summary>Sends <paramref name="requests"/> (several requests, pipelined) on one new connection, then reads
    /// <paramref name="responses"/> responses off it within <paramref name="timeout"/>, and every byte of them. With
    /// <paramref name="untilClosed"/> it then reads on until the server closes the connection, and returns what came after
    /// the responses as <see cref="RawExchange.Trailing"/>.</summary>
    public static async Task<RawExchange> ExchangeAsync(int port, byte[] requests, int responses, bool untilClosed = false, TimeSpan? timeout = null)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(requests);
        await stream.FlushAsync();
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        var reader = new ResponseReader(stream);
        var read = new List<RawResponse>();
        var raw = new List<byte[]>();
        for (var i = 0; i < responses; i++)
        {
            read.Add(await reader.ReadAsync(cancel.Token));
            raw.Add([.. reader.Consumed]);
            reader.Consumed.Clear();
        }

        var trailing = untilClosed ? await reader.ReadToEndAsync(cancel.Token) : null;
        return new RawExchange(read, raw, trailing);
    }

    /// <summary>Reads responses one after the other off one connection, keeping what was read beyond the last one.</summary>
    private sealed class ResponseReader(NetworkStream stream)
    {
        private readonly List<byte> _buffer = [];
        private readonly byte[] _chunk = new byte[8192];

        /// <summary>Every byte of the responses read since this was last cleared.</summary>
        public List<byte> Consumed { get; } = [];

        public async Task<RawResponse> ReadAsync(CancellationToken cancellationToken)
        {
            int headEnd;
            while ((headEnd = IndexOf(_buffer, "\r\n\r\n"u8.ToArray())) < 0)
            {
                if (!await FillAsync(cancellationToken))
                {
                    throw new IOException($"The server closed the connection before a whole response head: '{Encoding.Latin1.GetString(_buffer.ToArray())}'");
                }
            }

            var lines = Encoding.Latin1.GetString(_buffer.GetRange(0, headEnd).ToArray()).Split("\r\n");
            var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
            var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToLookup(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
            var bodyStart = headEnd + 4;
            List<byte> body;
            int end;
            if (headers["Content-Length"].FirstOrDefault() is { } length)
            {
                end = bodyStart + int.Parse(length, CultureInfo.InvariantCulture);
                while (_buffer.Count < end && await FillAsync(cancellationToken))
                {
                }

                end = Math.Min(end, _buffer.Count);
                body = _buffer.GetRange(bodyStart, end - bodyStart);
            }
            else if (headers["Transfer-Encoding"].Any(v => v.Contains("chunked", StringComparison.OrdinalIgnoreCase)))
            {
                (body, end) = await DechunkAsync(bodyStart, cancellationToken);
            }
            else
            {
                // Neither length nor chunks: the body runs to the end of the connection; take what has arrived.
                end = _buffer.Count;
                body = _buffer.GetRange(bodyStart, end - bodyStart);
            }

            Consumed.AddRange(_buffer.GetRange(0, end));
            _buffer.RemoveRange(0, end);
            return new RawResponse(status, headers, Encoding.UTF8.GetString(body.ToArray()));
        }

        /// <summary>Everything after the responses read so far, up to the end of the connection (a reset ends it too:
        /// a server that closes with request bytes it did not read resets the connection).</summary>
        public async Task<byte[]> ReadToEndAsync(CancellationToken cancellationToken)
        {
            try
            {
                while (await FillAsync(cancellationToken))
                {
                }
            }
            catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
            {
            }

            return [.. _buffer];
        }

        private async Task<bool> FillAsync(CancellationToken cancellationToken)
        {
            var read = await stream.ReadAsync(_chunk, cancellationToken);
            _buffer.AddRange(_chunk.AsSpan(0, read).ToArray());
            return read > 0;
        }

        /// <summary>The chunked body starting at <paramref name="position"/>, and where it ends (after its last CRLF).</summary>
        private async Task<(List<byte> Body, int End)> DechunkAsync(int position, CancellationToken cancellationToken)
        {
            var result = new List<byte>();
            while (true)
            {
                int lineEnd;
                while ((lineEnd = IndexOf(_buffer, "\r\n"u8.ToArray(), position)) < 0)
                {
                    if (!await FillAsync(cancellationToken))
                    {
                        return (result, _buffer.Count);
                    }
                }

                var size = int.Parse(Encoding.Latin1.GetString(_buffer.GetRange(position, lineEnd - position).ToArray()).Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                var next = lineEnd + 2 + size + 2;
                while (_buffer.Count < next)
                {
                    if (!await FillAsync(cancellationToken))
                    {
                        return (result, _buffer.Count);
                    }
                }

                if (size == 0)
                {
                    return (result, next);
                }

                result.AddRange(_buffer.GetRange(lineEnd + 2, size));
                position = next;
            }
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

/// <summary>The responses read off one connection, every byte of each, and (when asked for) the bytes that came after them
/// before the server closed the connection.</summary>
public sealed record RawExchange(IReadOnlyList<RawResponse> Responses, IReadOnlyList<byte[]> Raw, byte[]? Trailing)
{
    /// <summary>Every byte of the responses, in order.</summary>
    public byte[] Bytes => [.. Raw.SelectMany(r => r)];
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
