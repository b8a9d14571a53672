using System.Data.Common;
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
/// stored by Wolverine's own insert as one more statement of our batch, so it exists exactly when the rows that call
/// for it do. A scheduled message (a hold's expiry, in the group commit) is owned by any node, whose durability agent
/// runs it once due; its id is derived from a key of ours, so the same commit never schedules it twice and a later
/// commit can drop it before it runs. A queued command is owned by this node and handed to its local queue after the
/// commit, as Wolverine's outbox does.
/// </summary>
public sealed class ScheduledMessages(IWolverineRuntime runtime, DatabaseDependentServices wolverine)
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

    /// <summary>A statement that stores <paramref name="message"/> to run at <paramref name="at"/> (or as soon as a node
    /// polls, when that has passed), under the id <see cref="IdFor"/>(<paramref name="key"/>).</summary>
    public NpgsqlBatchCommand ScheduleStatement(string key, object message, DateTimeOffset at)
    {
        var envelope = Route(message, new DeliveryOptions { ScheduledTime = at });
        envelope.Id = IdFor(key);
        envelope.ScheduledTime = at;
        envelope.Status = EnvelopeStatus.Scheduled;
        envelope.OwnerId = TransportConstants.AnyNode;
        return Statement(envelope);
    }

    /// <summary>A statement that stores <paramref name="message"/> under <paramref name="id"/> to run now, owned by
    /// this node, and the envelope to <see cref="HandOverAsync"/> once the transaction has committed. A node that dies
    /// before that leaves it to the node that takes over its messages.</summary>
    public (NpgsqlBatchCommand Statement, Envelope Envelope) QueueStatement(Guid id, object message)
    {
        var envelope = Route(message, new DeliveryOptions());
        envelope.Id = id;
        envelope.Status = EnvelopeStatus.Incoming;
        envelope.OwnerId = wolverine.Started ? runtime.DurabilitySettings.AssignedNodeNumber : TransportConstants.AnyNode;
        return (Statement(envelope), envelope);
    }

    /// <summary>Hands committed envelopes of <see cref="QueueStatement"/> to their local queue on this node (what
    /// Wolverine's outbox does after its commit). Envelopes stored for any node (Wolverine not started here yet) wait
    /// for a node's recovery instead.</summary>
    public async Task HandOverAsync(IEnumerable<Envelope> envelopes)
    {
        foreach (var envelope in envelopes)
        {
            if (envelope.OwnerId != TransportConstants.AnyNode)
            {
                await runtime.Endpoints.GetOrBuildSendingAgent(envelope.Destination!).EnqueueOutgoingAsync(envelope);
            }
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

    private NpgsqlBatchCommand Statement(Envelope envelope)
    {
        var builder = Database.ToCommandBuilder();
        DatabasePersistence.BuildIncomingStorageCommand(Database, builder, envelope);
        using var compiled = builder.Compile();
        var statement = new NpgsqlBatchCommand(compiled.CommandText);
        foreach (DbParameter parameter in compiled.Parameters)
        {
            statement.Parameters.Add(((NpgsqlParameter)parameter).Clone());
        }

        return statement;
    }

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

        var envelope = Wolverine.Runtime.Serialization.EnvelopeSerializer.Deserialize(reader.GetFieldValue<byte[]>(0));
        var serializer = runtime.Options.DetermineSerializer(envelope);
        return ((T)serializer.ReadFromData(typeof(T), envelope), reader.GetInt32(1));
    }
}
