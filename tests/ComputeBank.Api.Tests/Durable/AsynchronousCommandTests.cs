using System.Net;
using ComputeBank.Api.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace ComputeBank.Api.Tests.Durable;

/// <summary>Prefer: respond-async, POST /commands, GET /operations, queued commands run by Wolverine, scheduled hold
/// expiry and dead letters, through HTTP on a real PostgreSQL.</summary>
public sealed class AsynchronousCommandTests(DurableApiFactory factory) : AsyncCommandTestsBase(factory)
{
    [Fact]
    public async Task Given1000CommandsSubmittedAsync_SomeTwice_ThenEachSucceedsExactlyOnce()
    {
        var provider = Id("prov");
        (await Client.OpenAsync(provider, "provider")).ShouldBe(HttpStatusCode.Created);
        var ids = Enumerable.Range(0, 1000).Select(i => Id("dep" + i)).ToList();

        await Parallel.ForEachAsync(ids.Select((id, i) => (id, i)), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (item, _) =>
        {
            var answer = item.i % 2 == 0
                ? await Client.PostAsync("/api/v1/deposits", Deposit(item.id, provider), Async)
                : await Client.PostAsync("/api/v1/commands", new { type = "deposit", body = Deposit(item.id, provider) });
            answer.ShouldBe(HttpStatusCode.Accepted);
            if (item.i % 10 == 0)
            {
                // Submitted again while it may be running: queued once.
                (await Client.PostAsync("/api/v1/deposits", Deposit(item.id, provider), Async)).ShouldBe(HttpStatusCode.Accepted);
            }
        });

        await Eventually.WaitAsync(() => SucceededAsync(ids), n => n == ids.Count, "every command to run");
        // Wolverine marks their messages handled in batches after the commits.
        await Eventually.WaitAsync(
            () => Factory.Database.ScalarAsync<long>(
                "SELECT count(*) FROM wolverine.wolverine_incoming_envelopes WHERE status <> 'Handled' AND message_type LIKE '%QueuedCommand%'"),
            n => n == 0, "every message to be handled");

        var inList = $"ARRAY['{string.Join("','", ids)}']";
        Assert.Equal(1000L, await Factory.Database.ScalarAsync<long>(
            $"SELECT count(*) FROM cb.events WHERE metadata->'headers'->>'operationId' = ANY({inList})"));
        Assert.Equal(1000L, await Factory.Database.ScalarAsync<long>(
            $"SELECT count(DISTINCT metadata->'headers'->>'operationId') FROM cb.events WHERE metadata->'headers'->>'operationId' = ANY({inList})"));
        Assert.Equal(1000L, await Factory.Database.ScalarAsync<long>($"SELECT count(*) FROM cb.operations WHERE operation_id = ANY({inList}) AND status = 201"));
        var done = (await FinishedAsync(ids[^1])).Body!;
        Assert.Equal("succeeded", (string?)done["status"]);
        Assert.Equal(ids[^1], (string?)done["result"]!["operationId"]);
        Assert.Equal("1000.000", (await Client.BalanceAsync(provider)).Posted);
    }

    private async Task<long> SucceededAsync(IReadOnlyList<string> ids) =>
        await Factory.Database.ScalarAsync<long>(
            $"SELECT count(*) FROM cb.command_queue WHERE status = 'succeeded' AND operation_id = ANY(ARRAY['{string.Join("','", ids)}'])");

    [Fact]
    public async Task GivenRespondAsync_WhenValid_Then202WithLocation_AndTheSameOperationIsQueuedOnce()
    {
        var provider = Id("prov");
        (await Client.OpenAsync(provider, "provider")).ShouldBe(HttpStatusCode.Created);
        var depositId = Id("dep");

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/v1/deposits", UriKind.Relative))
        {
            Content = System.Net.Http.Json.JsonContent.Create(Deposit(depositId, provider, "2.5")),
        };
        request.Headers.Add("Prefer", "respond-async, wait=0");
        using var response = await Client.Http.SendAsync(request);
        var again = await Client.PostAsync("/api/v1/deposits", Deposit(depositId, provider, "2.5"), Async);
        var other = await Client.PostAsync("/api/v1/commands", new { type = "deposit", body = Deposit(depositId, provider, "3") });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal($"/api/v1/operations/{depositId}", response.Headers.Location?.OriginalString);
        Assert.Equal("respond-async", response.Headers.GetValues("Preference-Applied").Single());
        Assert.True((bool)again.ShouldBe(HttpStatusCode.Accepted).Body!["alreadySubmitted"]!);
        other.ShouldBeProblem(HttpStatusCode.Conflict, "operation_id_conflict");
        var done = (await FinishedAsync(depositId)).Body!;
        Assert.Equal("succeeded", (string?)done["status"]);
        Assert.Equal(201, (int?)done["httpStatus"]);
        Assert.Equal("2.500", (await Client.BalanceAsync(provider)).Posted);
        Assert.Equal(1L, await Factory.Database.ScalarAsync<long>($"SELECT count(*) FROM cb.events WHERE metadata->'headers'->>'operationId' = '{depositId}'"));
    }

