using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace ComputeBank.EventStore;

internal sealed class EventSession(EventStore store, EventMetadata metadata) : IEventSession
{
    private const string ConcurrencySqlState = "CB409";

    private readonly List<PendingStream> _streams = [];
    // The streams appended to so far: a group commit appends to thousands, so the one-append-per-stream check is a lookup.
    private readonly HashSet<string> _appended = new(StringComparer.Ordinal);
    // Keyed by stream: the last snapshot stored for a stream in a session wins (one row per stream per statement).
    private readonly Dictionary<string, (long Version, string Type, string Data)> _snapshots = new(StringComparer.Ordinal);
    private readonly List<NpgsqlBatchCommand> _enqueued = [];
    private NpgsqlConnection? _connection;
    private NpgsqlTransaction? _transaction;
    private bool _finished;

    public NpgsqlConnection Connection
    {
        get
        {
            Begin();
            return _connection!;
        }
    }

    public NpgsqlTransaction Transaction
    {
        get
        {
            Begin();
            return _transaction!;
        }
    }

    public Task<IReadOnlyDictionary<string, FetchedStream>> FetchForWritingAsync(
        IReadOnlyCollection<string> streamIds, LockMode mode, CancellationToken ct) =>
        FetchForWritingAsync(streamIds, mode, null, ct);

    public async Task<IReadOnlyDictionary<string, FetchedStream>> FetchForWritingAsync(
        IReadOnlyCollection<string> streamIds, LockMode mode, IReadOnlyDictionary<string, long>? knownVersions, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(streamIds);
        await BeginAsync(ct);
        var ids = streamIds.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        await using var batch = new NpgsqlBatch(_connection, _transaction);
        if (mode != LockMode.None)
        {
            if (store.LockTimeout is { } timeout)
            {
                batch.BatchCommands.Add(Command(Sql.SetLockTimeout, new NpgsqlParameter<string>
                {
                    TypedValue = ((long)Math.Ceiling(timeout.TotalMilliseconds)).ToString(System.Globalization.CultureInfo.InvariantCulture) + "ms",
                }));
            }

            // A statement of its own: the fetch below then takes its snapshot after the locks are granted and sees
            // what the previous holder committed.
            batch.BatchCommands.Add(Command(mode == LockMode.Exclusive ? store.Statements.LockForUpdate : store.Statements.LockForShare, IdsParameter(ids)));
        }

        var known = knownVersions is null ? [] : ids.Where(knownVersions.ContainsKey).ToArray();
        batch.BatchCommands.Add(Command(
            store.Statements.FetchForWriting,
            IdsParameter(ids),
            IdsParameter(known),
            new NpgsqlParameter<long[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, TypedValue = [.. known.Select(id => knownVersions![id])] }));

        var result = new Dictionary<string, FetchedStream>(StringComparer.Ordinal);
        try
        {
            await using var reader = await batch.ExecuteReaderAsync(ct);
            while (reader.FieldCount != 16 || reader.GetName(0) != "id")
            {
                await reader.NextResultAsync(ct);
            }

            FetchedStream? current = null;
            List<StoredEvent>? events = null;
            while (await reader.ReadAsync(ct))
            {
                var id = reader.GetString(0);
                if (current?.StreamId != id)
                {
                    events = [];
                    var hasSnapshot = !reader.IsDBNull(3);
                    var fromKnown = !reader.IsDBNull(15);
                    current = new FetchedStream(
                        id,
                        reader.GetInt64(1),
                        reader.IsDBNull(2) ? null : reader.GetString(2),
                        hasSnapshot ? store.Types.Deserialize(reader.GetString(4), reader.GetFieldValue<byte[]>(5), store.Json).Value : null,
                        fromKnown ? reader.GetInt64(15) : hasSnapshot ? reader.GetInt64(3) : 0,
                        events)
                    {
                        FromKnownVersion = fromKnown,
                    };
                    result[id] = current;
                }

                if (!reader.IsDBNull(6))
                {
                    events!.Add(store.ReadEvent(reader, 6));
                }
            }
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
        {
            await FinishAsync();
            throw new StreamLockTimeoutException(ids, e);
        }
        catch
        {
            await FinishAsync();
            throw;
        }

        foreach (var id in ids)
        {
            result.TryAdd(id, new FetchedStream(id, 0, null, null, 0, []));
        }

        return result;
    }

    public void StartStream(string streamId, string aggregateType, IReadOnlyList<object> events) =>
        Append(streamId, ExpectedVersion.NoStream, events, aggregateType);

    public void Append(string streamId, ExpectedVersion expected, IReadOnlyList<object> events, string? aggregateType = null) =>
        Append(streamId, expected, events, aggregateType, null);

    public void Append(string streamId, ExpectedVersion expected, IReadOnlyList<object> events, string? aggregateType, IReadOnlyList<EventMetadata>? eventMetadata)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        ArgumentNullException.ThrowIfNull(events);
        EnsureOpen();
        if (events.Count == 0)
        {
            throw new ArgumentException("An append needs at least one event.", nameof(events));
        }

        if (_appended.Contains(streamId))
        {
            throw new InvalidOperationException($"Stream '{streamId}' already has an append in this session; pass all its events in one call.");
        }

        var names = new string[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            names[i] = store.Types.NameOf(events[i].GetType());
        }

        if (eventMetadata is not null && eventMetadata.Count != events.Count)
        {
            throw new ArgumentException("One metadata per event, or none.", nameof(eventMetadata));
        }

        _appended.Add(streamId);
        _streams.Add(new PendingStream(streamId, aggregateType, expected.Value, events, names, eventMetadata));
    }

