using System.Text.Json.Nodes;
using ComputeBank.EventStore;
using Npgsql;
using NpgsqlTypes;

namespace ComputeBank.Messaging.Durable;

/// <summary>
/// The durable command queue in PostgreSQL (<c>command_queue</c>, <c>dead_letters</c>): submitting, scheduling inside
/// a command's transaction, claiming due commands with <c>FOR UPDATE SKIP LOCKED</c> under a lease, recording outcomes,
/// and the dead-letter operations. A claim moves <c>available_at</c> to the end of the lease, so a command whose node
/// died becomes due again by itself when the lease runs out (the recovery sweep is the dequeue's own predicate).
/// </summary>
public sealed class DurableQueue(NpgsqlDataSource dataSource, string schema)
{
    private readonly string _submit =
        $"WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::timestamptz[]) " +
        "WITH ORDINALITY AS t(operation_id, command_type, fingerprint, body, user_id, available_at, ord)), " +
        $"inserted AS (INSERT INTO {schema}.command_queue (operation_id, command_type, fingerprint, body, user_id, available_at) " +
        "SELECT operation_id, command_type, fingerprint, body, user_id, available_at FROM input ORDER BY ord " +
        "ON CONFLICT (operation_id) DO NOTHING RETURNING operation_id) " +
        $"SELECT i.operation_id, ins.operation_id IS NOT NULL, q.fingerprint FROM input i " +
        $"LEFT JOIN inserted ins ON ins.operation_id = i.operation_id LEFT JOIN {schema}.command_queue q ON q.operation_id = i.operation_id ORDER BY i.ord";

