using System.Text.Json;
using Marten.Services;
using Npgsql;
using NpgsqlTypes;

namespace ComputeBank.EventStore;

internal sealed class EventSession(MartenEventStore store, EventMetadata metadata) : IEventSession
{
    private readonly List<PendingStream> _streams = [];
    // The streams appended to so far: a group commit appends to thousands, so the one-append-per-stream check is a lookup.
    private readonly HashSet<string> _appended = new(StringComparer.Ordinal);
    // Keyed by stream: the last snapshot stored for a stream in a session wins (one row per stream per statement).
    private readonly Dictionary<string, (long Version, string Type, string Data)> _snapshots = new(StringComparer.Ordinal);
    private readonly List<NpgsqlBatchCommand> _enqueued = [];
    private readonly List<Func<Task>> _afterCommit = [];
    private NpgsqlConnection? _connection;
    private NpgsqlTransaction? _transaction;
    // When this session's events happened: set by the first fetch, after its locks (else read just before the append).
    private DateTimeOffset? _timestamp;
    // Streams whose row this session's fetch locked FOR UPDATE, at the version it read: nobody can append to them
    // until this transaction ends, so an append's expected version is checked against this in memory.
    private readonly Dictionary<string, long> _rowLocked = new(StringComparer.Ordinal);
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
        AddFetchStatements(batch, ids, mode, knownVersions);
        Dictionary<string, FetchedStream> result;
        try
        {
            await using var reader = await batch.ExecuteReaderAsync(ct);
            result = await ReadFetchedAsync(reader, mode, ct);
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

    /// <summary>The fetch's statements, sent in one round-trip: the lock timeout and the row locks (in stream id order)
    /// when locking, the commit timestamp, then the streams, snapshots and events.</summary>
    private void AddFetchStatements(NpgsqlBatch batch, string[] ids, LockMode mode, IReadOnlyDictionary<string, long>? knownVersions)
    {
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

        // The commit timestamp of this session's events: taken once the locks are granted (see Sql.ClockTimestamp).
        batch.BatchCommands.Add(Command(Sql.ClockTimestamp));
        var known = knownVersions is null ? [] : ids.Where(knownVersions.ContainsKey).ToArray();
        batch.BatchCommands.Add(Command(
            store.Statements.FetchForWriting,
            IdsParameter(ids),
            IdsParameter(known),
            new NpgsqlParameter<long[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, TypedValue = [.. known.Select(id => knownVersions![id])] }));
    }

    /// <summary>Reads the fetch's results: the commit timestamp, then one row per event (or per stream without events
    /// after its snapshot), grouped by stream.</summary>
    private async Task<Dictionary<string, FetchedStream>> ReadFetchedAsync(NpgsqlDataReader reader, LockMode mode, CancellationToken ct)
    {
        while (reader.FieldCount != 16 || reader.GetName(0) != "id")
        {
            if (reader.GetName(0) == "clock_timestamp" && await reader.ReadAsync(ct))
            {
                _timestamp ??= reader.GetFieldValue<DateTimeOffset>(0);
            }

            await reader.NextResultAsync(ct);
        }

        var result = new Dictionary<string, FetchedStream>(StringComparer.Ordinal);
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
                if (mode == LockMode.Exclusive)
                {
                    _rowLocked[id] = current.Version;
                }
            }

            if (!reader.IsDBNull(6))
            {
                events!.Add(store.ReadEvent(reader, 6));
            }
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

    public void AfterCommit(Func<Task> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        EnsureOpen();
        _afterCommit.Add(action);
    }

    public async Task<AppendResult> SaveChangesAsync(CancellationToken ct)
    {
        EnsureOpen();
        try
        {
            // Without an explicit transaction yet, a batch without events runs in PostgreSQL's implicit transaction
            // (one Sync at the end): all of it commits or none of it, and the commit costs no extra round-trip.
            // Events go through a Marten session, which joins our transaction: then there must be one.
            if (_streams.Count > 0)
            {
                await BeginAsync(ct);
            }

            if (_transaction is null)
            {
                _connection ??= await store.DataSource.OpenConnectionAsync(ct);
                var connection = _connection;
                return await CommittedAsync(() => SynchronousReplication.ConfirmedAsync(connection, () => SendPendingAsync(ct)));
            }

            var result = await SendPendingAsync(ct);
            var transaction = _transaction;
            await CommittedAsync(() => CommitConfirmedAsync(transaction, ct));
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
                await CommittedAsync(() => CommitConfirmedAsync(transaction, ct));
            }
        }
        finally
        {
            await FinishAsync();
        }
    }

