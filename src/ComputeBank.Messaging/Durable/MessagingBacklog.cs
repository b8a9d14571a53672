using Npgsql;

namespace ComputeBank.Messaging.Durable;

/// <summary>What durable messaging has not finished, read from the tables (so every node reports the same).</summary>
/// <param name="QueuedPending">Queued commands not yet finished (due, scheduled or being retried).</param>
/// <param name="DeadLetters">Dead letters not replayed.</param>
/// <param name="OutboxPending">Webhook deliveries waiting to be sent (or resent): their Wolverine envelopes not handled yet.</param>
/// <param name="OutboxParked">Webhook deliveries that gave up after their attempts and wait for an operator in
/// Wolverine's dead letters.</param>
public sealed record MessagingBacklog(long QueuedPending, long DeadLetters, long OutboxPending, long OutboxParked);

/// <summary>Reads the <see cref="MessagingBacklog"/> in one statement (one snapshot); each count uses a partial index
/// or a small table. Webhook deliveries are counted in Wolverine's tables (schema <paramref name="wolverineSchema"/>)
/// by their message type.</summary>
public sealed class MessagingBacklogReader(NpgsqlDataSource dataSource, string schema, string wolverineSchema, string webhookMessageType)
{
    private readonly string _read =
        $"SELECT (SELECT count(*) FROM {schema}.command_queue WHERE status = 'pending'), " +
        $"(SELECT count(*) FROM {schema}.dead_letters WHERE replayed_at IS NULL), " +
        $"(SELECT count(*) FROM {wolverineSchema}.wolverine_incoming_envelopes WHERE message_type = $1 AND status <> 'Handled'), " +
        $"(SELECT count(*) FROM {wolverineSchema}.wolverine_dead_letters WHERE message_type = $1)";

    public async Task<MessagingBacklog> ReadAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(_read);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = webhookMessageType });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new MessagingBacklog(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }
}
