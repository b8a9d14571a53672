using System.Net;
using System.Text.Json.Nodes;
using ComputeBank.Messaging.Durable;
using Microsoft.Extensions.DependencyInjection;
using Wolverine;

namespace ComputeBank.Api.Tests.Durable;

/// <summary>How Wolverine runs queued commands: retries, dead letters and redelivery, with failures injected into the
/// commit by triggers on a real PostgreSQL.</summary>
public sealed class QueuedCommandRunTests(DurableApiFactory factory) : AsyncCommandTestsBase(factory)
{
    private Task<long> EventsOfAsync(string operationId) =>
        Factory.Database.ScalarAsync<long>($"SELECT count(*) FROM cb.events WHERE metadata->'headers'->>'operationId' = '{operationId}'");

    private async Task<string> OpenProviderAsync()
    {
        var provider = Id("prov");
        (await Client.OpenAsync(provider, "provider")).ShouldBe(HttpStatusCode.Created);
        return provider;
    }

    /// <summary>Makes the commit that records <paramref name="operationId"/>'s success fail the first
    /// <paramref name="times"/> times with SQLSTATE <paramref name="sqlState"/> (a sequence counts: nextval survives the
    /// rollback). Returns the statement that removes it.</summary>
    private async Task<string> FailCommitsAsync(string operationId, int times, string sqlState)
    {
        var name = "f" + Guid.NewGuid().ToString("N")[..12];
        await Factory.Database.ExecuteAsync(
            $"CREATE SEQUENCE cb.{name}; " +
            $"CREATE FUNCTION cb.{name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN " +
            $"IF NEW.status = 'succeeded' AND nextval('cb.{name}') <= {times} THEN RAISE EXCEPTION 'injected commit failure' USING ERRCODE = '{sqlState}'; END IF; " +
            "RETURN NEW; END $$; " +
            $"CREATE TRIGGER {name} BEFORE UPDATE ON cb.command_queue FOR EACH ROW WHEN (NEW.operation_id = '{operationId}') EXECUTE FUNCTION cb.{name}()");
        return $"DROP TRIGGER {name} ON cb.command_queue";
    }

    [Fact]
    public async Task GivenTheFirstCommitFails_ThenNeitherItsEventsNorItsOutcomeAreKept_AndTheRetryTakesEffectOnce()
    {
        var provider = await OpenProviderAsync();
        var id = Id("dep");
        var drop = await FailCommitsAsync(id, 1, "P0001");

        (await Client.PostAsync("/api/v1/deposits", Deposit(id, provider), Async)).ShouldBe(HttpStatusCode.Accepted);
        var done = (await FinishedAsync(id)).Body!;

        Assert.Equal("succeeded", (string?)done["status"]);
        Assert.Equal(2, (int?)done["attempts"]);
        Assert.Equal(1L, await EventsOfAsync(id));
        Assert.Equal("1.000", (await Client.BalanceAsync(provider)).Posted);
        await Factory.Database.ExecuteAsync(drop);
    }

    [Fact]
    public async Task GivenADatabaseFaultOutlastingEveryAttempt_ThenTheCommandIsRetriedUntilItPasses_AndNotDeadLettered()
    {
        // 40001 is transient: the bus retries it itself (8 attempts) and then answers 503, which the queue retries
        // without counting it against the command. 25 failures outlast three queue attempts of eight commits each.
        var provider = await OpenProviderAsync();
        var id = Id("dep");
        var drop = await FailCommitsAsync(id, 25, "40001");

        (await Client.PostAsync("/api/v1/deposits", Deposit(id, provider), Async)).ShouldBe(HttpStatusCode.Accepted);
        var done = (await FinishedAsync(id)).Body!;

        Assert.Equal("succeeded", (string?)done["status"]);
        Assert.True((int?)done["attempts"] > 3, $"attempts: {done["attempts"]}");
        Assert.Null(done["deadLetterId"]);
        Assert.Equal(1L, await EventsOfAsync(id));
        await Factory.Database.ExecuteAsync(drop);
    }

    [Fact]
    public async Task GivenACommandThatAlwaysFails_ThenDeadLetteredAfterMaxAttempts_AndAReplayAfterTheFixSucceedsOnce()
    {
        var provider = await OpenProviderAsync();
        var id = Id("dep");
        var drop = await FailCommitsAsync(id, int.MaxValue, "P0001");

        (await Client.PostAsync("/api/v1/deposits", Deposit(id, provider), Async)).ShouldBe(HttpStatusCode.Accepted);
        var failed = (await FinishedAsync(id)).Body!;
        Assert.Equal("failed", (string?)failed["status"]);
        Assert.Equal(3, (int?)failed["attempts"]);
        Assert.Equal("internal_error", (string?)failed["problem"]!["code"]);
        var letterId = (long)failed["deadLetterId"]!;
        Assert.Equal(0L, await EventsOfAsync(id));

        await Factory.Database.ExecuteAsync(drop);
        (await Client.PostAsync($"/api/v1/dead-letters/{letterId}/replay", null)).ShouldBe(HttpStatusCode.Accepted);
        var done = (await FinishedAsync(id)).Body!;

        Assert.Equal("succeeded", (string?)done["status"]);
        Assert.Equal(1, (int?)done["attempts"]);
        Assert.Null(done["deadLetterId"]);
        Assert.Equal(1L, await EventsOfAsync(id));
        var open = (await Client.GetAsync("/api/v1/dead-letters?limit=500")).ShouldBe(HttpStatusCode.OK).Body!;
        Assert.DoesNotContain(open["items"]!.AsArray(), l => (string?)l!["operationId"] == id);
    }

