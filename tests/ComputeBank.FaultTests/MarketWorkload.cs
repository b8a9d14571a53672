using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace ComputeBank.FaultTests;

/// <summary>One market command a client sent: where, what, and what it was told (as <see cref="Operation"/> for transfers).</summary>
public sealed record MarketOperation(string Kind, string OperationId, string Path, JsonObject Body)
{
    public Outcome Outcome { get; set; } = Outcome.Lost;

    public int Status { get; set; }

    public int Attempts { get; set; }

    public string? Code { get; set; }

    public JsonNode? Answer { get; set; }
}

/// <summary>
/// Market clients beside the bank's, in a period of their own (so the bank's totals are untouched): providers list
/// offers valid for 5 to 40 s and sometimes withdraw them; consumers place orders across regions and then pay a trade
/// (as the settlement system), cancel it, pay it late, or leave it to expire at its payBy 30 s later. Every command is
/// retried with the same operation id on a lost answer, on another node. Nodes die with SIGKILL while trades await
/// payment, so deadlines must survive in the database and fire exactly once on whichever node is up.
/// </summary>
public sealed class MarketWorkload(IReadOnlyList<ServiceNode> nodes, int seed)
{
    public const string Period = "2027-02";
    public const int Providers = 4;
    public const int Consumers = 8;
    public const int PaymentWindowSeconds = 30;
    private static readonly string[] Regions = ["beijing", "shanghai", "xiongan"];

    private readonly ConcurrentBag<MarketOperation> _operations = [];
    private readonly ConcurrentQueue<string> _offers = new();
    private readonly HttpClient _http = new(new SocketsHttpHandler { MaxConnectionsPerServer = 64, PooledConnectionLifetime = TimeSpan.FromSeconds(30) })
    {
        Timeout = TimeSpan.FromSeconds(5),
    };

    public IReadOnlyCollection<MarketOperation> Operations => _operations;

    public static string Provider(int i) => $"mkt-p{i}";

    public static string Consumer(int i) => $"mkt-c{i}";

    /// <summary>Opens the providers (10,000 h in each region) and the consumers, in two atomic batches.</summary>
    public async Task SetUpAsync(CancellationToken cancellationToken)
    {
        var open = Enumerable.Range(0, Providers).Select(i => BankWorkload.Command("account", new { accountId = Provider(i), ownerId = Provider(i), kind = "provider" }))
            .Concat(Enumerable.Range(0, Consumers).Select(i => BankWorkload.Command("account", new { accountId = Consumer(i), ownerId = Consumer(i), kind = "consumer" })));
        await BankWorkload.SetUpBatchAsync(_http, nodes[0], open, cancellationToken);
        var deposits = Enumerable.Range(0, Providers).SelectMany(i => Regions.Select(region => BankWorkload.Command("deposit", new
        {
            depositId = $"mkt-dep-{i}-{region}", accountId = Provider(i), resourceClass = "gpu.h100", region, period = Period, hours = "10000",
        })));
        await BankWorkload.SetUpBatchAsync(_http, nodes[0], deposits, cancellationToken);
    }

    /// <summary>Runs provider and consumer clients until <paramref name="stop"/> is cancelled.</summary>
    public Task RunAsync(int providerClients, int consumerClients, CancellationToken stop) =>
        Task.WhenAll(
            Enumerable.Range(0, providerClients).Select(c => Task.Run(() => ProviderClientAsync(c, stop), CancellationToken.None))
                .Concat(Enumerable.Range(0, consumerClients).Select(c => Task.Run(() => ConsumerClientAsync(c, stop), CancellationToken.None))));

