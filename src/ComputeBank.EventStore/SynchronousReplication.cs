using Npgsql;

namespace ComputeBank.EventStore;

/// <summary>
/// Commits that must not be acknowledged before the synchronous standby has them (<c>synchronous_commit=on</c> with
/// <c>synchronous_standby_names</c>). PostgreSQL reports one case only as a notice: when the wait for the standby is
/// cancelled (a client-side command timeout sends a cancel request), the COMMIT succeeds on the primary alone with a
/// WARNING, SQLSTATE 01000 ("canceling wait for synchronous replication"; the text is translated, the code is not).
/// </summary>
public static class SynchronousReplication
{
    /// <summary>A statement that writes a transactional WAL record (a logical message: no table, ignored without logical
    /// decoding). A transaction that wrote no WAL commits without waiting for the standby, and one with only a
    /// transaction id writes none; with this statement its COMMIT waits until the standby has flushed it and so
    /// everything before it in the WAL. For answers replayed from what an earlier, possibly unconfirmed, commit stored.</summary>
    public const string WaitForStandbyStatement = "SELECT pg_logical_emit_message(true, 'computebank', 'confirm')";

    /// <summary>As <see cref="ConfirmedAsync{T}(NpgsqlConnection, Func{Task{T}})"/>, for a commit with no result.</summary>
    public static Task ConfirmedAsync(NpgsqlConnection connection, Func<Task> commit)
    {
        ArgumentNullException.ThrowIfNull(commit);
        return ConfirmedAsync(connection, async () =>
        {
            await commit();
            return true;
        });
    }

    /// <summary>Runs <paramref name="commit"/> on <paramref name="connection"/> and throws
    /// <see cref="ReplicationUnconfirmedException"/> if PostgreSQL said meanwhile that it stopped waiting for the standby.</summary>
    public static async Task<T> ConfirmedAsync<T>(NpgsqlConnection connection, Func<Task<T>> commit)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(commit);
        PostgresNotice? unconfirmed = null;
        void OnNotice(object? sender, NpgsqlNoticeEventArgs e)
        {
            if (e.Notice is { InvariantSeverity: "WARNING", SqlState: "01000" })
            {
                unconfirmed ??= e.Notice;
            }
        }

        connection.Notice += OnNotice;
        try
        {
            var result = await commit();
            return unconfirmed is null ? result : throw new ReplicationUnconfirmedException(unconfirmed.MessageText);
        }
        finally
        {
            connection.Notice -= OnNotice;
        }
    }
}
