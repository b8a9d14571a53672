using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using ComputeBank.Api.Observability;
using ComputeBank.Messaging;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace ComputeBank.Api.Http;

/// <summary>
/// Gives the requests Kestrel refuses while it parses the request head (before any middleware runs, so no app hook
/// sees them) the problem+json body every other error has: a NUL or control byte in the path and any other malformed
/// head (400 <c>malformed_request</c>), a head that arrives too slowly (408 <c>request_timeout</c>), a request line over
/// MaxRequestLineSize (414 <c>uri_too_long</c>), headers over MaxRequestHeadersTotalSize or MaxRequestHeaderCount
/// (431 <c>request_headers_too_large</c>). Kestrel writes those answers itself, with an empty body
/// (HttpProtocol.SetBadRequestState, then ProduceEnd and SetErrorResponseHeaders): one head, in one write that is
/// then flushed, with <c>Content-Length: 0</c> and <c>Connection: close</c> and nothing after it.
/// </summary>
/// <remarks>
/// A connection middleware on every endpoint wraps the connection's output and rewrites exactly such a head into the
/// same status with a body. The app never writes one itself: every 4xx of the API carries a problem body (the status
/// code pages fill the rest), and Kestrel only sets <c>Content-Length: 0</c> by itself on keep-alive answers, which
/// have no <c>Connection: close</c>. Normal traffic is neither copied nor buffered: the first write after each flush
/// is compared with <c>HTTP/1.1 4</c>, and everything else passes straight through.
/// HTTPS: the HTTPS middleware is added after the endpoint defaults, inside this one, so on a TLS endpoint the wrapper
/// sees only TLS records (whose first byte is 0x14 to 0x17, never <c>H</c>) and forwards them untouched: refusals on
/// TLS endpoints keep Kestrel's empty body. HTTP/2-only endpoints are not wrapped (HTTP/2 has its own framing); an
/// endpoint for HTTP/1 and HTTP/2 without TLS speaks HTTP/1.1 only.
/// A HEAD request refused this way gets the body too (the wrapper does not read the request); as the connection closes
/// right after it, no later answer on the connection can be misread.
/// </remarks>
internal static class KestrelRefusals
{
    /// <summary>The connection middleware for <paramref name="listen"/> (given to ConfigureEndpointDefaults).</summary>
    public static void Use(ListenOptions listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        listen.Use(next =>
        {
            // Built when Kestrel binds the endpoint, after every ConfigureKestrel callback, so the limits are final.
            var problems = Problems(listen.KestrelServerOptions.Limits);
            var logger = listen.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(KestrelRefusals).FullName!);
            return connection =>
            {
                if ((listen.Protocols & HttpProtocols.Http1) == 0)
                {
                    return next(connection);
                }

                var output = new RefusalProblemWriter(connection.Transport.Output, problems, status =>
                    ApiLog.RefusedRequestHead(logger, connection.ConnectionId, (connection.RemoteEndPoint as IPEndPoint)?.Address.ToString() ?? "unknown",
                        status, problems[status].Code));
                connection.Transport = new DuplexPipe(connection.Transport.Input, output);
                return next(connection);
            };
        });
    }

    /// <summary>The problem body of each refusal, serialized once per endpoint.</summary>
    internal static Dictionary<int, RefusalProblem> Problems(KestrelServerLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var headers = string.Create(CultureInfo.InvariantCulture,
            $"{limits.MaxRequestHeadersTotalSize} bytes of headers and {limits.MaxRequestHeaderCount} header fields");
        return new[]
        {
            CommandReply.Problem(StatusCodes.Status400BadRequest, "malformed_request", "The request is malformed",
                "The request line or headers could not be parsed (for example a NUL or control byte in the path, a missing Host header, " +
                "or an invalid header line); nothing was changed. Send a well-formed HTTP/1.1 request."),
            CommandReply.Problem(StatusCodes.Status408RequestTimeout, "request_timeout", "Request timeout",
                "The request line and headers arrived too slowly and reading them was abandoned; nothing was changed. " +
                "Send the whole request head without pausing."),
            CommandReply.Problem(StatusCodes.Status414UriTooLong, "uri_too_long", "URI too long",
                string.Create(CultureInfo.InvariantCulture,
                    $"The request line is longer than the {limits.MaxRequestLineSize} bytes this server reads; nothing was changed. Send long values in a body.")),
            CommandReply.Problem(StatusCodes.Status431RequestHeaderFieldsTooLarge, "request_headers_too_large", "Request headers too large",
                $"The request headers are larger than this server reads (at most {headers}); nothing was changed."),
        }.ToDictionary(reply => reply.Status, RefusalProblem.Of);
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;

        public PipeWriter Output => output;
    }
}

/// <summary>The <c>code</c> and the UTF-8 problem+json body that replace the empty body of one refusal.</summary>
internal sealed record RefusalProblem(string Code, byte[] Headers, byte[] Body)
{
    /// <summary>The problem of <paramref name="reply"/>, with the header lines that replace <c>Content-Length: 0</c>.</summary>
    public static RefusalProblem Of(CommandReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var body = reply.JsonMemory.ToArray();
        var headers = string.Create(CultureInfo.InvariantCulture,
            $"Content-Type: application/problem+json; charset=utf-8\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nContent-Length: {body.Length}");
        return new RefusalProblem(reply.Body["code"]!.GetValue<string>(), Encoding.ASCII.GetBytes(headers), body);
    }
}

