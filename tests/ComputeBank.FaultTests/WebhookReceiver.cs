using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;

namespace ComputeBank.FaultTests;

/// <summary>A webhook subscriber on a loopback port: serves one delivery at a time, keeps every delivered body and answers
/// 204, after a given delay per delivery (a slow subscriber, so deliveries queue up behind it).</summary>
internal sealed class WebhookReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly TimeSpan _delay;
    private readonly Task _serving;

    public WebhookReceiver(TimeSpan delay = default)
    {
        _delay = delay;
        Url = $"http://127.0.0.1:{PostgresCluster.FreePort().ToString(CultureInfo.InvariantCulture)}/hooks/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    public string Url { get; }

    public ConcurrentQueue<string> Received { get; } = new();

    /// <summary>The <c>ComputeBank-Event-Id</c> header of every delivery.</summary>
    public ConcurrentQueue<string> EventIds { get; } = new();

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

            if (_delay > TimeSpan.Zero)
            {
                await Task.Delay(_delay);
            }

            using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8))
            {
                Received.Enqueue(await reader.ReadToEndAsync());
            }

            EventIds.Enqueue(context.Request.Headers["ComputeBank-Event-Id"] ?? "");
            context.Response.StatusCode = 204;
            try
            {
                context.Response.Close();
            }
            catch (HttpListenerException)
            {
                // The sending node died meanwhile.
            }
        }
    }
}
