using ComputeBank.Testing;
using Npgsql;

namespace ComputeBank.EventStore.Tests.Conformance;

/// <summary>
/// The event store conformance suite: every fact runs against a real PostgreSQL database owned by the concrete
/// class's fixture. Facts of one class run one after another, classes in parallel; each fact uses its own stream ids
/// (and projection names), so it never depends on what earlier facts left in the database.
/// </summary>
public abstract partial class EventStoreConformance(PostgresDatabase database, string schema) : IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(90));
    private readonly List<IAsyncDisposable> _disposables = [];

    protected PostgresDatabase Database { get; } = database;

    protected string Schema { get; } = schema;

    protected MartenEventStore Store { get; private set; } = null!;

    /// <summary>Fails the fact instead of hanging it.</summary>
    protected CancellationToken Ct => _timeout.Token;

    public async Task InitializeAsync()
    {
        Store = CreateStore();
        await Store.MigrateAsync(Ct);
    }

    public async Task DisposeAsync()
    {
        foreach (var disposable in Enumerable.Reverse(_disposables))
        {
            await disposable.DisposeAsync();
        }

        await Store.DisposeAsync();
        _timeout.Dispose();
    }

    /// <summary>Another store on the same database, as a second node would have; disposed after the fact.</summary>
    protected MartenEventStore CreateStore(TimeSpan? lockTimeout = null, params IInlineProjection[] inline)
    {
        var store = MartenEventStore.Create(
            new EventStoreOptions
            {
                ConnectionString = new NpgsqlConnectionStringBuilder(Database.ConnectionString) { MaxPoolSize = 30 }.ConnectionString,
                Schema = Schema,
                LockTimeout = lockTimeout,
            },
            TestTypes.Registry(),
            inline);
        if (Store is not null)
        {
            _disposables.Add(store);
        }

        return store;
    }

    protected T Track<T>(T disposable)
        where T : IAsyncDisposable
    {
        _disposables.Add(disposable);
        return disposable;
    }

    protected static string NewStreamId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    protected Task<long> ScalarAsync(string sql) => Database.ScalarAsync<long>(sql.Replace("{schema}", Schema, StringComparison.Ordinal), Ct);

    protected Task ExecuteAsync(string sql) => Database.ExecuteAsync(sql.Replace("{schema}", Schema, StringComparison.Ordinal), Ct);

    /// <summary>
    /// Appends one event behind the store's back, as a writer of Marten's tables would (a stream row at the next version,
    /// an event row with the next sequence number), then links it into the hash chain. For stored shapes the store would
    /// never write itself (old type names) and for transactions a test holds open.
    /// </summary>
    protected async Task<long> AppendRawAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string streamId, string type = "V1.Deposited", string json = "{\"amount\":7}")
    {
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand(
                    $"""
                    WITH s AS (
                        INSERT INTO {Schema}.mt_streams AS t (id, version, timestamp, created, tenant_id, is_archived)
                        VALUES ($1, 1, now(), now(), '*DEFAULT*', false)
                        ON CONFLICT (id) DO UPDATE SET version = t.version + 1 RETURNING version)
                    INSERT INTO {Schema}.mt_events (seq_id, id, stream_id, version, data, type, timestamp, tenant_id, is_archived)
                    SELECT nextval('{Schema}.mt_events_sequence'), gen_random_uuid(), $1, s.version, $2::jsonb, $3, clock_timestamp(), '*DEFAULT*', false FROM s
                    RETURNING seq_id
                    """)
                {
                    Parameters = { new NpgsqlParameter<string> { TypedValue = streamId }, new NpgsqlParameter<string> { TypedValue = json }, new NpgsqlParameter<string> { TypedValue = type } },
                },
                new NpgsqlBatchCommand($"SELECT {Schema}.chain_events(ARRAY[$1], ARRAY[NULL::text])")
                {
                    Parameters = { new NpgsqlParameter<string> { TypedValue = streamId } },
                },
            },
        };
        return (long)(await batch.ExecuteScalarAsync(Ct))!;
    }

    /// <summary><see cref="AppendRawAsync(NpgsqlConnection, NpgsqlTransaction?, string, string, string)"/> in a transaction of its own.</summary>
    protected async Task<long> AppendRawAsync(string streamId, string type, string json)
    {
        await using var connection = await Database.OpenAsync(Ct);
        return await AppendRawAsync(connection, null, streamId, type, json);
    }

    protected async Task<AppendResult> AppendAsync(string streamId, ExpectedVersion expected, params object[] events)
    {
        await using var session = Store.OpenSession();
        session.Append(streamId, expected, events);
        return await session.SaveChangesAsync(Ct);
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> when the fact's time runs out.</summary>
    protected async Task EventuallyAsync(Func<Task<bool>> condition, string what, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for: {what}");
            await Task.Delay(50, Ct);
        }
    }
}

/// <summary>The suite against the default schema.</summary>
public sealed class DefaultSchemaConformance(PostgresDatabase database)
    : EventStoreConformance(database, "cb"), IClassFixture<PostgresDatabase>;

/// <summary>The suite against a configured schema name, proving nothing depends on "cb".</summary>
public sealed class CustomSchemaConformance(PostgresDatabase database)
    : EventStoreConformance(database, "ledger_events"), IClassFixture<PostgresDatabase>;
