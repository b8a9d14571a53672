using JasperFx;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace ComputeBank.EventStore;

/// <summary>
/// Converts a database of the layout before Marten (events in a table <c>events</c>, streams in <c>streams</c>, the
/// append functions of the old scripts 0001-0003) into this build's layout, in place and in ONE transaction under the
/// migrator's advisory lock: the old tables are renamed aside, Marten's tables and this build's scripts are created in
/// the same transaction, every row is copied (same sequence numbers, versions, type names, data, metadata, timestamps
/// and hashes), the result is compared row by row with the original, and only then are the old tables dropped. Any
/// failure rolls all of it back. The embedded <c>LayoutBeforeMarten/N_*.sql</c> scripts are its steps.
/// </summary>
internal static class LayoutBeforeMarten
{
    // The scripts that created the layout this converts, as schema_versions recorded them (commit 3500ff1).
    private static readonly string[] OldScripts = ["0001_event_store.sql", "0002_append_stream.sql", "0003_append_one.sql"];

    private static readonly IReadOnlyList<string> Steps = LoadSteps();

    public static async Task<LayoutConversion> ConvertAsync(MartenEventStore store, ILogger logger, CancellationToken ct)
    {
        var schema = store.Schema;
        await using var connection = await store.DataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);

        // The migrator's lock, held to the end of this transaction: a node starting meanwhile waits in its migration,
        // then finds the new layout.
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", connection, transaction))
        {
            lockCommand.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Migrator.LockKey(schema) });
            await lockCommand.ExecuteNonQueryAsync(ct);
        }

        await RequireTheOldLayoutAsync(connection, transaction, schema, ct);

        // Marten's own DDL for its event tables and functions (what MigrateAsync would apply), computed against this
        // database and run here, inside the transaction, instead of on Marten's connections.
        var marten = await store.Marten.Storage.Database.CreateMigrationAsync(ct);
        var martenDdl = new StringWriter();
        marten.WriteAllUpdates(martenDdl, store.Marten.Options.Advanced.Migrator, AutoCreate.CreateOrUpdate);

        await Migrator.ExecuteScriptAsync(connection, transaction, Steps[0], schema, ct);
        await using (var ddl = new NpgsqlCommand(martenDdl.ToString(), connection, transaction))
        {
            await ddl.ExecuteNonQueryAsync(ct);
        }

        await Migrator.ApplyStoreScriptsAsync(connection, transaction, schema, ct);
        await Migrator.ExecuteScriptAsync(connection, transaction, Steps[1], schema, ct);

        var types = store.Types.Registrations.ToArray();
        await using (var events = new NpgsqlCommand(Migrator.WithSchema(Steps[2], schema), connection, transaction))
        {
            events.Parameters.Add(TextArray([.. types.Select(t => t.Value)]));
            events.Parameters.Add(TextArray([.. types.Select(t => MartenTypeName(t.Key))]));
            await events.ExecuteNonQueryAsync(ct);
        }

        await Migrator.ExecuteScriptAsync(connection, transaction, Steps[3], schema, ct);
        try
        {
            await Migrator.ExecuteScriptAsync(connection, transaction, Steps[4], schema, ct);
        }
        catch (PostgresException e) when (e.SqlState == "CB500")
        {
            throw new InvalidOperationException($"Not converted, nothing changed: {e.MessageText}.", e);
        }

        await Migrator.ExecuteScriptAsync(connection, transaction, Steps[5], schema, ct);
        var result = await CountAsync(connection, transaction, schema, ct);
        await transaction.CommitAsync(ct);
        Log.ConvertedLayoutBeforeMarten(logger, schema, result.Events, result.Streams);
        return result;
    }

    /// <summary>Refuses, before anything changes, a database that is not exactly the layout this converts.</summary>
    private static async Task RequireTheOldLayoutAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string schema, CancellationToken ct)
    {
        switch (await Migrator.EventsRelationKindAsync(connection, transaction, schema, ct))
        {
            case "v":
                throw new InvalidOperationException(
                    $"Nothing to convert: {schema}.events is already the view over Marten's {schema}.mt_events (the database was converted, or created by a build on Marten).");
            case null:
                throw new InvalidOperationException($"Nothing to convert: schema {schema} holds no event store ({schema}.events does not exist).");
            case "r":
                break;
            case var other:
                throw new InvalidOperationException($"Not converted: {schema}.events is neither a table nor a view (relkind '{other}').");
        }

        await using var command = new NpgsqlCommand(
            $"""
            SELECT coalesce(string_agg(version || ' ' || script, ', ' ORDER BY version), ''),
                   to_regclass($1 || '.mt_events') IS NOT NULL OR to_regclass($1 || '.event_hashes') IS NOT NULL
            FROM {Migrator.Quote(schema)}.schema_versions
            """,
            connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Migrator.Quote(schema) });
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var versions = reader.GetString(0);
        var expected = string.Join(", ", OldScripts.Select((s, i) => $"{i + 1} {s}"));
        if (versions != expected)
        {
            throw new InvalidOperationException(
                $"Not converted: {schema}.schema_versions records '{versions}', not the scripts of the layout before Marten ('{expected}').");
        }

        if (reader.GetBoolean(1))
        {
            throw new InvalidOperationException(
                $"Not converted: {schema} holds both the old events table and Marten's tables; the database is in a state this command does not know.");
        }
    }

    private static async Task<LayoutConversion> CountAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string schema, CancellationToken ct)
    {
        var s = Migrator.Quote(schema);
        await using var command = new NpgsqlCommand(
            $"""
            SELECT (SELECT count(*) FROM {s}.mt_events), (SELECT count(*) FROM {s}.mt_streams),
                   (SELECT count(*) FROM {s}.snapshots), (SELECT count(*) FROM {s}.projection_progress),
                   (SELECT coalesce(max(seq_id), 0) FROM {s}.mt_events)
            """,
            connection, transaction);
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new LayoutConversion(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
    }

    /// <summary>The .NET type name Marten writes into <c>mt_dotnet_type</c> for an event of <paramref name="type"/>.</summary>
    private static string MartenTypeName(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";

    private static NpgsqlParameter<string[]> TextArray(string[] values) =>
        new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, TypedValue = values };

    private static List<string> LoadSteps()
    {
        var assembly = typeof(LayoutBeforeMarten).Assembly;
        const string Folder = ".LayoutBeforeMarten.";
        var steps = assembly.GetManifestResourceNames()
            .Where(n => n.Contains(Folder, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n =>
            {
                using var stream = assembly.GetManifestResourceStream(n)!;
                using var reader = new StreamReader(stream);
                return reader.ReadToEnd();
            })
            .ToList();
        return steps.Count == 6
            ? steps
            : throw new InvalidOperationException($"Expected the 6 embedded steps LayoutBeforeMarten/1_*.sql .. 6_*.sql, found {steps.Count}.");
    }
}
