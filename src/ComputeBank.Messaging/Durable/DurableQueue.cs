using System.Text.Json.Nodes;
using ComputeBank.EventStore;
using Npgsql;
using NpgsqlTypes;

namespace ComputeBank.Messaging.Durable;

/// <summary>
/// The record of asynchronous commands in PostgreSQL (<c>command_queue</c>, <c>dead_letters</c>). A row keeps one
/// operation: its id (taken once), fingerprint, body, and outcome for GET /operations. Running it is a message broker's
/// job: whoever queues a row also writes the message that runs it, in the same transaction, through the
/// <c>enrol</c> statements it passes in (a Wolverine envelope named by the row's <c>envelope_id</c>). What the runs
/// decide is recorded here: by the bus in the commit that decided the command, or by the runner for a refusal, a failed
/// attempt and a dead letter.
/// </summary>
public sealed class DurableQueue(NpgsqlDataSource dataSource, string schema)
{
    private readonly string _submit =
        $"WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::timestamptz[]) " +
        "WITH ORDINALITY AS t(operation_id, command_type, fingerprint, body, user_id, available_at, ord)), " +
        $"inserted AS (INSERT INTO {schema}.command_queue (operation_id, command_type, fingerprint, body, user_id, available_at, envelope_id) " +
        "SELECT operation_id, command_type, fingerprint, body, user_id, available_at, gen_random_uuid() FROM input ORDER BY ord " +
        "ON CONFLICT (operation_id) DO NOTHING RETURNING operation_id, envelope_id) " +
        "SELECT i.operation_id, ins.envelope_id, q.fingerprint FROM input i " +
        $"LEFT JOIN inserted ins ON ins.operation_id = i.operation_id LEFT JOIN {schema}.command_queue q ON q.operation_id = i.operation_id ORDER BY i.ord";

    private readonly string _adopt =
        $"UPDATE {schema}.command_queue q SET envelope_id = gen_random_uuid() " +
        $"FROM (SELECT id FROM {schema}.command_queue WHERE status = 'pending' AND envelope_id IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) picked " +
        "WHERE q.id = picked.id RETURNING q.envelope_id, q.operation_id, q.command_type, q.fingerprint, q.body::text, q.user_id";

    private readonly string _attempted =
        $"UPDATE {schema}.command_queue SET attempts = $2, last_error = $3 WHERE operation_id = $1 AND status = 'pending'";

    private readonly string _refused =
        $"UPDATE {schema}.command_queue SET status = 'failed', attempts = $2, http_status = $3, response = $4, last_error = NULL, finished_at = now() " +
        "WHERE operation_id = $1 AND status = 'pending'";

    private readonly string _deadLetter =
        $"WITH ended AS (INSERT INTO {schema}.command_queue AS q (operation_id, command_type, fingerprint, body, available_at, status, attempts, " +
        "http_status, response, last_error, finished_at) VALUES ($1, $6, '', $7, now(), 'dead', $2, $3, $4, $5, now()) " +
        "ON CONFLICT (operation_id) DO UPDATE SET status = 'dead', attempts = $2, http_status = $3, response = $4, last_error = $5, finished_at = now() " +
        "WHERE q.status = 'pending' RETURNING q.operation_id, q.command_type, q.body) " +
        $"INSERT INTO {schema}.dead_letters (operation_id, command_type, body, attempts, error, problem) " +
        "SELECT operation_id, command_type, body, $2, $5, $4 FROM ended RETURNING id";

    private readonly string _find =
        "SELECT q.status, q.command_type, q.http_status, q.response::text, q.attempts, q.submitted_at, q.finished_at, q.last_error, " +
        $"(SELECT max(d.id) FROM {schema}.dead_letters d WHERE d.operation_id = $1 AND d.replayed_at IS NULL), " +
        "o.status, o.response::text, o.command_type, o.recorded_at, q.body::text, q.user_id " +
        $"FROM (SELECT 1) AS one LEFT JOIN {schema}.command_queue q ON q.operation_id = $1 " +
        $"LEFT JOIN {schema}.operations o ON o.operation_id = $1";

    private readonly string _listDead =
        "SELECT id, operation_id, command_type, body::text, attempts, error, problem::text, failed_at, replayed_at, discarded_at, discard_reason " +
        $"FROM {schema}.dead_letters WHERE id > $1 AND ($3 OR (replayed_at IS NULL AND discarded_at IS NULL)) ORDER BY id LIMIT $2";

    private readonly string _replay =
        $"WITH letter AS (UPDATE {schema}.dead_letters SET replayed_at = $2 WHERE id = $1 AND replayed_at IS NULL AND discarded_at IS NULL RETURNING operation_id, command_type, body) " +
        $"INSERT INTO {schema}.command_queue AS q (operation_id, command_type, fingerprint, body, available_at, envelope_id) " +
        "SELECT operation_id, command_type, '', body, $2, gen_random_uuid() FROM letter " +
        "ON CONFLICT (operation_id) DO UPDATE SET status = 'pending', attempts = 0, available_at = $2, envelope_id = excluded.envelope_id, " +
        "http_status = NULL, response = NULL, finished_at = NULL, last_error = 'replayed from dead letter ' || $1 " +
        "RETURNING q.envelope_id, q.operation_id, q.command_type, q.fingerprint, q.body::text, q.user_id";

