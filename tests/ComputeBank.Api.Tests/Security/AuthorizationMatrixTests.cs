using System.Net;
using ComputeBank.Api.Security;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace ComputeBank.Api.Tests.Security;

/// <summary>
/// Every endpoint x every role x the target's own owner or another x anonymous: the expected 2xx, 401 or 403, each
/// refusal a problem+json that wrote no event, each success one that did.
/// </summary>
public sealed class AuthorizationMatrixTests(SecureApiFactory factory) : IClassFixture<SecureApiFactory>
{
    private static int _periods;
    private static int _limits;

    /// <summary>Who calls: a role with the target's owner (own) or another owner, or nobody (anonymous).</summary>
    public sealed record Caller(string? Role, bool Own)
    {
        public override string ToString() => Role is null ? "anonymous" : $"{Role}/{(Own ? "own" : "other")}";
    }

    /// <summary>One request of the matrix, made fresh per caller (new ids, and holds or accounts it needs).</summary>
    private sealed record Call(HttpMethod Method, string Path, object? Body);

    /// <summary>The accounts of one matrix row: acme's provider and consumer accounts, funded, and a rival's.</summary>
    private sealed record Parties(string Acme, string Rival, string Provider, string Consumer, string RivalConsumer);

    private static readonly Caller[] Callers =
    [
        new(null, false),
        .. Roles.All.SelectMany(role => new[] { new Caller(role, true), new Caller(role, false) }),
    ];

    public static TheoryData<string> Endpoints => new(EndpointCases.Keys);

