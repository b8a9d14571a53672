using Wolverine.Runtime.Serialization;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using Wolverine;
using Wolverine.RDBMS;
using Wolverine.Runtime;
using Wolverine.Transports;

namespace ComputeBank.Api.Hosting;

/// <summary>
/// Wolverine messages written inside a transaction of ours. Each envelope is routed and serialised by Wolverine and
/// stored with Wolverine's columns (one set-based insert) as one more statement of our batch, so it exists exactly when the rows that call
/// for it do. A scheduled message (a hold's expiry, in the group commit) is owned by any node, whose durability agent
/// runs it once due; its id is derived from a key of ours, so the same commit never schedules it twice and a later
/// commit can drop it before it runs. A queued command is owned by this node and handed to its local queue after the
/// commit, as Wolverine's outbox does.
/// </summary>
public sealed partial class ScheduledMessages(IWolverineRuntime runtime, DatabaseDependentServices wolverine, ILogger<ScheduledMessages> logger)
{
    private IMessageDatabase Database => runtime.Storage as IMessageDatabase
        ?? throw new InvalidOperationException($"Wolverine's message store is {runtime.Storage.GetType().Name}, not a PostgreSQL message database.");

    private string Incoming => Database.TableNameFor(DatabaseConstants.IncomingTable);