    private readonly string _schedule =
        $"INSERT INTO {schema}.command_queue (operation_id, command_type, fingerprint, body, user_id, available_at) " +
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::timestamptz[]) ON CONFLICT (operation_id) DO NOTHING";

    private readonly string _cancel =
        $"DELETE FROM {schema}.command_queue WHERE operation_id = ANY($1) AND status = 'pending' AND lease_token IS NULL";

    private readonly string _claim =
        $"UPDATE {schema}.command_queue q SET attempts = q.attempts + 1, available_at = $2, locked_until = $2, owner = $3, lease_token = $4 " +
        $"FROM (SELECT id FROM {schema}.command_queue WHERE status = 'pending' AND available_at <= $1 " +
        "ORDER BY available_at, id LIMIT $5 FOR UPDATE SKIP LOCKED) picked WHERE q.id = picked.id " +
        "RETURNING q.id, q.operation_id, q.command_type, q.fingerprint, q.body::text, q.user_id, q.attempts";

    private readonly string _complete =
        "WITH c AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::json[], $5::text[], $6::timestamptz[]) " +
        "AS t(id, status, http_status, response, error, retry_at)), " +
        $"updated AS (UPDATE {schema}.command_queue q SET status = c.status, http_status = c.http_status, response = c.response, " +
        "last_error = c.error, available_at = coalesce(c.retry_at, q.available_at), locked_until = NULL, owner = NULL, lease_token = NULL, " +
        "finished_at = CASE WHEN c.status = 'pending' THEN NULL ELSE $8 END " +
        "FROM c WHERE q.id = c.id AND q.lease_token = $7 " +
        "RETURNING q.operation_id, q.command_type, q.body, q.attempts, q.status, c.error, c.response), " +
        $"dead AS (INSERT INTO {schema}.dead_letters (operation_id, command_type, body, attempts, error, problem, failed_at) " +
        "SELECT operation_id, command_type, body, attempts, coalesce(error, 'unknown error'), response, $8 FROM updated WHERE status = 'dead' RETURNING 1) " +
        "SELECT (SELECT count(*) FROM updated), (SELECT count(*) FROM dead)";

    private readonly string _find =
        "SELECT q.status, q.command_type, q.http_status, q.response::text, q.attempts, q.submitted_at, q.finished_at, q.last_error, " +
        $"(SELECT max(d.id) FROM {schema}.dead_letters d WHERE d.operation_id = $1 AND d.replayed_at IS NULL), " +
        "o.status, o.response::text, o.command_type, o.recorded_at, q.body::text, q.user_id " +
        $"FROM (SELECT 1) AS one LEFT JOIN {schema}.command_queue q ON q.operation_id = $1 " +
        $"LEFT JOIN {schema}.operations o ON o.operation_id = $1";

    private readonly string _nextDue = $"SELECT min(available_at) FROM {schema}.command_queue WHERE status = 'pending'";

    private readonly string _listDead =
        "SELECT id, operation_id, command_type, body::text, attempts, error, problem::text, failed_at, replayed_at " +
        $"FROM {schema}.dead_letters WHERE id > $1 AND ($3 OR replayed_at IS NULL) ORDER BY id LIMIT $2";

    private readonly string _replay =
        $"WITH letter AS (UPDATE {schema}.dead_letters SET replayed_at = $2 WHERE id = $1 AND replayed_at IS NULL RETURNING operation_id, command_type, body) " +
        $"INSERT INTO {schema}.command_queue AS q (operation_id, command_type, fingerprint, body, available_at) " +
        "SELECT operation_id, command_type, '', body, $2 FROM letter " +
        "ON CONFLICT (operation_id) DO UPDATE SET status = 'pending', attempts = 0, available_at = $2, locked_until = NULL, owner = NULL, " +
        "lease_token = NULL, http_status = NULL, response = NULL, finished_at = NULL, last_error = 'replayed from dead letter ' || $1 " +
        "RETURNING q.operation_id";

    private readonly string _letterExists = $"SELECT replayed_at IS NOT NULL FROM {schema}.dead_letters WHERE id = $1";

    private readonly string _purge =
        $"DELETE FROM {schema}.command_queue WHERE status IN ('succeeded', 'failed') AND finished_at < $1";

    private readonly string _notify = "SELECT pg_notify($1, '')";

    /// <summary>The LISTEN/NOTIFY channel workers wait on.</summary>
    public string Channel { get; } = schema + "_command_queue";

    /// <summary>Stores submissions (one round-trip, one transaction) and wakes idle workers. Answers per submission, in order.</summary>
    public async Task<IReadOnlyList<SubmissionOutcome>> SubmitAsync(IReadOnlyList<QueueSubmission> submissions, CancellationToken cancellationToken)
    {
        // The same operation id twice in one call: the first is stored; the others answer as its repeats.
        var first = new Dictionary<string, QueueSubmission>(StringComparer.Ordinal);
        foreach (var submission in submissions)
        {
            first.TryAdd(submission.OperationId, submission);
        }

        var unique = first.Values.ToList();
        var stored = new Dictionary<string, (bool Queued, string? Fingerprint)>(StringComparer.Ordinal);
        if (unique.Count > 0)
        {
            // One implicit transaction. A 202 is an acknowledgement too: the batch writes WAL even when every id was
            // queued already, so its commit waits for the synchronous standby, and a cancelled wait is not answered 202.
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var batch = new NpgsqlBatch(connection);
            var insert = new NpgsqlBatchCommand(_submit);
            AddRows(insert, unique);
            batch.BatchCommands.Add(insert);
            batch.BatchCommands.Add(Notify(Channel));
            batch.BatchCommands.Add(new NpgsqlBatchCommand(SynchronousReplication.WaitForStandbyStatement));
            await SynchronousReplication.ConfirmedAsync(connection, async () =>
            {
                await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    stored[reader.GetString(0)] = (reader.GetBoolean(1), reader.IsDBNull(2) ? null : reader.GetString(2));
                }
            });
        }

        var outcomes = new List<SubmissionOutcome>(submissions.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var submission in submissions)
        {
            var (queued, fingerprint) = stored[submission.OperationId];
            if (!seen.Add(submission.OperationId))
            {
                fingerprint = first[submission.OperationId].Fingerprint;
                queued = false;
            }

            // No fingerprint to compare: stored by another call at the same moment, or by a replay or the scheduler.
            outcomes.Add(queued ? SubmissionOutcome.Queued
                : string.IsNullOrEmpty(fingerprint) || string.Equals(fingerprint, submission.Fingerprint, StringComparison.Ordinal) ? SubmissionOutcome.AlreadyQueued
                : SubmissionOutcome.Conflict);
        }

        return outcomes;
    }

    /// <summary>A statement that queues commands inside another transaction (a scheduled message written with the events
    /// that call for it). An operation id already queued is left as it is.</summary>
    public NpgsqlBatchCommand ScheduleStatement(IReadOnlyList<QueueSubmission> submissions)
    {
        var command = new NpgsqlBatchCommand(_schedule);
        AddRows(command, submissions);
        return command;
    }

    /// <summary>A statement that drops scheduled commands that have not started (the hold they would expire was captured).</summary>
    public NpgsqlBatchCommand CancelStatement(IReadOnlyList<string> operationIds)
    {
        var command = new NpgsqlBatchCommand(_cancel);
        command.Parameters.Add(Array(operationIds, NpgsqlDbType.Text));
        return command;
    }

    /// <summary>A statement that wakes idle workers when its transaction commits.</summary>
    public NpgsqlBatchCommand NotifyStatement() => Notify(Channel);

    /// <summary>Claims up to <paramref name="limit"/> due commands for <paramref name="owner"/> until now + <paramref name="lease"/>.</summary>
    public async Task<IReadOnlyList<QueuedCommand>> ClaimAsync(string owner, int limit, TimeSpan lease, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var token = Guid.NewGuid();
        await using var command = dataSource.CreateCommand(_claim);
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = now.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = (now + lease).UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = owner });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = token });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        var claimed = new List<QueuedCommand>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            claimed.Add(new QueuedCommand(
                reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                (JsonObject)JsonNode.Parse(reader.GetString(4))!, reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetInt32(6), token));
        }

        claimed.Sort((a, b) => a.Id.CompareTo(b.Id));
        return claimed;
    }

    /// <summary>Records outcomes of claimed commands (only while the claim's lease is still theirs); dead ones are also
    /// copied to the dead letters. Returns how many rows were updated and how many went to the dead letters.</summary>
    public async Task<(long Updated, long DeadLettered)> CompleteAsync(
        Guid leaseToken, IReadOnlyList<QueueCompletion> completions, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (completions.Count == 0)
        {
            return (0, 0);
        }

        await using var command = dataSource.CreateCommand(_complete);
        command.Parameters.Add(new NpgsqlParameter { Value = completions.Select(c => c.Id).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(Array(completions.Select(c => c.Status), NpgsqlDbType.Text));
        command.Parameters.Add(new NpgsqlParameter { Value = completions.Select(c => c.HttpStatus).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = completions.Select(c => c.Response?.ToJsonString()).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Json });
        command.Parameters.Add(new NpgsqlParameter { Value = completions.Select(c => c.Error).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = completions.Select(c => c.RetryAt?.UtcDateTime).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = leaseToken });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = now.UtcDateTime });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>Where an operation stands: from its queue row, else from the operation log; null when neither knows it.</summary>
    public async Task<OperationStatus?> FindAsync(string operationId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(_find);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = operationId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        if (!reader.IsDBNull(0))
        {
            var queued = reader.GetString(0);
            var httpStatus = reader.IsDBNull(2) ? (int?)null : reader.GetInt32(2);
            var response = reader.IsDBNull(3) ? null : (JsonObject?)JsonNode.Parse(reader.GetString(3));
            if (queued == "pending" && !reader.IsDBNull(9))
            {
                // Committed by the bus under a lease that had run out (its row was not updated): the log knows.
                httpStatus = reader.GetInt32(9);
                response = (JsonObject)JsonNode.Parse(reader.GetString(10))!;
                queued = httpStatus is >= 200 and < 300 ? "succeeded" : "failed";
            }

            return new OperationStatus(
                operationId,
                queued == "dead" ? "failed" : queued,
                reader.GetString(1), httpStatus, response, reader.GetInt32(4),
                reader.GetFieldValue<DateTimeOffset>(5), reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6),
                reader.IsDBNull(7) ? null : reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetInt64(8))
            {
                Body = (JsonObject?)JsonNode.Parse(reader.GetString(13)),
                UserId = reader.IsDBNull(14) ? null : reader.GetString(14),
            };
        }

        if (!reader.IsDBNull(9))
        {
            var status = reader.GetInt32(9);
            return new OperationStatus(
                operationId, status is >= 200 and < 300 ? "succeeded" : "failed", reader.GetString(11), status,
                (JsonObject)JsonNode.Parse(reader.GetString(10))!, 0, null, reader.GetFieldValue<DateTimeOffset>(12), null, null);
        }

        return null;
    }

    /// <summary>The earliest time a pending command becomes due (null when the queue has none).</summary>
    public async Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(_nextDue);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is DateTime due ? new DateTimeOffset(DateTime.SpecifyKind(due, DateTimeKind.Utc)) : null;
    }

    /// <summary>A page of dead letters after <paramref name="afterId"/>, oldest first; replayed ones only when asked.</summary>
    public async Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(long afterId, int limit, bool includeReplayed, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(_listDead);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = includeReplayed });
        var letters = new List<DeadLetter>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            letters.Add(new DeadLetter(
                reader.GetInt64(0), reader.GetString(1), reader.GetString(2), (JsonObject)JsonNode.Parse(reader.GetString(3))!, reader.GetInt32(4),
                reader.GetString(5), reader.IsDBNull(6) ? null : (JsonObject?)JsonNode.Parse(reader.GetString(6)),
                reader.GetFieldValue<DateTimeOffset>(7), reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8)));
        }

        return letters;
    }

    /// <summary>Puts a dead letter's command back on the queue with fresh attempts (one transaction), and wakes a worker.</summary>
    public async Task<(ReplayOutcome Outcome, string? OperationId)> ReplayAsync(long deadLetterId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var batch = dataSource.CreateBatch();
        var replay = new NpgsqlBatchCommand(_replay);
        replay.Parameters.Add(new NpgsqlParameter<long> { TypedValue = deadLetterId });
        replay.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = now.UtcDateTime });
        batch.BatchCommands.Add(replay);
        batch.BatchCommands.Add(Notify(Channel));
        string? operationId = null;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                operationId = reader.GetString(0);
            }
        }

        if (operationId is not null)
        {
            return (ReplayOutcome.Replayed, operationId);
        }

        await using var exists = dataSource.CreateCommand(_letterExists);
        exists.Parameters.Add(new NpgsqlParameter<long> { TypedValue = deadLetterId });
        return await exists.ExecuteScalarAsync(cancellationToken) is true ? (ReplayOutcome.AlreadyReplayed, null) : (ReplayOutcome.NotFound, null);
    }

    /// <summary>Deletes finished commands older than <paramref name="before"/>; the operation log still answers for them.</summary>
    public async Task<int> PurgeFinishedAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(_purge);
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = before.UtcDateTime });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private NpgsqlBatchCommand Notify(string channel)
    {
        var command = new NpgsqlBatchCommand(_notify);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel });
        return command;
    }

    private static void AddRows(NpgsqlBatchCommand command, IReadOnlyList<QueueSubmission> rows)
    {
        command.Parameters.Add(Array(rows.Select(r => r.OperationId), NpgsqlDbType.Text));
        command.Parameters.Add(Array(rows.Select(r => r.CommandType), NpgsqlDbType.Text));
        command.Parameters.Add(Array(rows.Select(r => r.Fingerprint), NpgsqlDbType.Text));
        command.Parameters.Add(Array(rows.Select(r => r.Body.ToJsonString()), NpgsqlDbType.Jsonb));
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.UserId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.AvailableAt.UtcDateTime).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
    }

    private static NpgsqlParameter Array(IEnumerable<string> values, NpgsqlDbType type) =>
        new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | type };
}

/// <summary>The outcome of one claimed command: <c>succeeded</c>/<c>failed</c> (final, with the reply), <c>pending</c>
/// (retry at <paramref name="RetryAt"/>) or <c>dead</c> (to the dead letters with <paramref name="Error"/>).</summary>
public sealed record QueueCompletion(long Id, string Status, int? HttpStatus, JsonObject? Response, string? Error, DateTimeOffset? RetryAt);
