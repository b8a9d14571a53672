using System.Collections.Concurrent;
using ComputeBank.Testing;

namespace ComputeBank.FaultTests;

/// <summary>A webhook subscriber on a loopback port: serves one delivery at a time, keeps every delivered body and answers
/// 204, after a given delay per delivery (a slow subscriber, so deliveries queue up behind it).</summary>
internal sealed class WebhookReceiver : IDisposable
{
    private readonly LoopbackHttpReceiver _receiver;

    public WebhookReceiver(TimeSpan delay = default)
    {
        _receiver = new LoopbackHttpReceiver(async (request, body) =>
        {
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay);
            }

            Received.Enqueue(body);
            EventIds.Enqueue(request.Headers["ComputeBank-Event-Id"] ?? "");
            return 204;
        });
        _receiver.Start();
    }

    public string Url => _receiver.Url;

    public ConcurrentQueue<string> Received { get; } = new();

    /// <summary>The <c>ComputeBank-Event-Id</c> header of every delivery.</summary>
    public ConcurrentQueue<string> EventIds { get; } = new();

    public void Dispose() => _receiver.Dispose();
}