    private static readonly Dictionary<string, (Func<Caller, bool> Allowed, HttpStatusCode Success, Func<AuthorizationMatrixTests, Parties, Caller, Task<Call>> Prepare)> EndpointCases =
        new(StringComparer.Ordinal)
        {
            ["POST /accounts (provider)"] = (c => c is { Role: Roles.Provider, Own: true }, HttpStatusCode.Created,
                (t, p, c) => Task.FromResult(Post("/api/v1/accounts", new { accountId = Id("p"), ownerId = p.Acme, kind = "provider" }))),
            ["POST /accounts (consumer)"] = (c => c is { Role: Roles.Consumer, Own: true }, HttpStatusCode.Created,
                (t, p, c) => Task.FromResult(Post("/api/v1/accounts", new { accountId = Id("c"), ownerId = p.Acme, kind = "consumer" }))),
            ["POST /deposits"] = (c => c is { Role: Roles.Provider, Own: true }, HttpStatusCode.Created,
                (t, p, c) => Task.FromResult(Post("/api/v1/deposits", Deposit(p.Provider)))),
            ["POST /withdrawals"] = (c => c is { Role: Roles.Consumer, Own: true }, HttpStatusCode.Created,
                (t, p, c) => Task.FromResult(Post("/api/v1/withdrawals", new
                {
                    withdrawalId = Id("wd"), accountId = p.Consumer, resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours = "0.5",
                }))),
            ["POST /transfers (from provider)"] = (c => c is { Role: Roles.Provider, Own: true }, HttpStatusCode.Created,
                (t, p, c) => Task.FromResult(Post("/api/v1/transfers", Transfer(p.Provider, p.RivalConsumer)))),
            ["POST /transfers (from consumer)"] = (c => c is { Role: Roles.Consumer, Own: true }, HttpStatusCode.Created,
                (t, p, c) => Task.FromResult(Post("/api/v1/transfers", Transfer(p.Consumer, p.RivalConsumer)))),
            ["POST /period-transfers (from provider)"] = (c => c is { Role: Roles.Provider, Own: true }, HttpStatusCode.Created,
                (t, p, c) => Task.FromResult(Post("/api/v1/period-transfers", PeriodTransfer(p.Provider)))),
            ["POST /period-transfers (from consumer)"] = (c => c is { Role: Roles.Consumer, Own: true }, HttpStatusCode.Created,
                (t, p, c) => Task.FromResult(Post("/api/v1/period-transfers", PeriodTransfer(p.Consumer)))),
            ["POST /holds"] = (c => c is { Role: Roles.Consumer, Own: true }, HttpStatusCode.Created,
                (t, p, c) => Task.FromResult(Post("/api/v1/holds", Hold(Id("h"), p.Consumer)))),
            ["POST /holds/{id}/capture"] = (c => c is { Role: Roles.Consumer, Own: true }, HttpStatusCode.OK,
                async (t, p, c) => Post($"/api/v1/holds/{await t.PlaceHoldAsync(p)}/capture", new { hours = "0.25" })),
            ["POST /holds/{id}/release"] = (c => c is { Role: Roles.Consumer, Own: true }, HttpStatusCode.OK,
                async (t, p, c) => Post($"/api/v1/holds/{await t.PlaceHoldAsync(p)}/release", null)),
            ["PUT /accounts/{id}/credit-limits/{class}"] = (c => c.Role == Roles.Operator, HttpStatusCode.OK,
                (t, p, c) => Task.FromResult(new Call(HttpMethod.Put, $"/api/v1/accounts/{p.Consumer}/credit-limits/gpu.h100", new { hours = Interlocked.Increment(ref _limits).ToString(System.Globalization.CultureInfo.InvariantCulture), operationId = Id("cl") }))),
            ["POST /accounts/{id}/freeze"] = (c => c.Role == Roles.Operator, HttpStatusCode.OK,
                async (t, p, c) => Post($"/api/v1/accounts/{await t.OpenConsumerAsync(p)}/freeze", null)),
            ["POST /accounts/{id}/unfreeze"] = (c => c.Role == Roles.Operator, HttpStatusCode.OK,
                async (t, p, c) =>
                {
                    var account = await t.OpenConsumerAsync(p);
                    (await t.Operator.PostAsync($"/api/v1/accounts/{account}/freeze", null)).ShouldBe(HttpStatusCode.OK);
                    return Post($"/api/v1/accounts/{account}/unfreeze", null);
                }),
            ["POST /accounts/{id}/close"] = (c => c.Role == Roles.Operator, HttpStatusCode.OK,
                async (t, p, c) => Post($"/api/v1/accounts/{await t.OpenConsumerAsync(p)}/close", null)),
            ["POST /periods/{period}/close"] = (c => c.Role == Roles.Operator, HttpStatusCode.OK,
                (t, p, c) =>
                {
                    var month = Interlocked.Increment(ref _periods);
                    return Task.FromResult(Post($"/api/v1/periods/{2030 + (month / 12)}-{(month % 12) + 1:D2}/close", new { policy = "expire" }));
                }),
            ["POST /commands/batch (a deposit)"] = (c => c is { Role: Roles.Provider, Own: true }, HttpStatusCode.Created,
                (t, p, c) => Task.FromResult(Post("/api/v1/commands/batch", new { commands = new[] { new { type = "deposit", body = Deposit(p.Provider) } } }))),
            ["GET /accounts/{id}"] = (c => c.Own && c.Role is Roles.Provider or Roles.Consumer || c.Role is Roles.Auditor or Roles.Operator, HttpStatusCode.OK,
                (t, p, c) => Task.FromResult(new Call(HttpMethod.Get, $"/api/v1/accounts/{p.Consumer}", null))),
            ["GET /accounts?ownerId="] = (c => c.Own && c.Role is Roles.Provider or Roles.Consumer || c.Role is Roles.Auditor or Roles.Operator, HttpStatusCode.OK,
                (t, p, c) => Task.FromResult(new Call(HttpMethod.Get, $"/api/v1/accounts?ownerId={p.Acme}", null))),
            ["POST /market/offers"] = (c => c is { Role: Roles.Provider, Own: true }, HttpStatusCode.Created,
                (t, p, c) => Task.FromResult(Post("/api/v1/market/offers", Offer(Id("o"), p.Provider)))),
            ["POST /market/offers/{id}/withdraw"] = (c => c is { Role: Roles.Provider, Own: true }, HttpStatusCode.OK,
                async (t, p, c) => Post($"/api/v1/market/offers/{await t.ListAsync(p)}/withdraw", null)),
            ["POST /market/orders"] = (c => c is { Role: Roles.Consumer, Own: true }, HttpStatusCode.Created,
                async (t, p, c) =>
                {
                    await t.ListAsync(p);
                    return Post("/api/v1/market/orders", Order(Id("ord"), p.Consumer));
                }),
            ["POST /market/trades/{id}/payments"] = (c => c.Role is Roles.Settlement or Roles.Operator, HttpStatusCode.OK,
                async (t, p, c) => Post($"/api/v1/market/trades/{await t.TradeAsync(p)}/payments", new { paymentReference = Id("ref"), amount = "2.00", currency = "CNY", rail = "e-cny" })),
            ["POST /market/trades/{id}/cancel"] = (c => c is { Role: Roles.Consumer, Own: true }, HttpStatusCode.OK,
                async (t, p, c) => Post($"/api/v1/market/trades/{await t.TradeAsync(p)}/cancel", null)),
            ["GET /market/trades/{id}"] = (c => c.Own && c.Role is Roles.Provider or Roles.Consumer || c.Role is Roles.Auditor or Roles.Operator or Roles.Settlement, HttpStatusCode.OK,
                async (t, p, c) => new Call(HttpMethod.Get, $"/api/v1/market/trades/{await t.TradeAsync(p)}", null)),
            ["GET /market/trades?accountId="] = (c => c.Own && c.Role is Roles.Provider or Roles.Consumer || c.Role is Roles.Auditor or Roles.Operator, HttpStatusCode.OK,
                (t, p, c) => Task.FromResult(new Call(HttpMethod.Get, $"/api/v1/market/trades?accountId={p.Consumer}", null))),
            ["GET /market/offers (the book)"] = (c => c.Role is not null, HttpStatusCode.OK,
                (t, p, c) => Task.FromResult(new Call(HttpMethod.Get, $"/api/v1/market/offers?resourceClass=gpu.h100&period={LedgerClient.Period}", null))),
        };