/// <summary>
/// Forwards every call to the connection's <paramref name="inner"/> writer; only the first write after a flush whose
/// bytes are exactly a Kestrel refusal head (see <see cref="KestrelRefusals"/>) is replaced by the same status with
/// <paramref name="problems"/>' body, and <paramref name="refused"/> is told its status.
/// </summary>
internal sealed class RefusalProblemWriter(PipeWriter inner, IReadOnlyDictionary<int, RefusalProblem> problems, Action<int> refused) : PipeWriter
{
    /// <summary>Longer than any refusal head (123 bytes for 431, Server header included 140), so that the first
    /// span after a flush holds the whole head: Kestrel then writes it with one Advance.</summary>
    internal const int HeadCapacity = 256;

    private static ReadOnlySpan<byte> Start => "HTTP/1.1 4"u8;

    private static ReadOnlySpan<byte> ContentLengthZero => "Content-Length: 0"u8;

    private static ReadOnlySpan<byte> ConnectionClose => "Connection: close"u8;

    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    /// <summary>True until the first bytes after the last flush (a new response starts there) are advanced.</summary>
    private bool _atStart = true;

    /// <summary>The buffer last handed out while <see cref="_atStart"/>.</summary>
    private Memory<byte> _startBuffer;

    public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => inner.UnflushedBytes;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (!_atStart)
        {
            return inner.GetMemory(sizeHint);
        }

        _startBuffer = inner.GetMemory(Math.Max(sizeHint, HeadCapacity));
        return _startBuffer;
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => _atStart ? GetMemory(sizeHint).Span : inner.GetSpan(sizeHint);

    public override void Advance(int bytes)
    {
        if (_atStart && bytes > 0)
        {
            _atStart = false;
            if (bytes <= _startBuffer.Length && IsRefusalHead(_startBuffer.Span[..bytes], out var status))
            {
                WriteProblem(_startBuffer.Span[..bytes], problems[status]);
                refused(status);
                return;
            }
        }

        inner.Advance(bytes);
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        _atStart = true;
        return inner.FlushAsync(cancellationToken);
    }

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

    /// <summary>
    /// Whether <paramref name="head"/> is all of a head Kestrel writes for a refused request: <c>HTTP/1.1</c> 400, 408,
    /// 414 or 431, only the header lines Content-Length: 0, Connection: close, Date and Server, ending in an empty line.
    /// </summary>
    internal static bool IsRefusalHead(ReadOnlySpan<byte> head, out int status)
    {
        status = 0;
        if (head.Length > HeadCapacity || !head.StartsWith(Start) || head.Length < 16)
        {
            return false;
        }

        var candidate = (head[10], head[11], head[12]) switch
        {
            ((byte)'0', (byte)'0', (byte)' ') => 400,
            ((byte)'0', (byte)'8', (byte)' ') => 408,
            ((byte)'1', (byte)'4', (byte)' ') => 414,
            ((byte)'3', (byte)'1', (byte)' ') => 431,
            _ => 0,
        };
        var headEnd = head.IndexOf("\r\n\r\n"u8);
        var statusLineEnd = head.IndexOf(Crlf);
        if (candidate == 0 || headEnd != head.Length - 4 || statusLineEnd == headEnd)
        {
            return false;
        }

        bool contentLengthZero = false, connectionClose = false;
        var lines = head[(statusLineEnd + 2)..headEnd];
        foreach (var range in lines.Split(Crlf))
        {
            var line = lines[range];
            if (line.SequenceEqual(ContentLengthZero) && !contentLengthZero)
            {
                contentLengthZero = true;
            }
            else if (line.SequenceEqual(ConnectionClose) && !connectionClose)
            {
                connectionClose = true;
            }
            else if (!line.StartsWith("Date: "u8) && !line.StartsWith("Server: "u8))
            {
                return false;
            }
        }

        status = contentLengthZero && connectionClose ? candidate : 0;
        return status != 0;
    }

    /// <summary>Writes <paramref name="head"/> with the problem headers in place of Content-Length: 0, then the body.
    /// The head lives in the buffer this write reuses, so it is copied out first.</summary>
    private void WriteProblem(ReadOnlySpan<byte> head, RefusalProblem problem)
    {
        Span<byte> original = stackalloc byte[HeadCapacity];
        head.CopyTo(original);
        original = original[..head.Length];
        var at = original.IndexOf("\r\nContent-Length: 0\r\n"u8) + 2;
        var before = original[..at];
        var after = original[(at + ContentLengthZero.Length)..];
        var total = before.Length + problem.Headers.Length + after.Length + problem.Body.Length;

        var span = inner.GetSpan(total);
        before.CopyTo(span);
        problem.Headers.CopyTo(span[before.Length..]);
        after.CopyTo(span[(before.Length + problem.Headers.Length)..]);
        problem.Body.CopyTo(span[(total - problem.Body.Length)..]);
        inner.Advance(total);
    }
}