    public void StoreSnapshot(string streamId, long version, object state)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(version);
        EnsureOpen();
        var type = state.GetType();
        _snapshots[streamId] = (version, store.Types.NameOf(type), JsonSerializer.Serialize(state, type, store.Json));
    }

    public void Enqueue(NpgsqlBatchCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        EnsureOpen();
        _enqueued.Add(command);
    }

    public async Task<AppendResult> SaveChangesAsync(CancellationToken ct)
    {
        EnsureOpen();
        try
        {
            // Without an explicit transaction yet, the batch runs in PostgreSQL's implicit transaction (one Sync at the
            // end): all of it commits or none of it, and the commit costs no extra round-trip.
            if (_transaction is null)
            {
                _connection ??= await store.DataSource.OpenConnectionAsync(ct);
                return await SynchronousReplication.ConfirmedAsync(_connection, () => SendPendingAsync(ct));
            }

            var result = await SendPendingAsync(ct);
            await CommitConfirmedAsync(_transaction, ct);
            return result;
        }
        finally
        {
            await FinishAsync();
        }
    }

    public async Task<AppendResult> FlushAsync(CancellationToken ct)
    {
        EnsureOpen();
        await BeginAsync(ct);
        try
        {
            return await SendPendingAsync(ct);
        }
        catch
        {
            await FinishAsync();
            throw;
        }
    }

    public async Task CommitAsync(CancellationToken ct)
    {
        EnsureOpen();
        try
        {
            await SendPendingAsync(ct);
            if (_transaction is { } transaction)
            {
                await CommitConfirmedAsync(transaction, ct);
            }
        }
        finally
        {
            await FinishAsync();
        }
    }

    private static Task CommitConfirmedAsync(NpgsqlTransaction transaction, CancellationToken ct) =>
        SynchronousReplication.ConfirmedAsync(transaction.Connection!, () => transaction.CommitAsync(ct));

    /// <summary>Runs the inline projections, then sends appends, snapshots and enqueued statements in one batch and
    /// clears them. Does not commit.</summary>
    private async Task<AppendResult> SendPendingAsync(CancellationToken ct)
    {
        if (store.Inline.Length > 0 && _streams.Count > 0)
        {
            var pending = PendingEvents();
            foreach (var projection in store.Inline)
            {
                projection.Apply(this, pending);
            }
        }

        if (_streams.Count == 0 && _snapshots.Count == 0 && _enqueued.Count == 0)
        {
            return AppendResult.Nothing;
        }

        // "append" when events go out; a batch of only snapshots and enqueued statements (the operation log) is a "batch".
        using var activity = Telemetry.StartDbActivity(_streams.Count > 0 ? "append" : "batch", store.Schema);
        if (activity is not null && _streams.Count > 0)
        {
            activity.SetTag(Telemetry.StreamIdsTag, _streams.ConvertAll(s => s.StreamId).ToArray());
        }

        _connection ??= await store.DataSource.OpenConnectionAsync(ct);
        await using var batch = new NpgsqlBatch(_connection, _transaction);
        if (_streams.Count > 0)
        {
            batch.BatchCommands.Add(AppendCommand());
        }

        if (_snapshots.Count > 0)
        {
            // One statement for every snapshot of the batch: a group commit writes hundreds.
            batch.BatchCommands.Add(Command(
                store.Statements.StoreSnapshot,
                new NpgsqlParameter<string[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, TypedValue = [.. _snapshots.Keys] },
                new NpgsqlParameter<long[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, TypedValue = [.. _snapshots.Values.Select(x => x.Version)] },
                new NpgsqlParameter<string[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, TypedValue = [.. _snapshots.Values.Select(x => x.Type)] },
                new NpgsqlParameter<string[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb, TypedValue = [.. _snapshots.Values.Select(x => x.Data)] }));
        }

        foreach (var command in _enqueued)
        {
            batch.BatchCommands.Add(command);
        }

        try
        {
            AppendResult result;
            await using (var reader = await batch.ExecuteReaderAsync(ct))
            {
                result = _streams.Count > 0 ? await ReadAppendResultAsync(reader, ct) : AppendResult.Nothing;
                while (await reader.NextResultAsync(ct))
                {
                }
            }

            _streams.Clear();
            _appended.Clear();
            _snapshots.Clear();
            _enqueued.Clear();
            Telemetry.EventsAppended.Add(result.Events.Count);
            activity?.SetTag(Telemetry.EventCountTag, result.Events.Count);
            return result;
        }
        catch (PostgresException e) when (e.SqlState == ConcurrencySqlState)
        {
            using var hint = JsonDocument.Parse(e.Hint ?? "{}");
            var streamId = hint.RootElement.GetProperty("stream").GetString()!;
            var expected = hint.RootElement.GetProperty("expected").GetInt64();
            var actual = hint.RootElement.GetProperty("actual").GetInt64();
            Telemetry.ConcurrencyConflicts.Add(1);
            Telemetry.RecordError(activity, e);
            Log.Conflict(store.Logger, streamId, expected, actual);
            throw new ConcurrencyException(streamId, expected, actual, e);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
        {
            Telemetry.RecordError(activity, e);
            throw new StreamLockTimeoutException(_streams.ConvertAll(s => s.StreamId), e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _finished = true;
        await FinishAsync();
    }

    private NpgsqlBatchCommand AppendCommand()
    {
        var eventCount = _streams.Sum(s => s.Events.Count);
        var ids = new string[_streams.Count];
        var aggregateTypes = new string?[_streams.Count];
        var expected = new long[_streams.Count];
        var counts = new int[_streams.Count];
        var types = new string[eventCount];
        var data = new string[eventCount];
        var metadataJson = new string[eventCount];
        var sharedMetadata = EventStore.SerializeMetadata(metadata);
        // Events of one command share one metadata object (a transfer writes two streams): serialised once.
        Dictionary<EventMetadata, string>? serialized = null;
        var e = 0;
        for (var s = 0; s < _streams.Count; s++)
        {
            var stream = _streams[s];
            ids[s] = stream.StreamId;
            aggregateTypes[s] = stream.AggregateType;
            expected[s] = stream.Expected;
            counts[s] = stream.Events.Count;
            for (var i = 0; i < stream.Events.Count; i++, e++)
            {
                var evt = stream.Events[i];
                types[e] = stream.TypeNames[i];
                data[e] = JsonSerializer.Serialize(evt, evt.GetType(), store.Json);
                if (stream.Metadata is null)
                {
                    metadataJson[e] = sharedMetadata;
                }
                else
                {
                    serialized ??= new Dictionary<EventMetadata, string>(ReferenceEqualityComparer.Instance);
                    var own = stream.Metadata[i];
                    if (!serialized.TryGetValue(own, out var json))
                    {
                        serialized[own] = json = EventStore.SerializeMetadata(own);
                    }

                    metadataJson[e] = json;
                }
            }
        }

        if (_streams.Count == 1 && eventCount == 1)
        {
            return Command(
                store.Statements.AppendOne,
                new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text, TypedValue = ids[0] },
                new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)aggregateTypes[0] ?? DBNull.Value },
                new NpgsqlParameter<long> { NpgsqlDbType = NpgsqlDbType.Bigint, TypedValue = expected[0] },
                new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text, TypedValue = types[0] },
                new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Jsonb, TypedValue = data[0] },
                new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Jsonb, TypedValue = metadataJson[0] });
        }

        return Command(
            _streams.Count == 1 ? store.Statements.AppendStream : store.Statements.Append,
            new NpgsqlParameter<string[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, TypedValue = ids },
            new NpgsqlParameter<string?[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, TypedValue = aggregateTypes },
            new NpgsqlParameter<long[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, TypedValue = expected },
            new NpgsqlParameter<int[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer, TypedValue = counts },
            new NpgsqlParameter<string[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, TypedValue = types },
            new NpgsqlParameter<string[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb, TypedValue = data },
            new NpgsqlParameter<string[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb, TypedValue = metadataJson });
    }

    private async Task<AppendResult> ReadAppendResultAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        await reader.ReadAsync(ct);
        // append_one answers scalars; the array functions one version per stream and one sequence per event.
        var single = reader.GetFieldType(0) == typeof(long);
        var versions = single ? [reader.GetInt64(0)] : reader.GetFieldValue<long[]>(0);
        var sequences = single ? [reader.GetInt64(1)] : reader.GetFieldValue<long[]>(1);
        var timestamp = reader.GetFieldValue<DateTimeOffset>(2);
        var streamVersions = new Dictionary<string, long>(_streams.Count, StringComparer.Ordinal);
        var events = new List<AppendedEvent>(sequences.Length);
        for (var s = 0; s < _streams.Count; s++)
        {
            var stream = _streams[s];
            streamVersions[stream.StreamId] = versions[s];
            var first = versions[s] - stream.Events.Count + 1;
            for (var i = 0; i < stream.Events.Count; i++)
            {
                events.Add(new AppendedEvent(sequences[events.Count], stream.StreamId, first + i, stream.TypeNames[i], stream.Events[i], timestamp));
            }
        }

        return new AppendResult(streamVersions, events);
    }

    private List<PendingEvent> PendingEvents()
    {
        var pending = new List<PendingEvent>();
        foreach (var stream in _streams)
        {
            for (var i = 0; i < stream.Events.Count; i++)
            {
                long? version = stream.Expected < 0 ? null : stream.Expected + i + 1;
                pending.Add(new PendingEvent(stream.StreamId, version, stream.TypeNames[i], stream.Events[i], stream.Metadata?[i] ?? metadata));
            }
        }

        return pending;
    }

    private void Begin()
    {
        EnsureOpen();
        _connection ??= store.DataSource.OpenConnection();
        _transaction ??= _connection.BeginTransaction();
    }

    private async Task BeginAsync(CancellationToken ct)
    {
        EnsureOpen();
        _connection ??= await store.DataSource.OpenConnectionAsync(ct);
        _transaction ??= await _connection.BeginTransactionAsync(ct);
    }

    private void EnsureOpen() =>
        ObjectDisposedException.ThrowIf(_finished, this);

    private async Task FinishAsync()
    {
        _finished = true;
        if (_transaction is not null)
        {
            await _transaction.DisposeAsync();
            _transaction = null;
        }

        if (_connection is not null)
        {
            await _connection.DisposeAsync();
            _connection = null;
        }
    }

    private static NpgsqlParameter<string[]> IdsParameter(string[] ids) =>
        new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, TypedValue = ids };

    private static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    private sealed record PendingStream(
        string StreamId, string? AggregateType, long Expected, IReadOnlyList<object> Events, string[] TypeNames, IReadOnlyList<EventMetadata>? Metadata);
}