    [Fact]
    public async Task GivenARefusedCommand_ThenFailedWithItsProblem_WithoutRetries()
    {
        var provider = await OpenProviderAsync();
        var id = Id("wd");

        (await Client.PostAsync("/api/v1/withdrawals",
            new { withdrawalId = id, accountId = provider, resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours = "5", jobReference = "job-1" },
            Async)).ShouldBe(HttpStatusCode.Accepted);
        var done = (await FinishedAsync(id)).Body!;

        Assert.Equal("failed", (string?)done["status"]);
        Assert.Equal(1, (int?)done["attempts"]);
        Assert.Equal(422, (int?)done["httpStatus"]);
        Assert.Null(done["deadLetterId"]);
    }

    [Fact]
    public async Task GivenAMessageDeliveredAgainAfterItsCommit_ThenNothingChanges()
    {
        // Wolverine delivers a message again when the node that ran it died before marking it handled.
        var provider = await OpenProviderAsync();
        var id = Id("dep");
        (await Client.PostAsync("/api/v1/deposits", Deposit(id, provider, "2"), Async)).ShouldBe(HttpStatusCode.Accepted);
        var first = (await FinishedAsync(id)).Body!;
        var body = (JsonObject)JsonNode.Parse(await Factory.Database.ScalarAsync<string>($"SELECT body::text FROM cb.command_queue WHERE operation_id = '{id}'"))!;

        await Factory.Services.GetRequiredService<IMessageBus>().InvokeAsync(new QueuedCommand(Guid.NewGuid(), id, "deposit", "", body, null));

        var again = (await FinishedAsync(id)).Body!;
        Assert.Equal(first.ToJsonString(), again.ToJsonString());
        Assert.Equal(1L, await EventsOfAsync(id));
        Assert.Equal("2.000", (await Client.BalanceAsync(provider)).Posted);
    }

    [Fact]
    public async Task GivenAHoldExpiryThatKeepsFailing_ThenItIsADeadLetterOfTheApi_AndItsReplayExpiresTheHold()
    {
        var (provider, consumer, holdId) = (Id("prov"), Id("cons"), Id("hold"));
        await Client.FundAsync(provider, consumer, "10");
        var operationId = "expire:" + holdId;
        var name = "f" + Guid.NewGuid().ToString("N")[..12];
        await Factory.Database.ExecuteAsync(
            $"CREATE FUNCTION cb.{name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected commit failure'; END $$; " +
            $"CREATE TRIGGER {name} BEFORE INSERT ON cb.operations FOR EACH ROW WHEN (NEW.operation_id = '{operationId}') EXECUTE FUNCTION cb.{name}()");
        (await Client.PostAsync("/api/v1/holds", new
        {
            holdId, accountId = consumer, beneficiaryAccountId = provider, resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period,
            hours = "4", expiresAt = DateTimeOffset.UtcNow.AddSeconds(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        })).ShouldBe(HttpStatusCode.Created);

        var failed = (await FinishedAsync(operationId)).Body!;
        Assert.Equal("failed", (string?)failed["status"]);
        Assert.Equal(3, (int?)failed["attempts"]);
        var letterId = (long)failed["deadLetterId"]!;
        var letters = (await Client.GetAsync($"/api/v1/dead-letters?afterId={letterId - 1}&limit=1")).ShouldBe(HttpStatusCode.OK).Body!;
        var letter = Assert.Single(letters["items"]!.AsArray())!;
        Assert.Equal((operationId, "hold-expire", holdId), ((string?)letter["operationId"], (string?)letter["type"], (string?)letter["body"]!["holdId"]));
        Assert.Equal(("10.000", "4.000", "6.000"), await Client.BalanceAsync(consumer));
        Assert.Equal(0L, await Factory.Database.ScalarAsync<long>("SELECT count(*) FROM wolverine.wolverine_dead_letters"));

        await Factory.Database.ExecuteAsync($"DROP TRIGGER {name} ON cb.operations");
        (await Client.PostAsync($"/api/v1/dead-letters/{letterId}/replay", null)).ShouldBe(HttpStatusCode.Accepted);
        var done = (await FinishedAsync(operationId)).Body!;

        Assert.Equal("succeeded", (string?)done["status"]);
        Assert.Equal(("10.000", "0.000", "10.000"), await Client.BalanceAsync(consumer));
        Assert.Equal(1L, await Factory.Database.ScalarAsync<long>($"SELECT count(*) FROM cb.events WHERE stream_id = 'hold-{holdId}' AND type = 'V1.HoldExpired'"));
    }
}