    private LedgerClient Operator => field ??= factory.ClientAs(Roles.Operator, "bank");

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task EveryRoleOwnOrOtherAndAnonymous_GetsItsExpectedAnswer_AndRefusalsWriteNothing(string endpoint)
    {
        var (allowed, success, prepare) = EndpointCases[endpoint];
        var parties = await SetUpAsync();
        var failures = new List<string>();

        foreach (var caller in Callers)
        {
            var call = await prepare(this, parties, caller);
            var client = caller.Role is null ? factory.ClientWith(null) : factory.ClientAs(caller.Role, caller.Own ? parties.Acme : parties.Rival);
            var before = await factory.EventCountAsync();
            using var request = new HttpRequestMessage(call.Method, new Uri(call.Path, UriKind.Relative))
            {
                Content = call.Body is null ? null : System.Net.Http.Json.JsonContent.Create(call.Body),
            };
            var answer = await client.SendAsync(request);
            var written = await factory.EventCountAsync() - before;
            var (status, code) = Outcome(endpoint, answer);
            var expected = caller.Role is null ? HttpStatusCode.Unauthorized : allowed(caller) ? success : HttpStatusCode.Forbidden;

            if (status != expected)
            {
                failures.Add($"{caller}: expected {(int)expected} but got {(int)status}: {answer.Text}");
            }
            else if (expected is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                var problemCode = expected == HttpStatusCode.Unauthorized ? "unauthenticated" : "forbidden";
                if (code != problemCode || (!endpoint.Contains("batch", StringComparison.Ordinal) && answer.ContentType != "application/problem+json") || written != 0)
                {
                    failures.Add($"{caller}: refusal should be a '{problemCode}' problem writing no event; got code {code}, {answer.ContentType}, {written} events");
                }
            }
            else if (call.Method == HttpMethod.Get ? written != 0 : written == 0)
            {
                failures.Add($"{caller}: a successful {call.Method} wrote {written} events");
            }
        }

        Assert.True(failures.Count == 0, $"{endpoint}:\n{string.Join("\n", failures)}");
    }