    [Fact]
    public async Task GivenInvalidBody_WhenSubmittedAsync_ThenTheSame400AsTheSynchronousPath_AndNothingIsQueued()
    {
        var bad = new { depositId = Id("dep"), accountId = "Not An Id", resourceClass = "gpu.nope", region = "beijing", period = "2026-13", hours = "-1" };

        var sync = await Client.PostAsync("/api/v1/deposits", bad);
        var prefer = await Client.PostAsync("/api/v1/deposits", bad, Async);
        var message = await Client.PostAsync("/api/v1/commands", new { type = "deposit", body = bad });
        var unknownType = await Client.PostAsync("/api/v1/commands", new { type = "teleport", body = new { } });
        var noBody = await Client.PostAsync("/api/v1/commands", new { type = "deposit" });
        var malformed = await Client.PostAsync("/api/v1/commands", "{\"type\": ");

        sync.ShouldBeProblem(HttpStatusCode.BadRequest, "validation_failed");
        Assert.Equal(sync.Text, prefer.ShouldBeProblem(HttpStatusCode.BadRequest, "validation_failed").Text);
        Assert.Equal(sync.Text, message.ShouldBeProblem(HttpStatusCode.BadRequest, "validation_failed").Text);
        Assert.NotNull(unknownType.ShouldBeProblem(HttpStatusCode.BadRequest, "validation_failed").Body!["errors"]!["type"]);
        Assert.NotNull(noBody.ShouldBeProblem(HttpStatusCode.BadRequest, "validation_failed").Body!["errors"]!["body"]);
        malformed.ShouldBeProblem(HttpStatusCode.BadRequest, "malformed_json");
        Assert.Equal(0L, await Factory.Database.ScalarAsync<long>($"SELECT count(*) FROM cb.command_queue WHERE operation_id = '{bad.depositId}'"));
        (await OperationAsync(bad.depositId)).ShouldBeProblem(HttpStatusCode.NotFound, "operation_not_found");
    }

    [Fact]
    public async Task GivenSynchronousCommand_WhenItsOperationIsQueried_ThenTheOperationLogAnswers()
    {
        var provider = Id("prov");
        (await Client.OpenAsync(provider, "provider")).ShouldBe(HttpStatusCode.Created);
        var depositId = Id("dep");
        (await Client.DepositAsync(depositId, provider, "4")).ShouldBe(HttpStatusCode.Created);

        var status = (await OperationAsync(depositId)).ShouldBe(HttpStatusCode.OK).Body!;

        Assert.Equal("succeeded", (string?)status["status"]);
        Assert.Equal(201, (int?)status["httpStatus"]);
        Assert.Equal(depositId, (string?)status["result"]!["operationId"]);
    }

    [Fact]
    public async Task GivenNonAtomicBatch_WhenRespondAsync_Then202PerCommand_AndInvalidOnesKeepTheirProblem()
    {
        var provider = Id("prov");
        (await Client.OpenAsync(provider, "provider")).ShouldBe(HttpStatusCode.Created);
        var (a, b) = (Id("dep"), Id("dep"));

        var answer = await Client.PostAsync("/api/v1/commands/batch", new
        {
            commands = new object[]
            {
                new { type = "deposit", body = Deposit(a, provider, "1") },
                new { type = "deposit", body = new { depositId = Id("dep") } },
                new { type = "deposit", body = Deposit(b, provider, "2") },
            },
        }, Async);

        var results = answer.ShouldBe(HttpStatusCode.Accepted).Body!["results"]!.AsArray();
        Assert.Equal([202, 400, 202], results.Select(r => (int)r!["status"]!));
        Assert.Equal($"/api/v1/operations/{b}", (string?)results[2]!["result"]!["location"]);
        Assert.Equal("succeeded", (string?)(await FinishedAsync(a)).Body!["status"]);
        Assert.Equal("succeeded", (string?)(await FinishedAsync(b)).Body!["status"]);
        Assert.Equal("3.000", (await Client.BalanceAsync(provider)).Posted);
    }

