using ComputeBank.Api.Hosting;
using Npgsql;
using Wolverine;

namespace ComputeBank.Api.Features.PublishingIntegrationEvents;

/// <summary>
/// The outbox table of a version before webhooks ran on Wolverine (<c>{schema}.outbox</c>), when it still held
/// deliveries at the upgrade: <see cref="AdoptAsync"/> turns every row into a <see cref="WebhookDelivery"/> message
/// (parked rows too, which start their attempts afresh) and drops the table, in one transaction, once Wolverine has
/// started. Nodes starting at once take the table's lock in turn; the later ones find it gone.
/// </summary>
public sealed class EarlierOutbox(NpgsqlDataSource dataSource, string schema, ScheduledMessages messages)
{
    /// <summary>Returns how many deliveries it adopted (0 when there is no earlier outbox).</summary>
    public async Task<int> AdoptAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (!await ExistsAsync(connection, cancellationToken))
        {
            return 0;
        }

        IReadOnlyList<Envelope> envelopes;
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            try
            {
                await using (var lockTable = new NpgsqlCommand($"LOCK TABLE {schema}.outbox IN ACCESS EXCLUSIVE MODE", connection, transaction))
                {
                    await lockTable.ExecuteNonQueryAsync(cancellationToken);
                }
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
            {
                return 0; // Another node adopted it while this one waited for the lock.
            }

            var deliveries = await ReadAsync(connection, transaction, cancellationToken);
            await using var batch = new NpgsqlBatch(connection, transaction);
            envelopes = [];
            if (deliveries.Count > 0)
            {
                var (statement, queued) = messages.QueueStatement(deliveries);
                batch.BatchCommands.Add(statement);
                envelopes = queued;
            }

            batch.BatchCommands.Add(new NpgsqlBatchCommand($"DROP TABLE {schema}.outbox"));
            await batch.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await messages.HandOverAsync(envelopes);
        return envelopes.Count;
    }

    private async Task<bool> ExistsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT to_regclass($1) IS NOT NULL", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = schema + ".outbox" });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private async Task<List<(Guid, object)>> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT event_id, subscriber, event_type, payload::text FROM {schema}.outbox ORDER BY id", connection, transaction);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var deliveries = new List<(Guid, object)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var delivery = new WebhookDelivery(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3));
            deliveries.Add((IntegrationEventsProjection.DeliveryId(delivery.Subscriber, delivery.EventId), delivery));
        }

        return deliveries;
    }
}