    private async Task ProviderClientAsync(int client, CancellationToken stop)
    {
        var random = new Random(seed * 100 + client);
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var provider = Provider(random.Next(Providers));
            var offerId = $"mkt-o{client}-{n}";
            var listing = new MarketOperation("offer", offerId, "/api/v1/market/offers", new JsonObject
            {
                ["offerId"] = offerId, ["accountId"] = provider, ["resourceClass"] = "gpu.h100", ["region"] = Regions[random.Next(Regions.Length)],
                ["period"] = Period, ["hours"] = Hours(random, 1_000, 20_000), ["unitPrice"] = Price(random),
                ["validUntil"] = DateTimeOffset.UtcNow.AddSeconds(5 + random.Next(36)).ToString("O", CultureInfo.InvariantCulture),
            });
            await SendAsync(listing, random, stop);
            if (listing.Outcome == Outcome.Acknowledged)
            {
                _offers.Enqueue(offerId);
            }

            // Now and then withdraw an earlier offer (the deadline it set must then be dropped, or do nothing).
            if (random.Next(4) == 0 && _offers.TryDequeue(out var earlier))
            {
                var withdrawal = new MarketOperation("offer-withdraw", $"mkt-w-{earlier}", $"/api/v1/market/offers/{earlier}/withdraw", []);
                await SendAsync(withdrawal, random, stop);
            }

            await Task.Delay(100 + random.Next(300), CancellationToken.None);
        }
    }

    private async Task ConsumerClientAsync(int client, CancellationToken stop)
    {
        var random = new Random(seed * 100 + 50 + client);
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var orderId = $"mkt-r{client}-{n}";
            var regions = new JsonArray(Regions.Where(_ => random.Next(2) == 0).Select(r => (JsonNode)JsonValue.Create(r)!).ToArray());
            var order = new MarketOperation("order", orderId, "/api/v1/market/orders", new JsonObject
            {
                ["orderId"] = orderId, ["accountId"] = Consumer(random.Next(Consumers)), ["resourceClass"] = "gpu.h100", ["period"] = Period,
                ["regions"] = regions, ["hours"] = Hours(random, 500, 15_000), ["maxUnitPrice"] = Price(random),
                ["allOrNothing"] = random.Next(5) == 0, ["paymentWindowSeconds"] = PaymentWindowSeconds,
            });
            await SendAsync(order, random, stop);
            foreach (var trade in order.Answer?["trades"]?.AsArray() ?? [])
            {
                var tradeId = (string)trade!["tradeId"]!;
                var choice = random.Next(10);
                if (choice < 5)
                {
                    await SendAsync(Payment(tradeId, (string)trade["amount"]!), random, stop);
                }
                else if (choice < 7)
                {
                    var cancel = new MarketOperation("trade-cancel", $"mkt-x-{tradeId}", $"/api/v1/market/trades/{tradeId}/cancel", []);
                    await SendAsync(cancel, random, stop);
                }

                // The rest is left unpaid: the scheduler must expire it at payBy.
            }

            await Task.Delay(100 + random.Next(300), CancellationToken.None);
        }
    }

    private static MarketOperation Payment(string tradeId, string amount) =>
        new("trade-payment", $"ecny-{tradeId}", $"/api/v1/market/trades/{tradeId}/payments", new JsonObject
        {
            ["paymentReference"] = $"ecny-{tradeId}", ["amount"] = amount, ["currency"] = "CNY", ["rail"] = "e-cny",
        });

    /// <summary>Sends until a definite answer, rotating over the nodes (<see cref="BankWorkload.SendUntilDefiniteAsync"/>);
    /// withdrawals and cancels carry their operation id as <c>Idempotency-Key</c>, so a resend is a replay.</summary>
    public async Task SendUntilAnsweredAsync(MarketOperation operation, int startNode, int maxAttempts, CancellationToken stop)
    {
        var answer = await BankWorkload.SendUntilDefiniteAsync(_http, nodes, startNode, maxAttempts, node =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, new Uri(node.BaseAddress, operation.Path)) { Content = JsonContent.Create(operation.Body) };
            request.Headers.Add("Idempotency-Key", operation.OperationId);
            return request;
        }, () => operation.Attempts++, stop);
        if (answer is { } definite)
        {
            operation.Status = definite.Status;
            operation.Outcome = definite.Status < 300 ? Outcome.Acknowledged : Outcome.Refused;
            operation.Answer = definite.Body;
            operation.Code = definite.Status >= 400 ? (string?)definite.Body?["code"] : null;
        }
    }

    /// <summary>After healing: every lost answer resolved by sending again with the same id (a resent order or payment
    /// after its effect is a replay; a payment resent after payBy is refused and must have recorded nothing).</summary>
    public async Task ResolveLostAsync()
    {
        foreach (var lost in _operations.Where(o => o.Outcome == Outcome.Lost))
        {
            var retry = lost with { Attempts = 0 };
            await SendUntilAnsweredAsync(retry, 0, maxAttempts: 30, CancellationToken.None);
            (lost.Outcome, lost.Status, lost.Code, lost.Answer) = (retry.Outcome, retry.Status, retry.Code, retry.Answer);
            lost.Attempts += retry.Attempts;
        }
    }

    /// <summary>Records the operation for the checker, then sends it from a random node on.</summary>
    private Task SendAsync(MarketOperation operation, Random random, CancellationToken stop)
    {
        _operations.Add(operation);
        return SendUntilAnsweredAsync(operation, random.Next(nodes.Count), maxAttempts: 8, stop);
    }

    private static string Hours(Random random, int minMilli, int maxMilli) =>
        (random.Next(minMilli, maxMilli) / 1000m).ToString("0.000", CultureInfo.InvariantCulture);

    private static string Price(Random random) => (random.Next(100, 2000) / 100m).ToString("0.00", CultureInfo.InvariantCulture);
}