    [Fact]
    public async Task GivenHoldExpiring2SecondsAhead_WhenNobodyCalls_ThenTheSchedulerReleasesIt_AndCaptureIsRefused()
    {
        var (provider, consumer) = (Id("prov"), Id("cons"));
        await Client.FundAsync(provider, consumer, "10");
        var holdId = Id("hold");
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(2);
        (await PlaceHoldAsync(holdId, consumer, provider, expiresAt)).ShouldBe(HttpStatusCode.Created);
        Assert.Equal(("10.000", "4.000", "6.000"), await Client.BalanceAsync(consumer));

        var expiry = (await FinishedAsync("expire:" + holdId)).Body!;

        Assert.Equal("succeeded", (string?)expiry["status"]);
        Assert.Equal(("10.000", "0.000", "10.000"), await Client.BalanceAsync(consumer));
        (await Client.PostAsync($"/api/v1/holds/{holdId}/capture", null)).ShouldBeProblem(HttpStatusCode.UnprocessableEntity, "hold_not_pending");
        Assert.Equal(1L, await Factory.Database.ScalarAsync<long>($"SELECT count(*) FROM cb.events WHERE stream_id = 'hold-{holdId}' AND type = 'V1.HoldExpired'"));
    }

    [Fact]
    public async Task GivenHoldPastItsExpiry_WhenTheExpiryHasNotRunYet_ThenCaptureIsRefused_AndTheExpiryRunsLater()
    {
        var (provider, consumer) = (Id("prov"), Id("cons"));
        await Client.FundAsync(provider, consumer, "10");
        var holdId = Id("hold");
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(3);
        (await PlaceHoldAsync(holdId, consumer, provider, expiresAt)).ShouldBe(HttpStatusCode.Created);
        // Held back as a node that is slow to poll would hold it: the scheduled message is moved an hour on.
        var expiry = ScheduledMessages.IdFor("expire:" + holdId);
        Assert.Equal(1L, await Factory.Database.ScalarAsync<long>(
            "WITH moved AS (UPDATE wolverine.wolverine_incoming_envelopes SET execution_time = now() + interval '1 hour' " +
            $"WHERE id = '{expiry}' AND status = 'Scheduled' RETURNING 1) SELECT count(*) FROM moved"));
        await Eventually.WaitAsync(() => Task.FromResult(DateTimeOffset.UtcNow), now => now > expiresAt.AddMilliseconds(100), "the hold's expiry to pass");

        (await Client.PostAsync($"/api/v1/holds/{holdId}/capture", null)).ShouldBeProblem(HttpStatusCode.UnprocessableEntity, "hold_not_pending");
        Assert.Equal("pending", (string?)(await OperationAsync("expire:" + holdId)).Body!["status"]);

        await Factory.Database.ExecuteAsync($"UPDATE wolverine.wolverine_incoming_envelopes SET execution_time = now() WHERE id = '{expiry}'");
        Assert.Equal("succeeded", (string?)(await FinishedAsync("expire:" + holdId)).Body!["status"]);
        Assert.Equal(("10.000", "0.000", "10.000"), await Client.BalanceAsync(consumer));
    }

    [Fact]
    public async Task GivenHoldWithAFutureExpiry_ThenItsExpiryIsAScheduledWolverineEnvelope_AndCaptureDropsIt()
    {
        var (provider, consumer) = (Id("prov"), Id("cons"));
        await Client.FundAsync(provider, consumer, "10");
        var holdId = Id("hold");
        var expiresAt = DateTimeOffset.UtcNow.AddHours(1);
        (await PlaceHoldAsync(holdId, consumer, provider, expiresAt)).ShouldBe(HttpStatusCode.Created);
        var envelope = $"FROM wolverine.wolverine_incoming_envelopes WHERE id = '{ScheduledMessages.IdFor("expire:" + holdId)}'";
        Assert.Equal(1L, await Factory.Database.ScalarAsync<long>(
            $"SELECT count(*) {envelope} AND status = 'Scheduled' AND owner_id = 0 AND received_at = 'local://hold-expiry/' " +
            $"AND abs(extract(epoch FROM execution_time - '{expiresAt:O}'::timestamptz)) < 0.001"));
        Assert.Equal("pending", (string?)(await OperationAsync("expire:" + holdId)).ShouldBe(HttpStatusCode.OK).Body!["status"]);

        (await Client.PostAsync($"/api/v1/holds/{holdId}/capture", null)).ShouldBe(HttpStatusCode.OK);

        Assert.Equal(0L, await Factory.Database.ScalarAsync<long>("SELECT count(*) " + envelope));
        (await OperationAsync("expire:" + holdId)).ShouldBeProblem(HttpStatusCode.NotFound, "operation_not_found");
    }