    [Fact]
    public async Task Batch_RefusedItemAnswersItsOwn403_OthersTakeEffect_AndAtomicTakesNone()
    {
        var parties = await SetUpAsync();
        var provider = factory.ClientAs(Roles.Provider, parties.Acme);
        var commands = new object[]
        {
            new { type = "deposit", body = Deposit(parties.Provider) },
            new { type = "withdrawal", body = new { withdrawalId = Id("wd"), accountId = parties.Consumer, resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours = "1" } },
            new { type = "transfer", body = Transfer(parties.Provider, parties.RivalConsumer) },
            new { type = "deposit", body = Deposit("nobody-" + Guid.NewGuid().ToString("N")[..8]) },
        };

        var before = await factory.EventCountAsync();
        var mixed = await provider.PostAsync("/api/v1/commands/batch", new { commands });
        var afterMixed = await factory.EventCountAsync();
        var atomic = await provider.PostAsync("/api/v1/commands/batch", new { atomic = true, commands = commands.Take(2).ToArray() });

        mixed.ShouldBe(HttpStatusCode.OK);
        var statuses = mixed.Body!["results"]!.AsArray().Select(r => (int)r!["status"]!).ToList();
        Assert.Equal([201, 403, 201, 403], statuses);
        Assert.Equal("forbidden", (string?)mixed.Body["results"]![1]!["problem"]!["code"]);
        Assert.Equal(before + 3, afterMixed); // a deposit (1 event) and a transfer (out + in)
        atomic.ShouldBe(HttpStatusCode.OK);
        Assert.Equal([422, 403], atomic.Body!["results"]!.AsArray().Select(r => (int)r!["status"]!));
        Assert.Equal(afterMixed, await factory.EventCountAsync());
    }

    [Fact]
    public async Task AcceptedCommand_RecordsTheTokenSubjectAsItsUser()
    {
        var parties = await SetUpAsync();
        var subject = "svc-" + Guid.NewGuid().ToString("N")[..8];
        var client = factory.ClientWith(factory.Token(Roles.Provider, parties.Acme, subject: subject));
        var deposit = Deposit(parties.Provider);

        (await client.PostAsync("/api/v1/deposits", deposit)).ShouldBe(HttpStatusCode.Created);

        Assert.Equal(subject, await factory.Database.ScalarAsync<string>(
            $"SELECT metadata->>'user' FROM cb.events WHERE metadata->'headers'->>'operationId' = '{deposit.depositId}'"));
    }

    [Fact]
    public void EveryApiEndpoint_DeclaresItsRule()
    {
        var endpoints = factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true)
            .ToList();