    private readonly string _letterState = $"SELECT replayed_at IS NOT NULL, discarded_at IS NOT NULL FROM {schema}.dead_letters WHERE id = $1";

    private readonly string _discard =
        $"UPDATE {schema}.dead_letters SET discarded_at = $2, discard_reason = $3 WHERE id = $1 AND replayed_at IS NULL AND discarded_at IS NULL RETURNING id";

    private readonly string _purge =
        $"DELETE FROM {schema}.command_queue WHERE status IN ('succeeded', 'failed') AND finished_at < $1";

    /// <summary>Stores submissions and, for those newly queued, the statements <paramref name="enrol"/> gives (the
    /// messages that run them), in one transaction. Answers per submission, in order, and the commands it queued.</summary>
    /// <exception cref="ReplicationUnconfirmedException">The transaction committed on the primary alone: the messages
    /// <paramref name="enrol"/> gave exist there and should run anyway.</exception>
    public async Task<(IReadOnlyList<SubmissionOutcome> Outcomes, IReadOnlyList<QueuedCommand> Queued)> SubmitAsync(
        IReadOnlyList<QueueSubmission> submissions, Enrolment enrol, CancellationToken cancellationToken)
    {
        // The same operation id twice in one call: the first is stored; the others answer as its repeats.
        var first = new Dictionary<string, QueueSubmission>(StringComparer.Ordinal);
        foreach (var submission in submissions)
        {
            first.TryAdd(submission.OperationId, submission);
        }

        var unique = first.Values.ToList();
        var stored = new Dictionary<string, (Guid? Envelope, string? Fingerprint)>(StringComparer.Ordinal);
        var queued = new List<QueuedCommand>();
        if (unique.Count > 0)
        {
            var insert = new NpgsqlBatchCommand(_submit);
            AddRows(insert, unique);
            queued = await EnrolAsync(insert, reader =>
            {
                var operationId = reader.GetString(0);
                var envelope = reader.IsDBNull(1) ? (Guid?)null : reader.GetGuid(1);
                stored[operationId] = (envelope, reader.IsDBNull(2) ? null : reader.GetString(2));
                var submission = first[operationId];
                return envelope is { } id
                    ? new QueuedCommand(id, operationId, submission.CommandType, submission.Fingerprint, submission.Body, submission.UserId)
                    : null;
            }, enrol, cancellationToken);
        }

        var outcomes = new List<SubmissionOutcome>(submissions.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var submission in submissions)
        {
            var (envelope, fingerprint) = stored[submission.OperationId];
            var isNew = envelope is not null && seen.Add(submission.OperationId);
            if (!isNew && envelope is not null)
            {
                fingerprint = first[submission.OperationId].Fingerprint;
            }

            // No fingerprint to compare: stored by another call at the same moment, or by a replay.
            outcomes.Add(isNew ? SubmissionOutcome.Queued
                : string.IsNullOrEmpty(fingerprint) || string.Equals(fingerprint, submission.Fingerprint, StringComparison.Ordinal) ? SubmissionOutcome.AlreadyQueued
                : SubmissionOutcome.Conflict);
        }

        return (outcomes, queued);
    }

    /// <summary>Gives pending rows that have no message yet (queued by an earlier version, which ran its own worker) a
    /// message through <paramref name="enrol"/>, up to <paramref name="limit"/> per call; rows another node is adopting
    /// at the same moment are skipped. Returns the commands adopted.</summary>
    public async Task<IReadOnlyList<QueuedCommand>> AdoptAsync(int limit, Enrolment enrol, CancellationToken cancellationToken)
    {
        var adopt = new NpgsqlBatchCommand(_adopt);
        adopt.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        return await EnrolAsync(adopt, Read, enrol, cancellationToken);
    }

