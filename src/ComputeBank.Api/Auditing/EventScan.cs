using System.Runtime.CompilerServices;
using ComputeBank.Domain;
using Npgsql;

namespace ComputeBank.Api.Auditing;

/// <summary>An event as the read side replays it: position, stream, version, stable type name, time and domain object.</summary>
/// <see cref="Data"/> is null (and <see cref="Error"/> says why) when the stored JSON no longer reads as its type.
/// <see cref="User"/> is the <c>user</c> of the event's metadata (on whose behalf it was written), when there is one.
public sealed record ReplayedEvent(long Sequence, string StreamId, long Version, string TypeName, DateTimeOffset Timestamp, object? Data, string? Error = null, string? User = null);

/// <summary>
/// One consistent view of the ledger for auditors: a READ ONLY, REPEATABLE READ transaction in which every event is
/// streamed in sequence order by ONE server-side cursor (rows are read as they arrive, never all held in memory), and in
/// which the read models are read afterwards. Events and projection rows therefore come from the same database snapshot
/// even while the service keeps writing; a transaction still in flight is invisible to both.
/// </summary>
public sealed class EventScan : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;

    private EventScan(NpgsqlConnection connection, NpgsqlTransaction transaction, string schema)
    {
        _connection = connection;
        _transaction = transaction;
        Schema = schema;
    }

    public string Schema { get; }

    public NpgsqlConnection Connection => _connection;

    public NpgsqlTransaction Transaction => _transaction;

    public static async Task<EventScan> OpenAsync(NpgsqlDataSource dataSource, string schema, CancellationToken ct)
    {
        var connection = await dataSource.OpenConnectionAsync(ct);
        try
        {
            var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
            await using (var readOnly = new NpgsqlCommand("SET TRANSACTION READ ONLY", connection, transaction))
            {
                await readOnly.ExecuteNonQueryAsync(ct);
            }

            return new EventScan(connection, transaction, schema);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Every event after <paramref name="afterSequence"/> (and up to <paramref name="toSequence"/>) in sequence order.</summary>
    public async IAsyncEnumerable<ReplayedEvent> EventsAsync(
        long afterSequence, [EnumeratorCancellation] CancellationToken ct, string? streamId = null, long toSequence = long.MaxValue)
    {
        // Two statements rather than "stream_id = $3 OR $3 IS NULL": the whole-log scan must walk the primary key in
        // order (a generic plan for the combined condition sorted a million rows instead), one stream its own index.
        await using var command = new NpgsqlCommand(
            $"SELECT seq_id, stream_id, version, type, data, timestamp, metadata->>'user' FROM {Schema}.events " +
            (streamId is null ? "WHERE seq_id > $1 AND seq_id <= $2 ORDER BY seq_id" : "WHERE stream_id = $3 AND seq_id > $1 AND seq_id <= $2 ORDER BY version"),
            _connection, _transaction);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterSequence });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = toSequence });
        if (streamId is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
        }
        await using var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, ct);
        while (await reader.ReadAsync(ct))
        {
            var sequence = reader.GetInt64(0);
            var stream = reader.GetString(1);
            var version = reader.GetInt64(2);
            var type = reader.GetString(3);
            var data = reader.GetString(4);
            var timestamp = reader.GetFieldValue<DateTimeOffset>(5);
            var user = await reader.IsDBNullAsync(6, ct) ? null : reader.GetString(6);
            object? @event = null;
            string? error = null;
            try
            {
                @event = DomainJson.DeserializeEvent(type, data);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException or FormatException or InvalidOperationException)
            {
                error = e.Message;
            }

            yield return new ReplayedEvent(sequence, stream, version, type, timestamp, @event, error, user);
        }
    }

    /// <summary>Runs <paramref name="sql"/> in the scan's snapshot and hands every row to <paramref name="row"/>.</summary>
    public async Task ReadAsync(string sql, Action<NpgsqlDataReader> row, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, _connection, _transaction);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            row(reader);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _transaction.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
