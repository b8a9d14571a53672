using System.Net;
using System.Net.Sockets;

namespace ComputeBank.Testing;

/// <summary>
/// An HTTP receiver on a free 127.0.0.1 port (a webhook subscriber in tests): serves one request at a time, reads its
/// body, and answers with the status <c>answer</c> returns for it. Requests whose sender died meanwhile are dropped.
/// </summary>
public sealed class LoopbackHttpReceiver(Func<HttpListenerRequest, string, Task<int>> answer) : IDisposable
{
    private readonly HttpListener _listener = new();
    private Task _serving = Task.CompletedTask;

    /// <summary>The URL it listens on, <c>http://127.0.0.1:{port}/hooks/</c>.</summary>
    public string Url { get; } = $"http://127.0.0.1:{FreePort()}/hooks/";

    public void Start()
    {
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    public void Dispose()
    {
        _listener.Close();
        _serving.Wait(TimeSpan.FromSeconds(5));
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            string body;
            using (var reader = new StreamReader(context.Request.InputStream, context.Request.ContentEncoding))
            {
                body = await reader.ReadToEndAsync();
            }

            context.Response.StatusCode = await answer(context.Request, body);
            try
            {
                context.Response.Close();
            }
            catch (HttpListenerException)
            {
                // The sender died meanwhile.
            }
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