    /// <summary>Puts a dead letter's command back on the queue with fresh attempts and a new message (one transaction).</summary>
    public async Task<(ReplayOutcome Outcome, QueuedCommand? Command)> ReplayAsync(
        long deadLetterId, DateTimeOffset now, Enrolment enrol, CancellationToken cancellationToken)
    {
        var replay = new NpgsqlBatchCommand(_replay);
        replay.Parameters.Add(new NpgsqlParameter<long> { TypedValue = deadLetterId });
        replay.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = now.UtcDateTime });
        var replayed = await EnrolAsync(replay, Read, enrol, cancellationToken);
        if (replayed.Count > 0)
        {
            return (ReplayOutcome.Replayed, replayed[0]);
        }

        return (await LetterStateAsync(deadLetterId, cancellationToken), null);
    }

    /// <summary>Marks a dead letter discarded (when and why): it is not listed by default and cannot be replayed; its
    /// command stays failed. Null when it was discarded now, else why it could not be (unknown, replayed, discarded).</summary>
    public async Task<ReplayOutcome?> DiscardAsync(long deadLetterId, DateTimeOffset now, string reason, CancellationToken cancellationToken)
    {
        await using var discard = dataSource.CreateCommand(_discard);
        discard.Parameters.Add(new NpgsqlParameter<long> { TypedValue = deadLetterId });
        discard.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = now.UtcDateTime });
        discard.Parameters.Add(new NpgsqlParameter<string> { TypedValue = reason });
        return await discard.ExecuteScalarAsync(cancellationToken) is not null ? null : await LetterStateAsync(deadLetterId, cancellationToken);
    }

    /// <summary>Why a letter could not be replayed or discarded: unknown, replayed already, or discarded.</summary>
    private async Task<ReplayOutcome> LetterStateAsync(long deadLetterId, CancellationToken cancellationToken)
    {
        await using var state = dataSource.CreateCommand(_letterState);
        state.Parameters.Add(new NpgsqlParameter<long> { TypedValue = deadLetterId });
        await using var reader = await state.ExecuteReaderAsync(cancellationToken);
        return !await reader.ReadAsync(cancellationToken) ? ReplayOutcome.NotFound
            : reader.GetBoolean(0) ? ReplayOutcome.AlreadyReplayed
            : ReplayOutcome.Discarded;
    }

    /// <summary>Records a failed attempt of a command that will be tried again.</summary>
    public async Task RecordAttemptAsync(string operationId, int attempts, string error, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(_attempted);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = operationId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = attempts });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = error });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Records the final answer of a command that never reached the bus (its queued body no longer reads as a
    /// valid command); answers the bus gave are recorded in the bus's commit.</summary>
    public async Task RecordRefusalAsync(string operationId, int attempts, CommandReply reply, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(_refused);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = operationId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = attempts });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = reply.Status });
        command.Parameters.Add(new NpgsqlParameter { Value = reply.JsonText, NpgsqlDbType = NpgsqlDbType.Json });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Ends a command that failed more often than the error policy allows: its row becomes <c>dead</c> (a
    /// command that had none, a hold's expiry, gets one, so GET /operations and a replay find it) and a dead letter
    /// keeps it for an operator (one statement). Returns the dead letter's id, or null when the row was not pending
    /// any more (another run finished it).</summary>
    public async Task<long?> DeadLetterAsync(
        string operationId, string commandType, JsonObject body, int attempts, CommandReply reply, string error, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(_deadLetter);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = operationId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = attempts });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = reply.Status });
        command.Parameters.Add(new NpgsqlParameter { Value = reply.JsonText, NpgsqlDbType = NpgsqlDbType.Json });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = error });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = commandType });
        command.Parameters.Add(new NpgsqlParameter { Value = body.ToJsonString(), NpgsqlDbType = NpgsqlDbType.Jsonb });
        return await command.ExecuteScalarAsync(cancellationToken) as long?;
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
                // Decided by a commit that did not carry the row's update (the synchronous path, or an earlier run of
                // a replayed letter): the log knows.
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

    /// <summary>A page of dead letters after <paramref name="afterId"/>, oldest first; replayed and discarded ones only when asked.</summary>
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
                reader.GetFieldValue<DateTimeOffset>(7), reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8),
                reader.IsDBNull(9) ? null : reader.GetFieldValue<DateTimeOffset>(9), reader.IsDBNull(10) ? null : reader.GetString(10)));
        }

        return letters;
    }

    /// <summary>Deletes finished commands older than <paramref name="before"/>; the operation log still answers for them.</summary>
    public async Task<int> PurgeFinishedAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(_purge);
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = before.UtcDateTime });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Runs <paramref name="statement"/>, then the messages <paramref name="enrol"/> gives for the commands it
    /// returned, in one transaction whose COMMIT waits for the synchronous standby (a 202 is an acknowledgement too: the
    /// transaction writes WAL even when it queued nothing new).</summary>
    private async Task<List<QueuedCommand>> EnrolAsync(
        NpgsqlBatchCommand statement, Func<NpgsqlDataReader, QueuedCommand?> read, Enrolment enrol, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var queued = new List<QueuedCommand>();
        await SynchronousReplication.ConfirmedAsync(connection, async () =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var first = new NpgsqlBatch(connection, transaction))
            {
                first.BatchCommands.Add(statement);
                await using var reader = await first.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    if (read(reader) is { } command)
                    {
                        queued.Add(command);
                    }
                }
            }

            await using (var rest = new NpgsqlBatch(connection, transaction))
            {
                foreach (var message in queued.Count > 0 ? enrol(queued) : [])
                {
                    rest.BatchCommands.Add(message);
                }

                rest.BatchCommands.Add(new NpgsqlBatchCommand(SynchronousReplication.WaitForStandbyStatement));
                await rest.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        });

        return queued;
    }

    private static QueuedCommand Read(NpgsqlDataReader reader) =>
        new(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
            (JsonObject)JsonNode.Parse(reader.GetString(4))!, reader.IsDBNull(5) ? null : reader.GetString(5));

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

/// <summary>The statements that store the messages running <paramref name="commands"/>, added to the transaction that
/// queued them.</summary>
public delegate IReadOnlyList<NpgsqlBatchCommand> Enrolment(IReadOnlyList<QueuedCommand> commands);
