using Npgsql;
using NpgsqlTypes;

namespace ComputeBank.Messaging;

/// <summary>A remembered operation: its fingerprint and the answer it got.</summary>
/// <remarks>The answer is kept as the JSON text stored (a <c>json</c> column keeps it as written), so a replay sends the
/// very bytes of the first answer.</remarks>
internal sealed record OperationRecord(string OperationId, string Fingerprint, int Status, byte[] Response);

/// <summary>Reads and writes the operation log (<c>operations</c> table) inside a command transaction.</summary>
internal sealed class OperationLog(string schema)
{
    private readonly string _select =
        $"SELECT operation_id, fingerprint, status, response::text FROM {schema}.operations WHERE operation_id = ANY($1)";

    private readonly string _insert =
        $"INSERT INTO {schema}.operations (operation_id, command_type, fingerprint, status, response) " +
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::json[])";

    public async Task<Dictionary<string, OperationRecord>> FindAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyCollection<string> operationIds, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, OperationRecord>(StringComparer.Ordinal);
        if (operationIds.Count == 0)
        {
            return found;
        }

        await using var command = new NpgsqlCommand(_select, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = operationIds.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var record = new OperationRecord(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), System.Text.Encoding.UTF8.GetBytes(reader.GetString(3)));
            found[record.OperationId] = record;
        }

        return found;
    }

    /// <summary>One statement for all operations of a group commit.</summary>
    public NpgsqlBatchCommand Insert(IReadOnlyList<(CommandEnvelope Envelope, CommandReply Reply)> operations)
    {
        var command = new NpgsqlBatchCommand(_insert);
        command.Parameters.Add(TextArray(operations.Select(o => o.Envelope.OperationId)));
        command.Parameters.Add(TextArray(operations.Select(o => o.Envelope.CommandType)));
        command.Parameters.Add(TextArray(operations.Select(o => o.Envelope.Fingerprint)));
        command.Parameters.Add(new NpgsqlParameter { Value = operations.Select(o => o.Reply.Status).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        command.Parameters.Add(TextArray(operations.Select(o => o.Reply.JsonText)));
        return command;
    }

    private static NpgsqlParameter TextArray(IEnumerable<string> values) =>
        new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };
}