    [Fact]
    public async Task GivenMessageThatAlwaysFails_ThenDeadLetteredAfterMaxAttempts_ListedAndReplayable()
    {
        // A message of a type this node does not know (as one queued by a newer version would be) fails every attempt.
        var operationId = Id("op");
        await Factory.QueueAsAnEarlierVersionAsync(Factory.Database, operationId, "from-a-newer-node", "{}");

        var failed = (await FinishedAsync(operationId)).Body!;
        Assert.Equal("failed", (string?)failed["status"]);
        Assert.Equal(3, (int?)failed["attempts"]);
        Assert.Equal("unknown_command_type", (string?)failed["problem"]!["code"]);
        var letterId = (long)failed["deadLetterId"]!;

        var list = (await Client.GetAsync($"/api/v1/dead-letters?afterId={letterId - 1}&limit=1")).ShouldBe(HttpStatusCode.OK).Body!;
        var letter = Assert.Single(list["items"]!.AsArray())!;
        Assert.Equal(operationId, (string?)letter["operationId"]);
        Assert.Equal(3, (int?)letter["attempts"]);
        Assert.Contains("unknown_command_type", (string?)letter["error"], StringComparison.Ordinal);
        Assert.NotNull((string?)list["next"]);

        var replay = await Client.PostAsync($"/api/v1/dead-letters/{letterId}/replay", null);
        Assert.Equal($"/api/v1/operations/{operationId}", (string?)replay.ShouldBe(HttpStatusCode.Accepted).Body!["location"]);
        (await Client.PostAsync($"/api/v1/dead-letters/{letterId}/replay", null)).ShouldBeProblem(HttpStatusCode.Conflict, "dead_letter_already_replayed");
        (await Client.PostAsync("/api/v1/dead-letters/999999999/replay", null)).ShouldBeProblem(HttpStatusCode.NotFound, "dead_letter_not_found");
        (await Client.GetAsync("/api/v1/dead-letters?limit=0")).ShouldBeProblem(HttpStatusCode.BadRequest, "validation_failed");

        // The cause is not fixed, so the replay fails again and lands in a new dead letter.
        var again = await Eventually.WaitAsync(() => OperationAsync(operationId), a => a.Body!["deadLetterId"] is { } id && (long)id != letterId, "the replay to fail again");
        Assert.Equal(3, (int?)again.Body!["attempts"]);
    }

    [Fact]
    public async Task GivenADeadLetter_WhenAnOperatorDiscardsIt_ThenItIsRecordedWithItsReason_NotListed_AndNotReplayable()
    {
        var operationId = Id("op");
        await Factory.QueueAsAnEarlierVersionAsync(Factory.Database, operationId, "from-a-newer-node", "{}");
        var letterId = (long)(await FinishedAsync(operationId)).Body!["deadLetterId"]!;

        (await Client.PostAsync($"/api/v1/dead-letters/{letterId}/discard", new { reason = "" })).ShouldBeProblem(HttpStatusCode.BadRequest, "validation_failed");
        var discarded = (await Client.PostAsync($"/api/v1/dead-letters/{letterId}/discard", new { reason = "the newer node was rolled back" })).ShouldBe(HttpStatusCode.OK).Body!;

        Assert.Equal((letterId, "the newer node was rolled back"), ((long)discarded["deadLetterId"]!, (string?)discarded["reason"]));
        var open = (await Client.GetAsync($"/api/v1/dead-letters?afterId={letterId - 1}&limit=500")).ShouldBe(HttpStatusCode.OK).Body!["items"]!.AsArray();
        Assert.DoesNotContain(open, l => (long)l!["id"]! == letterId);
        var all = (await Client.GetAsync($"/api/v1/dead-letters?afterId={letterId - 1}&limit=1&includeReplayed=true")).ShouldBe(HttpStatusCode.OK).Body!["items"]!.AsArray();
        Assert.Equal("the newer node was rolled back", (string?)Assert.Single(all)!["discardReason"]);
        Assert.NotNull((string?)all[0]!["discardedAt"]);
        (await Client.PostAsync($"/api/v1/dead-letters/{letterId}/replay", null)).ShouldBeProblem(HttpStatusCode.Conflict, "dead_letter_discarded");
        (await Client.PostAsync($"/api/v1/dead-letters/{letterId}/discard", new { reason = "again" })).ShouldBeProblem(HttpStatusCode.Conflict, "dead_letter_discarded");
        (await Client.PostAsync("/api/v1/dead-letters/999999999/discard", new { reason = "x" })).ShouldBeProblem(HttpStatusCode.NotFound, "dead_letter_not_found");
        Assert.Equal("failed", (string?)(await OperationAsync(operationId)).Body!["status"]);
    }

    private Task<Answer> PlaceHoldAsync(string holdId, string accountId, string beneficiary, DateTimeOffset expiresAt) =>
        Client.PostAsync("/api/v1/holds", new
        {
            holdId, accountId, beneficiaryAccountId = beneficiary, resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period,
            hours = "4", expiresAt = expiresAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        });
}