/// <summary>
/// The market's invariants at the end of a fault run, from the events (MARKET.md): every trade ended exactly once and
/// none settled at or after payBy (its deadline fired exactly once, whichever node was up); no offer traded more than it
/// listed, and every offer past its validUntil is closed; what clients were told agrees with the ledger (an acknowledged
/// order opened exactly the hours it answered, an acknowledged payment settled its trade with its reference, a refused
/// command recorded nothing); no market account is below zero. audit verify (run by the bank test) checks the pending
/// hours and the market's read models against the fold.
/// </summary>
public sealed class MarketChecker(string connectionString)
{
    public List<string> Anomalies { get; } = [];

    public Dictionary<string, string> Figures { get; } = new(StringComparer.Ordinal);

    /// <summary>Waits, at most <paramref name="bound"/>, until every deadline has passed and fired, then checks.</summary>
    public async Task CheckAsync(IReadOnlyCollection<MarketOperation> operations, TimeSpan bound, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        var deadline = DateTime.UtcNow + bound;
        long open;
        do
        {
            await Task.Delay(1000, cancellationToken);
            open = await CountAsync(connection, """
                SELECT (SELECT count(*) FROM cb.events o WHERE o.type = 'V1.TradeOpened' AND NOT EXISTS (
                            SELECT 1 FROM cb.events e WHERE e.stream_id = o.stream_id AND e.type IN ('V1.TradeSettled', 'V1.TradeUndone')))
                     + (SELECT count(*) FROM cb.events l WHERE l.type = 'V1.OfferListed' AND NOT EXISTS (
                            SELECT 1 FROM cb.events e WHERE e.stream_id = l.stream_id AND e.type = 'V1.OfferClosed'))
                """, cancellationToken);
        }
        while (open > 0 && DateTime.UtcNow < deadline);

        await RowsAsync(connection, """
            SELECT o.stream_id, count(e.*) FROM cb.events o LEFT JOIN cb.events e ON e.stream_id = o.stream_id AND e.type IN ('V1.TradeSettled', 'V1.TradeUndone')
            WHERE o.type = 'V1.TradeOpened' GROUP BY o.stream_id HAVING count(e.*) <> 1
            """, (trade, ends) => Anomalies.Add($"{trade} ended {ends} times, expected exactly once (its deadline passed {bound.TotalSeconds:F0} s ago at most)"), cancellationToken);
        await RowsAsync(connection, """
            SELECT s.stream_id, (s.data->>'settledAt') || ' >= payBy ' || (o.data->>'payBy')
            FROM cb.events s JOIN cb.events o ON o.stream_id = s.stream_id AND o.type = 'V1.TradeOpened'
            WHERE s.type = 'V1.TradeSettled' AND (s.data->>'settledAt')::timestamptz >= (o.data->>'payBy')::timestamptz
            """, (trade, detail) => Anomalies.Add($"{trade} settled at or after its payBy: {detail}"), cancellationToken);
        // Hours of a cancelled or expired trade that went back to the offer may be traded again; what an offer gave up for
        // good (sold, or released from an undone trade after it closed) must never exceed what it listed.
        await RowsAsync(connection, """
            WITH gone AS (
                SELECT t.data->>'offerId' AS offer, sum((t.data->>'hours')::numeric) AS hours
                FROM cb.events t JOIN cb.events e ON e.stream_id = t.stream_id
                WHERE t.type = 'V1.TradeOpened'
                  AND (e.type = 'V1.TradeSettled' OR (e.type = 'V1.TradeUndone' AND (e.data->>'returned')::boolean = false))
                GROUP BY 1)
            SELECT l.data->>'offerId', 'listed ' || (l.data->>'hours') || ', sold or released from trades ' || g.hours
            FROM cb.events l JOIN gone g ON g.offer = l.data->>'offerId'
            WHERE l.type = 'V1.OfferListed' AND g.hours > (l.data->>'hours')::numeric
            """, (offer, detail) => Anomalies.Add($"offer {offer} oversold: {detail}"), cancellationToken);
        await RowsAsync(connection, """
            SELECT l.data->>'offerId', 'valid until ' || (l.data->>'validUntil') FROM cb.events l
            WHERE l.type = 'V1.OfferListed' AND (l.data->>'validUntil')::timestamptz < now() - interval '30 seconds'
              AND NOT EXISTS (SELECT 1 FROM cb.events c WHERE c.stream_id = l.stream_id AND c.type = 'V1.OfferClosed')
            """, (offer, detail) => Anomalies.Add($"offer {offer} is still open past its validity: {detail}"), cancellationToken);
        await RowsAsync(connection, "SELECT account_id, (posted - pending)::text FROM cb.account_buckets WHERE account_id LIKE 'mkt-%' AND posted - pending < 0",
            (account, available) => Anomalies.Add($"{account} has available {available} milli-hours < 0"), cancellationToken);

        await CheckAnswersAsync(connection, operations, cancellationToken);

        Figures["market commands attempted"] = operations.Count.ToString(CultureInfo.InvariantCulture);
        foreach (var kind in operations.GroupBy(o => o.Kind).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            Figures[$"  {kind.Key}: acknowledged / refused / lost"] =
                $"{kind.Count(o => o.Outcome == Outcome.Acknowledged)} / {kind.Count(o => o.Outcome == Outcome.Refused)} / {kind.Count(o => o.Outcome == Outcome.Lost)}";
        }

        Figures["trades opened / settled / cancelled / expired by the scheduler"] = await SingleTextAsync(connection, """
            SELECT (SELECT count(*) FROM cb.events WHERE type = 'V1.TradeOpened') || ' / ' || (SELECT count(*) FROM cb.events WHERE type = 'V1.TradeSettled') || ' / ' ||
                   (SELECT count(*) FROM cb.events WHERE type = 'V1.TradeUndone' AND data->>'reason' = 'cancelled') || ' / ' ||
                   (SELECT count(*) FROM cb.events WHERE type = 'V1.TradeUndone' AND data->>'reason' = 'expired')
            """, cancellationToken);
        Figures["offers listed / withdrawn / expired by the scheduler"] = await SingleTextAsync(connection, """
            SELECT (SELECT count(*) FROM cb.events WHERE type = 'V1.OfferListed') || ' / ' ||
                   (SELECT count(*) FROM cb.events WHERE type = 'V1.OfferClosed' AND data->>'reason' = 'withdrawn') || ' / ' ||
                   (SELECT count(*) FROM cb.events WHERE type = 'V1.OfferClosed' AND data->>'reason' = 'expired')
            """, cancellationToken);
    }

