using System.Net;

namespace ComputeBank.Api.Tests.Durable;

/// <summary>What tests of queued commands share: the host, a client, the respond-async header, and waiting for an
/// operation to finish.</summary>
public abstract class AsyncCommandTestsBase(DurableApiFactory factory) : IClassFixture<DurableApiFactory>
{
    protected static readonly Dictionary<string, string> Async = new(StringComparer.Ordinal) { ["Prefer"] = "respond-async" };

    protected DurableApiFactory Factory { get; } = factory;

    protected LedgerClient Client { get; } = new(factory.CreateClient());

    protected static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    protected static object Deposit(string depositId, string accountId, string hours = "1") =>
        new { depositId, accountId, resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours };

    protected Task<Answer> OperationAsync(string operationId) => Client.GetAsync("/api/v1/operations/" + Uri.EscapeDataString(operationId));

    protected Task<Answer> FinishedAsync(string operationId) =>
        Eventually.WaitAsync(() => OperationAsync(operationId), a => a.Status == HttpStatusCode.OK && (string?)a.Body!["status"] != "pending", $"operation {operationId}");
}
