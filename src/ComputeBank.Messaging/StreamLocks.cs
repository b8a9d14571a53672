using ComputeBank.EventStore;
using Npgsql;
using NpgsqlTypes;

namespace ComputeBank.Messaging;

/// <summary>
/// Transaction-scoped advisory locks keyed by stream id (<c>hashtextextended</c>), taken in key order in one statement
/// so that two group commits never wait for each other in a cycle within one load round. A hash collision only makes
/// two unrelated streams wait for each other; it never lets two writers into one stream.
/// </summary>
internal sealed class StreamLocks(string schema)
{
    private readonly string _sql =
        "SELECT count(CASE WHEN exclusive THEN pg_advisory_xact_lock(key)::text ELSE pg_advisory_xact_lock_shared(key)::text END) " +
        "FROM (SELECT hashtextextended(id, " + SeedFor(schema) + ") AS key, exclusive FROM unnest($1::text[], $2::boolean[]) AS t(id, exclusive) " +
        "ORDER BY key, exclusive DESC) AS ordered";

    public async Task AcquireAsync(IEventSession session, IReadOnlyDictionary<string, LockMode> wanted, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(_sql, session.Connection, session.Transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = wanted.Keys.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = wanted.Values.Select(m => m == LockMode.Exclusive).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Boolean });
        await command.ExecuteScalarAsync(cancellationToken);
    }

    // Ledgers in different schemas of one database do not share lock keys.
    private static string SeedFor(string schema) =>
        (schema.Aggregate(17L, (h, c) => unchecked((h * 31) + c)) & 0x7FFFFFFF).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
