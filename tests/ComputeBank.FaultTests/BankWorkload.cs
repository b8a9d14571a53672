using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace ComputeBank.FaultTests;

/// <summary>What a client knows about one operation at the end: acknowledged (2xx), refused (4xx), or lost (no
/// definite answer: a timeout, a killed node, a 503), with how many times it was sent.</summary>
public enum Outcome
{
    Acknowledged,
    Refused,
    Lost,
}

public sealed record Operation(string OperationId, string From, string To, string Hours)
{
    public Outcome Outcome { get; set; } = Outcome.Lost;

    public int Status { get; set; }

    public int Attempts { get; set; }

    public string? Code { get; set; }

    /// <summary>For a lost answer: what a later retry with the same id said.</summary>
    public Outcome? ResolvedAs { get; set; }

    /// <summary>The definite answer was a replay (<c>Idempotent-Replayed: true</c>): an earlier send had taken effect.</summary>
    public bool Replayed { get; set; }
}

/// <summary>
/// The Jepsen "bank" workload: clients transfer random amounts between accounts through random nodes, retrying a
/// timeout or connection error with the same operation id (as a careful client would) on another node.
/// </summary>
public sealed class BankWorkload(IReadOnlyList<ServiceNode> nodes, int accounts, int seed)
{
    public const string Period = "2026-11";
    public const long InitialHoursPerAccount = 1000;

    private readonly ConcurrentBag<Operation> _operations = [];
    private readonly HttpClient _http = new(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromSeconds(30) })
    {
        Timeout = TimeSpan.FromSeconds(5),
    };

    public IReadOnlyCollection<Operation> Operations => _operations;

    public static string Account(int i) => $"bank-{i.ToString("D3", CultureInfo.InvariantCulture)}";

    /// <summary>Opens a provider and the accounts, and gives each account the same credits, in two atomic batches.</summary>
    public async Task SetUpAsync(CancellationToken cancellationToken)
    {
        var total = (InitialHoursPerAccount * accounts).ToString(CultureInfo.InvariantCulture);
        var open = Enumerable.Range(0, accounts).Select(i => Command("account", new { accountId = Account(i), ownerId = Account(i), kind = "consumer" }))
            .Prepend(Command("account", new { accountId = "bank-provider", ownerId = "provider", kind = "provider" }));
        await BatchAsync(open, cancellationToken);
        var fund = Enumerable.Range(0, accounts).Select(i => Command("transfer", new
            {
                transferId = "fund-" + Account(i), fromAccountId = "bank-provider", toAccountId = Account(i), resourceClass = "gpu.h100",
                region = "beijing", period = Period, hours = InitialHoursPerAccount.ToString(CultureInfo.InvariantCulture),
            }))
            .Prepend(Command("deposit", new { depositId = "fund-deposit", accountId = "bank-provider", resourceClass = "gpu.h100", region = "beijing", period = Period, hours = total }));
        await BatchAsync(fund, cancellationToken);
    }

    /// <summary>Runs <paramref name="clients"/> clients until <paramref name="stop"/> is cancelled.</summary>
    public Task RunAsync(int clients, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(() => ClientAsync(c, stop), CancellationToken.None)));

    private async Task ClientAsync(int client, CancellationToken stop)
    {
        var random = new Random(seed * 1000 + client);
        var sequence = 0;
        while (!stop.IsCancellationRequested)
        {
            var from = random.Next(accounts);
            var to = (from + 1 + random.Next(accounts - 1)) % accounts;
            var hours = (random.Next(1, 400_000) / 1000m).ToString("0.000", CultureInfo.InvariantCulture);
            var operation = new Operation($"c{client}-{seed}-{sequence++}", Account(from), Account(to), hours);
            _operations.Add(operation);
            await SendUntilAnsweredAsync(operation, client, maxAttempts: 8, stop);
        }
    }

    /// <summary>Sends the operation until a definite answer (2xx or 4xx other than 429), rotating over the nodes.</summary>
    public async Task SendUntilAnsweredAsync(Operation operation, int startNode, int maxAttempts, CancellationToken stop)
    {
        var answer = await SendUntilDefiniteAsync(_http, nodes, startNode, maxAttempts, node => new HttpRequestMessage(HttpMethod.Post, new Uri(node.BaseAddress, "/api/v1/transfers"))
        {
            Content = JsonContent.Create(new
            {
                transferId = operation.OperationId, fromAccountId = operation.From, toAccountId = operation.To,
                resourceClass = "gpu.h100", region = "beijing", period = Period, hours = operation.Hours,
            }),
        }, () => operation.Attempts++, stop);
        if (answer is { } definite)
        {
            operation.Status = definite.Status;
            operation.Outcome = definite.Status < 300 ? Outcome.Acknowledged : Outcome.Refused;
            operation.Replayed = definite.Replayed;
            operation.Code = definite.Status >= 400 ? (string?)definite.Body?["code"] : null;
        }
    }

    /// <summary>
    /// Sends the request <paramref name="build"/> makes for each node in turn, from <paramref name="startNode"/> on, until a
    /// definite answer (2xx, or 4xx other than 429); a timeout, a connection error, a 5xx or a 429 is tried again on the
    /// next node after a short pause, as a careful client would. Null when no definite answer came.
    /// </summary>
    public static async Task<(int Status, JsonObject? Body, bool Replayed)?> SendUntilDefiniteAsync(
        HttpClient http, IReadOnlyList<ServiceNode> nodes, int startNode, int maxAttempts, Func<ServiceNode, HttpRequestMessage> build, Action attempted, CancellationToken stop)
    {
        for (var attempt = 0; attempt < maxAttempts; attempt++)
        {
            attempted();
            try
            {
                using var request = build(nodes[(startNode + attempt) % nodes.Count]);
                using var response = await http.SendAsync(request, CancellationToken.None);
                var status = (int)response.StatusCode;
                if (status is >= 200 and < 300 || (status is >= 400 and < 500 && status != 429))
                {
                    var replayed = response.Headers.TryGetValues("Idempotent-Replayed", out var values) && values.Contains("true", StringComparer.Ordinal);
                    return (status, await response.Content.ReadFromJsonAsync<JsonObject>(CancellationToken.None), replayed);
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            if (stop.IsCancellationRequested)
            {
                return null;
            }

            await Task.Delay(100 + Random.Shared.Next(200), CancellationToken.None);
        }

        return null;
    }

    private Task BatchAsync(IEnumerable<object> commands, CancellationToken cancellationToken) => SetUpBatchAsync(_http, nodes[0], commands, cancellationToken);

    /// <summary>An atomic batch of set-up commands on <paramref name="node"/>; throws unless every command succeeded.</summary>
    public static async Task SetUpBatchAsync(HttpClient http, ServiceNode node, IEnumerable<object> commands, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync(new Uri(node.BaseAddress, "/api/v1/commands/batch"), new { atomic = true, commands = commands.ToArray() }, cancellationToken);
        var body = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK || (int?)body?["failed"] != 0)
        {
            throw new InvalidOperationException($"Set-up batch failed: {body}");
        }
    }

    /// <summary>One command of a batch: <c>{type, body}</c>.</summary>
    public static object Command(string type, object body) => new { type, body };
}