    /// <summary>The envelope id of the scheduled message keyed by <paramref name="key"/>: a name-based UUID (version 8).</summary>
    public static Guid IdFor(string key)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes("computebank:scheduled:" + key), hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }

    /// <summary>One statement that stores every message of <paramref name="scheduled"/> to run at its time (or as soon
    /// as a node polls, when that has passed), under the id <see cref="IdFor"/>(key).</summary>
    public NpgsqlBatchCommand ScheduleStatement(IReadOnlyList<(string Key, object Message, DateTimeOffset At)> scheduled) =>
        Statement([.. scheduled.Select(s =>
        {
            var envelope = Route(s.Message, new DeliveryOptions { ScheduledTime = s.At });
            envelope.Id = IdFor(s.Key);
            envelope.ScheduledTime = s.At;
            envelope.Status = EnvelopeStatus.Scheduled;
            envelope.OwnerId = TransportConstants.AnyNode;
            return envelope;
        })]);

    /// <summary>One statement that stores every message of <paramref name="queued"/> under its id to run now, owned by
    /// this node, and the envelopes to <see cref="HandOverAsync"/> once the transaction has committed. A node that dies
    /// before that leaves them to the node that takes over its messages.</summary>
    public (NpgsqlBatchCommand Statement, IReadOnlyList<Envelope> Envelopes) QueueStatement(IReadOnlyList<(Guid Id, object Message)> queued)
    {
        var owner = wolverine.Started ? runtime.DurabilitySettings.AssignedNodeNumber : TransportConstants.AnyNode;
        var envelopes = queued.Select(q =>
        {
            var envelope = Route(q.Message, new DeliveryOptions());
            envelope.Id = q.Id;
            envelope.Status = EnvelopeStatus.Incoming;
            envelope.OwnerId = owner;
            return envelope;
        }).ToList();
        return (Statement(envelopes), envelopes);
    }

    /// <summary>Hands committed envelopes of <see cref="QueueStatement"/> to their local queue on this node (what
    /// Wolverine's outbox does after its commit). Envelopes stored for any node (Wolverine not started here yet) wait
    /// for a node's recovery instead. Never throws: envelopes it could not hand over are released to any node, so that
    /// a node's durability agent recovers them instead of this node only after a restart.</summary>
    public async Task HandOverAsync(IEnumerable<Envelope> envelopes)
    {
        List<Guid>? stranded = null;
        foreach (var envelope in envelopes)
        {
            if (envelope.OwnerId == TransportConstants.AnyNode)
            {
                continue;
            }

            try
            {
                await runtime.Endpoints.GetOrBuildSendingAgent(envelope.Destination!).EnqueueOutgoingAsync(envelope);
            }
            catch (Exception ex)
            {
                LogHandOverFailed(logger, envelope.Id, envelope.MessageType, ex);
                (stranded ??= []).Add(envelope.Id);
            }
        }

        if (stranded is not null)
        {
            await ReleaseAsync(stranded);
        }
    }

    private async Task ReleaseAsync(List<Guid> ids)
    {
        try
        {
            await using var connection = await Database.DataSource.OpenConnectionAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"UPDATE {Incoming} SET owner_id = {TransportConstants.AnyNode} WHERE id = ANY($1) AND status = '{EnvelopeStatus.Incoming}'";
            command.Parameters.Add(new NpgsqlParameter { Value = ids.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
            await command.ExecuteNonQueryAsync();
        }
        catch (Exception ex)
        {
            // Still owned by this node: they run when it restarts, or on another node once this one is declared dead.
            LogReleaseFailed(logger, ids.Count, ex);
        }
    }

    private Envelope Route(object message, DeliveryOptions options)
    {
        var envelope = runtime.RoutingFor(message.GetType()).RouteForSend(message, options).Single();
        if (envelope.Destination is not { } destination || destination.Scheme != TransportConstants.Local || !runtime.Endpoints.GetOrBuildSendingAgent(destination).IsDurable)
        {
            throw new InvalidOperationException($"{message.GetType().Name} must be routed to a durable local queue, not {envelope.Destination}.");
        }

        return envelope;
    }

    /// <summary>Wolverine's insert of incoming envelopes (its columns, its serialisation of the envelope) made set-based:
    /// one statement for any number of messages, so a group commit of a thousand holds adds one statement, not a
    /// thousand.</summary>
    private NpgsqlBatchCommand Statement(IReadOnlyList<Envelope> envelopes)
    {
        var statement = new NpgsqlBatchCommand(
            $"INSERT INTO {Incoming} ({DatabaseConstants.IncomingFields}) " +
            "SELECT * FROM unnest($1::bytea[], $2::uuid[], $3::text[], $4::int[], $5::timestamptz[], $6::int[], $7::text[], $8::text[], $9::timestamptz[])");
        statement.Parameters.Add(Array(envelopes.Select(e => EnvelopeSerializer.Serialize(e)), NpgsqlDbType.Bytea));
        statement.Parameters.Add(Array(envelopes.Select(e => e.Id), NpgsqlDbType.Uuid));
        statement.Parameters.Add(Array(envelopes.Select(e => e.Status.ToString()), NpgsqlDbType.Text));
        statement.Parameters.Add(Array(envelopes.Select(e => e.OwnerId), NpgsqlDbType.Integer));
        statement.Parameters.Add(Array(envelopes.Select(e => e.ScheduledTime?.UtcDateTime), NpgsqlDbType.TimestampTz));
        statement.Parameters.Add(Array(envelopes.Select(e => e.Attempts), NpgsqlDbType.Integer));
        statement.Parameters.Add(Array(envelopes.Select(e => e.MessageType), NpgsqlDbType.Text));
        statement.Parameters.Add(Array(envelopes.Select(e => e.Destination?.ToString()), NpgsqlDbType.Text));
        statement.Parameters.Add(Array(envelopes.Select(e => e.KeepUntil?.UtcDateTime), NpgsqlDbType.TimestampTz));
        return statement;
    }

    private static NpgsqlParameter Array<T>(IEnumerable<T> values, NpgsqlDbType type) =>
        new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | type };

    /// <summary>A statement that drops scheduled messages that have not started yet.</summary>
    public NpgsqlBatchCommand CancelStatement(IReadOnlyList<string> keys)
    {
        var statement = new NpgsqlBatchCommand($"DELETE FROM {Incoming} WHERE id = ANY($1) AND status = '{EnvelopeStatus.Scheduled}'");
        statement.Parameters.Add(new NpgsqlParameter { Value = keys.Select(IdFor).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
        return statement;
    }

    /// <summary>The scheduled or running message keyed by <paramref name="key"/>: its message and attempts so far; null
    /// when there is none (never scheduled, dropped, or handled).</summary>
    public async Task<(T Message, int Attempts)?> FindAsync<T>(string key, CancellationToken cancellationToken)
    {
        await using var connection = await Database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT body, attempts FROM {Incoming} WHERE id = $1 AND status <> '{EnvelopeStatus.Handled}'";
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = IdFor(key) });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var envelope = EnvelopeSerializer.Deserialize(reader.GetFieldValue<byte[]>(0));
        var serializer = runtime.Options.DetermineSerializer(envelope);
        return ((T)serializer.ReadFromData(typeof(T), envelope), reader.GetInt32(1));
    }

    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "Envelope {EnvelopeId} ({MessageType}) committed but not handed to its local queue; released to any node")]
    private static partial void LogHandOverFailed(ILogger logger, Guid envelopeId, string? messageType, Exception exception);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Error, Message = "{Count} committed envelopes could not be released to any node; they run when this node restarts")]
    private static partial void LogReleaseFailed(ILogger logger, int count, Exception exception);
}
