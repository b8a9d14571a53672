using Npgsql;
using NpgsqlTypes;

namespace ComputeBank.Messaging.Durable;

/// <summary>
/// Records the final outcome of queued commands inside the group commit that decided them, so that a command's events
/// and its queue row's <c>succeeded</c>/<c>failed</c> commit together (Wolverine's rule: the inbox row changes in the
/// handler's transaction). A row no longer pending is left alone: this run is a redelivery of a message whose first
/// run committed, and the operation log gave it the same answer.
/// </summary>
internal sealed class QueueOutcomes(string schema)
{
    private readonly string _record =
        $"UPDATE {schema}.command_queue q SET status = CASE WHEN c.http_status BETWEEN 200 AND 299 THEN 'succeeded' ELSE 'failed' END, " +
        "attempts = c.attempts, http_status = c.http_status, response = c.response, last_error = NULL, finished_at = now() " +
        "FROM unnest($1::text[], $2::int[], $3::int[], $4::json[]) AS c(operation_id, attempts, http_status, response) " +
        "WHERE q.operation_id = c.operation_id AND q.status = 'pending'";

    /// <summary>Whether a reply is final for the queue: successes and refusals are; 5xx (outage, internal error) are
    /// retried by the runner's error policy and recorded by the runner.</summary>
    public static bool IsFinal(CommandReply reply) => reply.Status < 500;

    /// <summary>One statement for every queued command of a group commit whose reply is final; null when there is none.</summary>
    public NpgsqlBatchCommand? Record(IEnumerable<(CommandEnvelope Envelope, CommandReply Reply)> outcomes)
    {
        var final = outcomes.Where(o => o.Envelope.Queued is not null && IsFinal(o.Reply)).ToList();
        if (final.Count == 0)
        {
            return null;
        }

        var command = new NpgsqlBatchCommand(_record);
        command.Parameters.Add(new NpgsqlParameter { Value = final.Select(o => o.Envelope.OperationId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = final.Select(o => o.Envelope.Queued!.Attempt).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = final.Select(o => o.Reply.Status).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = final.Select(o => o.Reply.JsonText).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Json });
        return command;
    }
}
