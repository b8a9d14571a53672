using System.Text.Json.Nodes;
using ComputeBank.EventStore;
using ComputeBank.Messaging.Durable;
using ComputeBank.Testing;

namespace ComputeBank.Messaging.Tests.Durable;

/// <summary>The command queue's own SQL against a real PostgreSQL: submissions, the messages enrolled with them, and
/// adoption of rows queued without one. Running queued commands is Wolverine's; the API tests cover it.</summary>
public sealed class DurableQueueTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private MartenEventStore _store = null!;
    private DurableQueue _queue = null!;

    public async Task InitializeAsync()
    {
        _store = MartenEventStore.Create(new EventStoreOptions { ConnectionString = database.ConnectionString + ";Maximum Pool Size=20" }, Counters.Types());
        await _store.MigrateAsync(CancellationToken.None, new MigrationModule("messaging", typeof(CommandBus).Assembly));
        _queue = new DurableQueue(_store.DataSource, _store.Schema);
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    private static string Id() => Guid.NewGuid().ToString("N");

    private static QueueSubmission Add(string operationId, string counter, long amount) =>
        new(operationId, "add", $"{counter}+{amount}", new JsonObject { ["counter"] = counter, ["amount"] = amount }, "tester", DateTimeOffset.UtcNow);

    /// <summary>Enrols a marker row per queued command (standing in for the broker's message), in the queue's transaction.</summary>
    private Enrolment Marking(List<QueuedCommand> enrolled, bool fail = false) => commands =>
    {
        enrolled.AddRange(commands);
        var marker = new Npgsql.NpgsqlBatchCommand(fail
            ? "SELECT 1 / 0"
            : "INSERT INTO cb.enrolled (envelope_id, operation_id) SELECT * FROM unnest($1::uuid[], $2::text[])");
        if (!fail)
        {
            marker.Parameters.Add(new Npgsql.NpgsqlParameter { Value = commands.Select(c => c.EnvelopeId).ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Uuid });
            marker.Parameters.Add(new Npgsql.NpgsqlParameter { Value = commands.Select(c => c.OperationId).ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text });
        }

        return [marker];
    };

    private Task MarkersAsync() => database.ExecuteAsync("CREATE TABLE IF NOT EXISTS cb.enrolled (envelope_id uuid PRIMARY KEY, operation_id text NOT NULL)");

    [Fact]
    public async Task GivenQueuedOperation_WhenSubmittedAgain_ThenQueuedOnce_WithOneMessage_AndOtherFieldsConflict()
    {
        await MarkersAsync();
        var (id, counter) = (Id(), "c-" + Id());
        var enrolled = new List<QueuedCommand>();

        var first = await _queue.SubmitAsync([Add(id, counter, 5), Add(id, counter, 5)], Marking(enrolled), CancellationToken.None);
        var again = await _queue.SubmitAsync([Add(id, counter, 5), Add(id, counter, 6)], Marking(enrolled), CancellationToken.None);

        Assert.Equal([SubmissionOutcome.Queued, SubmissionOutcome.AlreadyQueued], first.Outcomes);
        Assert.Equal([SubmissionOutcome.AlreadyQueued, SubmissionOutcome.Conflict], again.Outcomes);
        var queued = Assert.Single(first.Queued);
        Assert.Empty(again.Queued);
        Assert.Equal(queued, Assert.Single(enrolled));
        Assert.Equal((id, "add", 5L), (queued.OperationId, queued.CommandType, (long)queued.Body["amount"]!));
        Assert.Equal(1L, await database.ScalarAsync<long>($"SELECT count(*) FROM cb.command_queue WHERE operation_id = '{id}' AND envelope_id = '{queued.EnvelopeId}'"));
        Assert.Equal(1L, await database.ScalarAsync<long>($"SELECT count(*) FROM cb.enrolled WHERE envelope_id = '{queued.EnvelopeId}' AND operation_id = '{id}'"));
    }

    [Fact]
    public async Task GivenTheMessageCannotBeStored_ThenTheSubmissionIsRolledBack_AndNothingIsQueued()
    {
        var (id, counter) = (Id(), "c-" + Id());

        await Assert.ThrowsAsync<Npgsql.PostgresException>(() => _queue.SubmitAsync([Add(id, counter, 1)], Marking([], fail: true), CancellationToken.None));

        Assert.Equal(0L, await database.ScalarAsync<long>($"SELECT count(*) FROM cb.command_queue WHERE operation_id = '{id}'"));
    }

    [Fact]
    public async Task GivenRowsQueuedWithoutAMessage_WhenTwoNodesAdoptThemAtOnce_ThenEachGetsExactlyOneMessage()
    {
        await MarkersAsync();
        var ids = Enumerable.Range(0, 120).Select(_ => Id()).ToList();
        await database.ExecuteAsync(
            "INSERT INTO cb.command_queue (operation_id, command_type, fingerprint, body, available_at) " +
            $"SELECT id, 'add', '', '{{\"counter\": \"c\", \"amount\": 1}}', now() FROM unnest(ARRAY['{string.Join("','", ids)}']) AS id");

        async Task<int> AdoptAllAsync()
        {
            var total = 0;
            while ((await _queue.AdoptAsync(7, Marking([]), CancellationToken.None)) is { Count: > 0 } batch)
            {
                total += batch.Count;
            }

            return total;
        }

        var counts = await Task.WhenAll(AdoptAllAsync(), AdoptAllAsync());

        var inList = $"ARRAY['{string.Join("','", ids)}']";
        Assert.Equal(ids.Count, counts.Sum());
        Assert.Equal((long)ids.Count, await database.ScalarAsync<long>($"SELECT count(*) FROM cb.enrolled WHERE operation_id = ANY({inList})"));
        Assert.Equal((long)ids.Count, await database.ScalarAsync<long>(
            $"SELECT count(*) FROM cb.command_queue q JOIN cb.enrolled e ON e.envelope_id = q.envelope_id WHERE q.operation_id = ANY({inList})"));
    }
}