    /// <summary>Runs <paramref name="commit"/>, then the <see cref="AfterCommit"/> actions: after it returned, or after it
    /// threw <see cref="ReplicationUnconfirmedException"/> (committed on the primary alone), which is then rethrown.</summary>
    private async Task<T> CommittedAsync<T>(Func<Task<T>> commit)
    {
        T result;
        try
        {
            result = await commit();
        }
        catch (ReplicationUnconfirmedException)
        {
            await RunAfterCommitAsync();
            throw;
        }

        await RunAfterCommitAsync();
        return result;
    }

    private Task CommittedAsync(Func<Task> commit) => CommittedAsync(async () =>
    {
        await commit();
        return true;
    });

    private async Task RunAfterCommitAsync()
    {
        foreach (var action in _afterCommit)
        {
            await action();
        }

        _afterCommit.Clear();
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
        var result = AppendResult.Nothing;
        await using var batch = new NpgsqlBatch(_connection, _transaction);
        if (_streams.Count > 0)
        {
            result = await AppendThroughMartenAsync(activity, ct);
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
            await batch.ExecuteNonQueryAsync(ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
        {
            Telemetry.RecordError(activity, e);
            throw new StreamLockTimeoutException(_streams.ConvertAll(s => s.StreamId), e);
        }

        _streams.Clear();
        _appended.Clear();
        _snapshots.Clear();
        _enqueued.Clear();
        foreach (var (type, count) in result.Events.CountBy(e => e.TypeName))
        {
            Telemetry.EventsAppended.Add(count, new KeyValuePair<string, object?>(Telemetry.EventTypeTag, type));
        }

        activity?.SetTag(Telemetry.EventCountTag, result.Events.Count);
        return result;
    }

    /// <summary>
    /// Appends every pending stream through one Marten session in this session's transaction (Marten sends its batch
    /// but does not commit): one <see cref="AppendStreamsOperation"/>, which writes Marten's stream and event rows for
    /// all streams at once, each event with its metadata and the session's timestamp, links them into their hash
    /// chains and answers their sequence numbers. The versions were checked under our locks; the function checks them
    /// again against the locked rows and refuses (<see cref="ConcurrencyException"/>) before any sequence is taken.
    /// </summary>
    private async Task<AppendResult> AppendThroughMartenAsync(System.Diagnostics.Activity? activity, CancellationToken ct)
    {
        var current = await CheckedVersionsAsync(activity, ct);
        var operation = new AppendStreamsOperation(store.Schema, AppendArguments(current));
        await using (var session = store.Marten.LightweightSession(SessionOptions.ForTransaction(_transaction!)))
        {
            session.QueueOperation(operation);
            try
            {
                await session.SaveChangesAsync(ct);
            }
            catch (Exception e) when (MartenEvents.Postgres(e) is { SqlState: AppendStreamsOperation.ConflictState } refused)
            {
                Telemetry.ConcurrencyConflicts.Add(1);
                Telemetry.RecordError(activity, e);
                var (streamId, expected, actual) = AppendStreamsOperation.Conflict(refused);
                expected = _streams.Find(x => x.StreamId == streamId)?.Expected ?? expected;
                Log.Conflict(store.Logger, streamId, expected, actual);
                throw new ConcurrencyException(streamId, expected, actual, e);
            }
            catch (Exception e) when (MartenEvents.Postgres(e) is { SqlState: PostgresErrorCodes.LockNotAvailable } timeout)
            {
                Telemetry.RecordError(activity, e);
                throw new StreamLockTimeoutException(_streams.ConvertAll(x => x.StreamId), timeout);
            }
        }

        var streamVersions = new Dictionary<string, long>(_streams.Count, StringComparer.Ordinal);
        var appended = new List<AppendedEvent>(operation.Sequences.Length);
        foreach (var stream in _streams)
        {
            var version = current[stream.StreamId];
            for (var i = 0; i < stream.Events.Count; i++)
            {
                appended.Add(new AppendedEvent(operation.Sequences[appended.Count], stream.StreamId, ++version, stream.TypeNames[i], stream.Events[i], _timestamp!.Value));
            }

            streamVersions[stream.StreamId] = version;
        }

        return new AppendResult(streamVersions, appended);
    }

    /// <summary>The arguments of <c>append_streams</c>: the streams with the versions found under the locks, and their
    /// events serialized as Marten would (its type name and .NET type, its JSON, its metadata columns).</summary>
    private object?[] AppendArguments(Dictionary<string, long> current)
    {
        var count = _streams.Sum(s => s.Events.Count);
        var (ids, types, dotnetTypes, data) = (new Guid[count], new string[count], new string[count], new string[count]);
        var (correlations, causations, users, headers) = (new string?[count], new string?[count], new string?[count], new string?[count]);
        var e = 0;
        foreach (var stream in _streams)
        {
            for (var i = 0; i < stream.Events.Count; i++, e++)
            {
                var payload = stream.Events[i];
                var meta = stream.Metadata?[i] ?? metadata;
                ids[e] = Guid.CreateVersion7();
                types[e] = stream.TypeNames[i];
                dotnetTypes[e] = MartenEvents.DotnetTypeName(payload.GetType());
                data[e] = JsonSerializer.Serialize(payload, payload.GetType(), store.Json);
                (correlations[e], causations[e], users[e]) = (meta.CorrelationId, meta.CausationId, meta.User);
                headers[e] = meta.Headers is { } h ? JsonSerializer.Serialize(h) : null;
            }
        }

        return
        [
            _streams.ConvertAll(s => s.StreamId).ToArray(), _streams.ConvertAll(s => s.AggregateType).ToArray(),
            _streams.ConvertAll(s => current[s.StreamId]).ToArray(), _streams.ConvertAll(s => s.Events.Count).ToArray(),
            ids, types, dotnetTypes, data, correlations, causations, users, headers, _timestamp!.Value,
        ];
    }

    /// <summary>
    /// The version every pending stream is at, checked against its expected version before the append is sent: the
    /// versions <c>append_streams</c> writes come from here, and a conflict is refused before any sequence number is
    /// taken. Streams this session's fetch locked are checked in memory. A stream expected at an exact version (above
    /// 0) is sent at that version: <c>append_streams</c> locks its row and compares before it takes a sequence number,
    /// so reading it first would only lock and read the same row twice (a group commit's whole second round trip). The
    /// others (any version, or no stream yet: there may be no row to lock) are locked here, in id order (an advisory
    /// lock per stream id, then the rows FOR UPDATE), and read after the locks in a statement of their own. Also takes
    /// the commit timestamp when no fetch did.
    /// </summary>
    private async Task<Dictionary<string, long>> CheckedVersionsAsync(System.Diagnostics.Activity? activity, CancellationToken ct)
    {
        var versions = new Dictionary<string, long>(_streams.Count, StringComparer.Ordinal);
        var unlocked = new List<string>();
        foreach (var stream in _streams)
        {
            if (_rowLocked.TryGetValue(stream.StreamId, out var version) && version > 0)
            {
                versions[stream.StreamId] = version;
            }
            else if (stream.Expected > 0)
            {
                versions[stream.StreamId] = stream.Expected;
            }
            else
            {
                unlocked.Add(stream.StreamId);
            }
        }

        await using var batch = new NpgsqlBatch(_connection, _transaction);
        if (unlocked.Count > 0)
        {
            var ids = IdsParameter([.. unlocked.Order(StringComparer.Ordinal)]);
            batch.BatchCommands.Add(Command(store.Statements.LockForAnyVersion, ids));
            batch.BatchCommands.Add(Command(store.Statements.LockedVersions, IdsParameter((string[])ids.TypedValue!)));
        }

        if (_timestamp is null)
        {
            batch.BatchCommands.Add(Command(Sql.ClockTimestamp));
        }

        if (batch.BatchCommands.Count > 0)
        {
            await using var reader = await batch.ExecuteReaderAsync(ct);
            do
            {
                while (reader.FieldCount == 2 && await reader.ReadAsync(ct))
                {
                    versions[reader.GetString(0)] = reader.GetInt64(1);
                }

                if (reader.FieldCount == 1 && reader.GetName(0) == "clock_timestamp" && await reader.ReadAsync(ct))
                {
                    _timestamp = reader.GetFieldValue<DateTimeOffset>(0);
                }
            }
            while (await reader.NextResultAsync(ct));
        }

        foreach (var stream in _streams)
        {
            var actual = versions[stream.StreamId];
            if ((stream.Expected == 0 && actual > 0) || (stream.Expected > 0 && stream.Expected != actual))
            {
                Telemetry.ConcurrencyConflicts.Add(1);
                activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, "concurrency conflict");
                Log.Conflict(store.Logger, stream.StreamId, stream.Expected, actual);
                throw new ConcurrencyException(stream.StreamId, stream.Expected, actual);
            }

            if (stream.Expected < 0)
            {
                continue;
            }

            versions[stream.StreamId] = stream.Expected;
        }

        return versions;
    }

    public async ValueTask DisposeAsync()
    {
        _finished = true;
        await FinishAsync();
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