    private async Task CheckAnswersAsync(NpgsqlConnection connection, IReadOnlyCollection<MarketOperation> operations, CancellationToken cancellationToken)
    {
        var opened = new Dictionary<string, decimal>(StringComparer.Ordinal);
        await RowsAsync(connection, "SELECT data->>'orderId', sum((data->>'hours')::numeric)::text FROM cb.events WHERE type = 'V1.TradeOpened' GROUP BY 1",
            (order, hours) => opened[order] = decimal.Parse(hours, CultureInfo.InvariantCulture), cancellationToken);
        var paid = new Dictionary<string, string>(StringComparer.Ordinal);
        await RowsAsync(connection, "SELECT data->>'tradeId', data->'settlement'->>'paymentReference' FROM cb.events WHERE type = 'V1.TradeSettled'",
            (trade, reference) => paid[trade] = reference, cancellationToken);
        var listed = new HashSet<string>(StringComparer.Ordinal);
        await RowsAsync(connection, "SELECT data->>'offerId', '' FROM cb.events WHERE type = 'V1.OfferListed'", (offer, _) => listed.Add(offer), cancellationToken);

        foreach (var operation in operations)
        {
            var acknowledged = operation.Outcome == Outcome.Acknowledged;
            switch (operation.Kind)
            {
                case "order":
                    var filled = acknowledged ? decimal.Parse((string)operation.Answer!["hoursFilled"]!, CultureInfo.InvariantCulture) : 0m;
                    if (operation.Outcome != Outcome.Lost && opened.GetValueOrDefault(operation.OperationId) != filled)
                    {
                        Anomalies.Add($"order {operation.OperationId} answered {operation.Status} with {filled} h filled, the ledger opened {opened.GetValueOrDefault(operation.OperationId)} h");
                    }

                    break;
                case "trade-payment":
                    var tradeId = operation.Path.Split('/')[^2];
                    if (acknowledged && paid.GetValueOrDefault(tradeId) != operation.OperationId)
                    {
                        Anomalies.Add($"payment {operation.OperationId} was acknowledged but trade {tradeId} is settled by '{paid.GetValueOrDefault(tradeId)}'");
                    }
                    else if (operation.Outcome == Outcome.Refused && paid.GetValueOrDefault(tradeId) == operation.OperationId)
                    {
                        Anomalies.Add($"payment {operation.OperationId} was refused ({operation.Code}) but settled trade {tradeId}");
                    }

                    break;
                case "offer":
                    if (acknowledged != listed.Contains(operation.OperationId) && operation.Outcome != Outcome.Lost)
                    {
                        Anomalies.Add($"offer {operation.OperationId} answered {operation.Status} but is {(listed.Contains(operation.OperationId) ? "" : "not ")}listed");
                    }

                    break;
            }

            if (operation.Outcome == Outcome.Lost)
            {
                Anomalies.Add($"{operation.Kind} {operation.OperationId}: answer lost and never resolved by a retry");
            }
        }
    }

    private static async Task<long> CountAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    private static async Task<string> SingleTextAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToString(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) ?? "";
    }

    private static async Task RowsAsync(NpgsqlConnection connection, string sql, Action<string, string> row, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            row(reader.GetString(0), reader.IsDBNull(1) ? "" : reader.GetValue(1).ToString() ?? "");
        }
    }
}
