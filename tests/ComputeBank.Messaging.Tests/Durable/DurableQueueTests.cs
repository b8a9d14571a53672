using System.Text.Json.Nodes;
using ComputeBank.EventStore;
using ComputeBank.Messaging.Durable;
using ComputeBank.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace ComputeBank.Messaging.Tests.Durable;

/// <summary>The durable queue and its worker against a real PostgreSQL, on the counters ledger.</summary>
public sealed class DurableQueueTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private MartenEventStore _store = null!;
    private DurableQueue _queue = null!;
    private readonly FlakySwitch _flaky = new();
    private readonly ShiftedTime _time = new();

    public async Task InitializeAsync()
    {
        _store = MartenEventStore.Create(new EventStoreOptions { ConnectionString = database.ConnectionString + ";Maximum Pool Size=20" }, Counters.Types());
        await _store.MigrateAsync(CancellationToken.None, new MigrationModule("messaging", typeof(CommandBus).Assembly));
        _queue = new DurableQueue(_store.DataSource, _store.Schema);
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    private CommandBus Bus() =>
        new(_store, Counters.Handlers().Register(new FlakyHandler(_flaky)), new CounterFolder(), [], new CommandBusOptions(), NullLogger<CommandBus>.Instance);

    private DurableWorker Worker(CommandBus bus, DurableOptions options) =>
        new(_queue, bus, new CounterTranslator(), _store.DataSource, options, _time, NullLogger<DurableWorker>.Instance);

    private static DurableOptions FastOptions() => new()
    {
        BatchSize = 20,
        PollInterval = TimeSpan.FromMilliseconds(100),
        LeaseDuration = TimeSpan.FromSeconds(1),
        RetryBaseDelay = TimeSpan.FromMilliseconds(20),
        RetryMaxDelay = TimeSpan.FromMilliseconds(100),
        MaxAttempts = 3,
    };

    private static string Id() => Guid.NewGuid().ToString("N");

    private QueueSubmission Add(string operationId, string counter, long amount, DateTimeOffset? at = null) =>
        new(operationId, "add", $"{counter}+{amount}", new JsonObject { ["counter"] = counter, ["amount"] = amount }, "tester", at ?? _time.GetUtcNow());

    private async Task<long> EventsOfAsync(string operationId) =>
        await database.ScalarAsync<long>($"SELECT count(*) FROM cb.events WHERE metadata->'headers'->>'operationId' = '{operationId}'");

    private async Task<OperationStatus> FinishedAsync(string operationId)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var status = await _queue.FindAsync(operationId, CancellationToken.None);
            if (status is { Status: not "pending" })
            {
                return status;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Operation {operationId} still pending: {status}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task GivenQueuedOperation_WhenSubmittedAgain_ThenQueuedOnce_AndOtherFieldsConflict()
    {
        var (id, counter) = (Id(), "c-" + Id());

        var first = await _queue.SubmitAsync([Add(id, counter, 5), Add(id, counter, 5)], CancellationToken.None);
        var again = await _queue.SubmitAsync([Add(id, counter, 5), Add(id, counter, 6)], CancellationToken.None);

        Assert.Equal([SubmissionOutcome.Queued, SubmissionOutcome.AlreadyQueued], first);
        Assert.Equal([SubmissionOutcome.AlreadyQueued, SubmissionOutcome.Conflict], again);
        Assert.Equal(1L, await database.ScalarAsync<long>($"SELECT count(*) FROM cb.command_queue WHERE operation_id = '{id}'"));
    }

    [Fact]
    public async Task GivenCommandsQueuedWhileStopped_WhenTwoWorkersRunThem_ThenEachTakesEffectExactlyOnce()
    {
        var counter = "c-" + Id();
        var ids = Enumerable.Range(0, 300).Select(_ => Id()).ToList();
        await _queue.SubmitAsync([.. ids.Select(id => Add(id, counter + (id[0] % 4), 1))], CancellationToken.None);
        await using var bus = Bus();
        await using var one = Worker(bus, FastOptions());
        await using var two = Worker(bus, FastOptions());

        await one.StartAsync(CancellationToken.None);
        await two.StartAsync(CancellationToken.None);
        foreach (var id in ids)
        {
            Assert.Equal("succeeded", (await FinishedAsync(id)).Status);
        }

        Assert.Equal(300L, await database.ScalarAsync<long>(
            $"SELECT count(*) FROM cb.events WHERE metadata->'headers'->>'operationId' = ANY(ARRAY['{string.Join("','", ids)}'])"));
        Assert.Equal(300L, await database.ScalarAsync<long>(
            $"SELECT count(DISTINCT metadata->'headers'->>'operationId') FROM cb.events WHERE metadata->'headers'->>'operationId' = ANY(ARRAY['{string.Join("','", ids)}'])"));
    }

    [Fact]
    public async Task GivenWorkerKilledBetweenClaimAndCommit_WhenItsLeaseRunsOut_ThenTheCommandRunsOnce()
    {
        var (id, counter) = (Id(), "c-" + Id());
        var crashes = 0;
        var options = FastOptions();
        options.AfterClaim = (claimed, _) => claimed.Any(c => c.OperationId == id) && Interlocked.Increment(ref crashes) == 1
            ? throw new SimulatedCrash()
            : Task.CompletedTask;
        await _queue.SubmitAsync([Add(id, counter, 7)], CancellationToken.None);
        await using var bus = Bus();
        await using var worker = Worker(bus, options);

        await Assert.ThrowsAsync<SimulatedCrash>(() => worker.RunOnceAsync(CancellationToken.None));
        Assert.Equal(0, await worker.RunOnceAsync(CancellationToken.None));  // still leased by the "dead" pass
        Assert.Equal(0L, await EventsOfAsync(id));
        await worker.StartAsync(CancellationToken.None);
        var status = await FinishedAsync(id);

        Assert.Equal("succeeded", status.Status);
        Assert.Equal(2, status.Attempts);
        Assert.Equal(1L, await EventsOfAsync(id));
    }

    [Fact]
    public async Task GivenWorkerKilledRightAfterTheCommit_ThenTheOutcomeWasRecordedInThatCommit_AndNothingRunsAgain()
    {
        var (id, counter) = (Id(), "c-" + Id());
        var crashes = 0;
        var options = FastOptions();
        options.AfterSend = (claimed, _) => claimed.Any(c => c.OperationId == id) && Interlocked.Increment(ref crashes) == 1
            ? throw new SimulatedCrash()
            : Task.CompletedTask;
        await _queue.SubmitAsync([Add(id, counter, 3)], CancellationToken.None);
        await using var bus = Bus();
        await using var worker = Worker(bus, options);

        await Assert.ThrowsAsync<SimulatedCrash>(() => worker.RunOnceAsync(CancellationToken.None));

        // No second pass: the queue row left the lease with the events, in one transaction.
        var row = await database.ScalarAsync<string>($"SELECT status || '/' || attempts || '/' || coalesce(lease_token::text, 'no lease') FROM cb.command_queue WHERE operation_id = '{id}'");
        Assert.Equal("succeeded/1/no lease", row);
        var status = await _queue.FindAsync(id, CancellationToken.None);
        Assert.Equal("succeeded", status!.Status);
        Assert.Equal(201, status.HttpStatus);
        Assert.Equal(1L, (long)status.Response!["version"]!);
        Assert.Equal(1L, await EventsOfAsync(id));
        Assert.Equal(0, await worker.RunOnceAsync(CancellationToken.None));
    }

    [Fact]
    public async Task GivenTheCommitFails_ThenNeitherTheEventsNorTheOutcomeAreKept_AndTheRetryTakesEffectOnce()
    {
        var (id, counter) = (Id(), "c-" + Id());
        await _queue.SubmitAsync([Add(id, counter, 4)], CancellationToken.None);
        // Fail the first commit that records the outcome (a sequence counts attempts: nextval survives the rollback).
        await database.ExecuteAsync(
            $"CREATE SEQUENCE cb.attempt_{id}; " +
            $"CREATE FUNCTION cb.fail_first_{id}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN " +
            $"IF NEW.status = 'succeeded' AND nextval('cb.attempt_{id}') = 1 THEN RAISE EXCEPTION 'injected commit failure'; END IF; " +
            "RETURN NEW; END $$; " +
            $"CREATE TRIGGER fail_first_{id} BEFORE UPDATE ON cb.command_queue FOR EACH ROW WHEN (NEW.operation_id = '{id}') " +
            $"EXECUTE FUNCTION cb.fail_first_{id}()");
        await using var bus = Bus();
        await using var worker = Worker(bus, FastOptions());

        Assert.Equal(1, await worker.RunOnceAsync(CancellationToken.None));
        Assert.Equal(0L, await EventsOfAsync(id));
        var afterFailure = await _queue.FindAsync(id, CancellationToken.None);
        Assert.Equal("pending", afterFailure!.Status);

        await worker.StartAsync(CancellationToken.None);
        var status = await FinishedAsync(id);

        Assert.Equal("succeeded", status.Status);
        Assert.Equal(1L, await EventsOfAsync(id));
        Assert.Equal(2, status.Attempts);
        await database.ExecuteAsync($"DROP TRIGGER fail_first_{id} ON cb.command_queue");
    }

    [Fact]
    public async Task GivenCommandThatAlwaysFails_WhenRetried_ThenDeadLetteredAfterMaxAttempts_AndReplayAfterTheFixSucceeds()
    {
        var (id, counter) = (Id(), "c-" + Id());
        _flaky.Failing = true;
        await _queue.SubmitAsync([new QueueSubmission(id, "flaky", counter, new JsonObject { ["counter"] = counter }, null, _time.GetUtcNow())], CancellationToken.None);
        await using var bus = Bus();
        await using var worker = Worker(bus, FastOptions());
        await worker.StartAsync(CancellationToken.None);

        var failed = await FinishedAsync(id);
        Assert.Equal("failed", failed.Status);
        Assert.Equal(3, failed.Attempts);
        Assert.True(_flaky.Calls >= 3, $"the handler ran {_flaky.Calls} times");
        Assert.NotNull(failed.DeadLetterId);
        var letters = await _queue.ListDeadLettersAsync(0, 100, includeReplayed: false, CancellationToken.None);
        var letter = Assert.Single(letters, l => l.OperationId == id);
        Assert.Equal(3, letter.Attempts);
        Assert.Contains("internal_error", letter.Error, StringComparison.Ordinal);
        Assert.Equal(0L, await EventsOfAsync(id));

        _flaky.Failing = false;
        var (outcome, replayedId) = await _queue.ReplayAsync(letter.Id, _time.GetUtcNow(), CancellationToken.None);
        Assert.Equal((ReplayOutcome.Replayed, id), (outcome, replayedId));
        Assert.Equal(ReplayOutcome.AlreadyReplayed, (await _queue.ReplayAsync(letter.Id, _time.GetUtcNow(), CancellationToken.None)).Outcome);
        Assert.Equal(ReplayOutcome.NotFound, (await _queue.ReplayAsync(long.MaxValue, _time.GetUtcNow(), CancellationToken.None)).Outcome);
        worker.Wake();

        var succeeded = await FinishedAsync(id);
        Assert.Equal("succeeded", succeeded.Status);
        Assert.Null(succeeded.DeadLetterId);
        Assert.Equal(1L, await EventsOfAsync(id));
        Assert.DoesNotContain(await _queue.ListDeadLettersAsync(0, 100, includeReplayed: false, CancellationToken.None), l => l.OperationId == id);
    }

    [Fact]
    public async Task GivenScheduledCommand_WhenNotDue_ThenNotClaimed_WhenItsTimeComes_ThenItRuns()
    {
        var (id, counter) = (Id(), "c-" + Id());
        await _queue.SubmitAsync([Add(id, counter, 2, _time.GetUtcNow().AddHours(1))], CancellationToken.None);
        await using var bus = Bus();
        await using var worker = Worker(bus, FastOptions());

        while (await worker.RunOnceAsync(CancellationToken.None) > 0)
        {
            // Drain whatever other tests of this class left due.
        }

        Assert.Equal("pending", (await _queue.FindAsync(id, CancellationToken.None))!.Status);
        _time.Offset = TimeSpan.FromHours(2);
        await worker.StartAsync(CancellationToken.None);

        Assert.Equal("succeeded", (await FinishedAsync(id)).Status);
        Assert.Equal(1L, await EventsOfAsync(id));
    }

    [Fact]
    public async Task GivenRefusedCommand_WhenRun_ThenFailedWithItsProblem_WithoutRetries()
    {
        var (id, counter) = (Id(), "c-" + Id());
        await _queue.SubmitAsync([new QueueSubmission(id, "move", "x", new JsonObject { ["from"] = counter, ["to"] = counter + "-b", ["amount"] = 5 }, null, _time.GetUtcNow())],
            CancellationToken.None);
        await using var bus = Bus();
        await using var worker = Worker(bus, FastOptions());
        await worker.StartAsync(CancellationToken.None);

        var status = await FinishedAsync(id);

        Assert.Equal("failed", status.Status);
        Assert.Equal(1, status.Attempts);
        Assert.Equal(422, status.HttpStatus);
        Assert.Equal("insufficient", (string?)status.Response!["code"]);
        Assert.Null(status.DeadLetterId);
    }
}

internal sealed class SimulatedCrash : Exception
{
    public SimulatedCrash()
        : base("simulated crash of the worker")
    {
    }
}

/// <summary>The system clock shifted by <see cref="Offset"/>, so that a scheduled command comes due without waiting.</summary>
internal sealed class ShiftedTime : TimeProvider
{
    public TimeSpan Offset { get; set; }

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
}

public sealed record Flaky(string OperationId, string Counter);

/// <summary>Whether <see cref="FlakyHandler"/> throws (the cause of failure an operator can fix), and how often it was asked.</summary>
public sealed class FlakySwitch
{
    private int _calls;

    public volatile bool Failing;

    public int Calls => _calls;

    public void Called() => Interlocked.Increment(ref _calls);
}

public sealed class FlakyHandler(FlakySwitch flaky) : ICommandHandler<Flaky>
{
    public IReadOnlyCollection<string> StreamsToLoad(Flaky command, IReadOnlyDictionary<string, object?> loaded) => [command.Counter];

    public HandlerDecision Decide(Flaky command, IReadOnlyDictionary<string, object?> states)
    {
        flaky.Called();
        return flaky.Failing
            ? throw new InvalidOperationException("the flaky command's dependency is down")
            : new HandlerAccepted([new StreamAppend(command.Counter, "counter", [new Added(1)])], _ => new CommandReply(201, new JsonObject { ["ok"] = true }));
    }
}

/// <summary>Reads counter commands back from the queue.</summary>
public sealed class CounterTranslator : IQueuedCommandTranslator
{
    public (CommandEnvelope? Envelope, CommandReply? Reply) Translate(QueuedCommand command) => command.CommandType switch
    {
        "add" => (Counters.Envelope(new Add(command.OperationId, (string)command.Body["counter"]!, (long)command.Body["amount"]!)), null),
        "move" => (Counters.Envelope(new Move(command.OperationId, (string)command.Body["from"]!, (string)command.Body["to"]!, (long)command.Body["amount"]!)), null),
        "flaky" => (new CommandEnvelope(command.OperationId, "flaky", command.Fingerprint, new Flaky(command.OperationId, (string)command.Body["counter"]!)), null),
        _ => (null, CommandReply.Problem(500, "unknown_command_type", "Unknown command type")),
    };
}