        Assert.NotEmpty(endpoints);
        Assert.All(endpoints, e => Assert.True(
            e.Metadata.GetOrderedMetadata<Microsoft.AspNetCore.Authorization.IAuthorizeData>().Any(a => a.Policy is not null),
            $"{e.DisplayName} declares no authorization policy"));
    }

    private async Task<Parties> SetUpAsync()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var parties = new Parties("acme-" + suffix, "rival-" + suffix, "p-" + suffix, "c-" + suffix, "rc-" + suffix);
        var provider = factory.ClientAs(Roles.Provider, parties.Acme);
        var consumer = factory.ClientAs(Roles.Consumer, parties.Acme);
        (await provider.OpenAsync(parties.Provider, "provider", parties.Acme)).ShouldBe(HttpStatusCode.Created);
        (await consumer.OpenAsync(parties.Consumer, "consumer", parties.Acme)).ShouldBe(HttpStatusCode.Created);
        (await factory.ClientAs(Roles.Consumer, parties.Rival).OpenAsync(parties.RivalConsumer, "consumer", parties.Rival)).ShouldBe(HttpStatusCode.Created);
        (await provider.DepositAsync(Id("dep"), parties.Provider, "1000")).ShouldBe(HttpStatusCode.Created);
        (await provider.TransferAsync(Id("fund"), parties.Provider, parties.Consumer, "500")).ShouldBe(HttpStatusCode.Created);
        return parties;
    }

    private async Task<string> PlaceHoldAsync(Parties parties)
    {
        var holdId = Id("h");
        (await factory.ClientAs(Roles.Consumer, parties.Acme).PostAsync("/api/v1/holds", Hold(holdId, parties.Consumer))).ShouldBe(HttpStatusCode.Created);
        return holdId;
    }

    /// <summary>Lists an offer of 1 h at 2.00 from acme's provider account.</summary>
    private async Task<string> ListAsync(Parties parties)
    {
        var offerId = Id("o");
        (await factory.ClientAs(Roles.Provider, parties.Acme).PostAsync("/api/v1/market/offers", Offer(offerId, parties.Provider))).ShouldBe(HttpStatusCode.Created);
        return offerId;
    }

    /// <summary>A trade of 1 h bought by acme's consumer account from acme's provider account, awaiting payment.</summary>
    private async Task<string> TradeAsync(Parties parties)
    {
        await ListAsync(parties);
        var order = await factory.ClientAs(Roles.Consumer, parties.Acme).PostAsync("/api/v1/market/orders", Order(Id("ord"), parties.Consumer));
        return (string)order.ShouldBe(HttpStatusCode.Created).Body!["trades"]![0]!["tradeId"]!;
    }

    private async Task<string> OpenConsumerAsync(Parties parties)
    {
        var account = Id("c");
        (await factory.ClientAs(Roles.Consumer, parties.Acme).OpenAsync(account, "consumer", parties.Acme)).ShouldBe(HttpStatusCode.Created);
        return account;
    }

    /// <summary>Status and problem code; for a batch, those of its one item (the batch itself answers 200).</summary>
    private static (HttpStatusCode Status, string? Code) Outcome(string endpoint, Answer answer)
    {
        if (endpoint.Contains("batch", StringComparison.Ordinal) && answer.Status == HttpStatusCode.OK)
        {
            var item = answer.Body!["results"]![0]!;
            return ((HttpStatusCode)(int)item["status"]!, (string?)item["problem"]?["code"]);
        }

        return (answer.Status, answer.Code);
    }

    private static Call Post(string path, object? body) => new(HttpMethod.Post, path, body);

    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    private static DepositBody Deposit(string accountId) => new(Id("dep"), accountId, "gpu.h100", "beijing", LedgerClient.Period, "1");

    private static object Transfer(string from, string to) => new
    {
        transferId = Id("tr"), fromAccountId = from, toAccountId = to, resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours = "1",
    };

    private static object PeriodTransfer(string from) => new
    {
        transferId = Id("pt"), fromAccountId = from, resourceClass = "gpu.h100",
        from = new { region = "beijing", period = LedgerClient.Period }, to = new { region = "beijing", period = "2026-12" }, hours = "1",
    };

    private static object Hold(string holdId, string accountId) => new
    {
        holdId, accountId, resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours = "1",
        expiresAt = DateTimeOffset.UtcNow.AddHours(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
    };

    private static object Offer(string offerId, string accountId) => new
    {
        offerId, accountId, resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours = "1", unitPrice = "2.00",
        validUntil = DateTimeOffset.UtcNow.AddHours(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
    };

    // Each order buys at most 1 h at up to 2.00 from the book of acme's offers (the cheapest, earliest first).
    private static object Order(string orderId, string accountId) => new
    {
        orderId, accountId, resourceClass = "gpu.h100", period = LedgerClient.Period, regions = new[] { "beijing" }, hours = "1", maxUnitPrice = "2.00",
    };

    private sealed record DepositBody(string depositId, string accountId, string resourceClass, string region, string period, string hours);
}
