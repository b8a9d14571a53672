using System.Data.Common;
using System.Text.Json;
using Npgsql;
using Weasel.Core;
using Weasel.Storage;

namespace ComputeBank.EventStore;

/// <summary>
/// One call of <c>append_streams</c> (Scripts/0002_append_streams.sql) queued on the group commit's Marten session:
/// every stream and event of the session in one statement of Marten's batch, answering the events' sequence numbers.
/// Marten's own append is a function call per stream; this is the set-based multi-stream append it lacks.
/// </summary>
internal sealed class AppendStreamsOperation(string schema, object?[] arguments) : Weasel.Storage.IStorageOperation
{
    // The SQL type of each argument, in the function's order (the values travel as arrays Npgsql infers).
    private static readonly string[] Casts =
        ["text[]", "text[]", "bigint[]", "integer[]", "uuid[]", "text[]", "text[]", "jsonb[]", "text[]", "text[]", "text[]", "jsonb[]", "timestamptz"];

    /// <summary>The SQLSTATE of a stream found at another version than the caller's; its hint names the stream and both versions.</summary>
    public const string ConflictState = "CB409";

    public long[] Sequences { get; private set; } = [];

    /// <summary>The stream and versions of a refusal with <see cref="ConflictState"/>.</summary>
    public static (string StreamId, long Expected, long Actual) Conflict(PostgresException refused)
    {
        using var hint = JsonDocument.Parse(refused.Hint ?? "{}");
        var root = hint.RootElement;
        return (root.GetProperty("stream").GetString()!, root.GetProperty("expected").GetInt64(), root.GetProperty("actual").GetInt64());
    }

    public Type DocumentType => typeof(AppendStreamsOperation);

    public void ConfigureCommand(ICommandBuilder builder, IStorageSession session)
    {
        builder.Append($"select {schema}.append_streams(");
        for (var i = 0; i < arguments.Length; i++)
        {
            if (i > 0)
            {
                builder.Append(", ");
            }

            builder.AppendParameter(arguments[i] ?? DBNull.Value);
            builder.Append("::" + Casts[i]);
        }

        builder.Append(")");
    }

    public async Task PostprocessAsync(DbDataReader reader, IList<Exception> exceptions, CancellationToken token)
    {
        if (await reader.ReadAsync(token))
        {
            Sequences = await reader.GetFieldValueAsync<long[]>(0, token);
        }
    }

    public OperationRole Role() => OperationRole.Events;
}
