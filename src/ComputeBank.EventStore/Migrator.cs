using System.Globalization;
using JasperFx;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace ComputeBank.EventStore;

/// <summary>
/// Applies the embedded <c>Scripts/NNNN_name.sql</c> files in order. <c>0000</c> (schema and version table) runs
/// every time and is idempotent; every other script runs once and its number is recorded in
/// <c>schema_versions</c>. Marten's event tables are applied first (the scripts build on them); all of it happens under
/// an advisory lock keyed by the schema, so nodes starting together queue up and the later ones find nothing to do.
/// </summary>
internal static class Migrator
{
    private const string SchemaToken = "__schema__";

    private static readonly IReadOnlyList<(int Version, string Name, string Sql)> Scripts = LoadScripts(typeof(Migrator).Assembly, firstVersion: 0);

    public static int LatestVersion => Scripts[^1].Version;

    public static async Task MigrateAsync(MartenEventStore store, ILogger logger, CancellationToken ct, IReadOnlyList<MigrationModule>? modules = null)
    {
        var schema = store.Schema;
        await using var connection = await store.DataSource.OpenConnectionAsync(ct);

        // A session-level lock, held while Marten applies its tables on connections of its own and then while our
        // scripts run in one transaction on this connection: nodes starting together queue up here.
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_lock(hashtextextended($1, 0))", connection))
        {
            lockCommand.Parameters.Add(new NpgsqlParameter<string> { TypedValue = LockKey(schema) });
            await lockCommand.ExecuteNonQueryAsync(ct);
        }

        try
        {
            await RefuseTheLayoutBeforeMartenAsync(connection, schema, ct);
            await store.Marten.Storage.ApplyAllConfiguredChangesToDatabaseAsync(AutoCreate.CreateOrUpdate);
            await ApplyScriptsAsync(connection, schema, logger, modules, ct);
        }
        finally
        {
            // A broken connection's session, and with it the lock, has ended on the server: nothing to release, and
            // trying would replace the database's error with "Connection is not open".
            if (connection.FullState == System.Data.ConnectionState.Open)
            {
                await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(hashtextextended($1, 0))", connection);
                unlock.Parameters.Add(new NpgsqlParameter<string> { TypedValue = LockKey(schema) });
                await unlock.ExecuteNonQueryAsync(CancellationToken.None);
            }
        }
    }

    /// <summary>The advisory lock every migration of <paramref name="schema"/> holds (also <c>migrate-events</c>).</summary>
    internal static string LockKey(string schema) => "computebank.eventstore.migrate:" + schema;

    /// <summary>Before the move onto Marten, events lived in a table <c>events</c> of the schema (now a view over
    /// Marten's <c>mt_events</c>). Such a database is never upgraded silently at start-up: its events would sit beside
    /// an empty store. <c>migrate-events</c> (<see cref="LayoutBeforeMarten"/>) converts it, once, on purpose.</summary>
    private static async Task RefuseTheLayoutBeforeMartenAsync(NpgsqlConnection connection, string schema, CancellationToken ct)
    {
        if (await EventsRelationKindAsync(connection, null, schema, ct) is "r")
        {
            throw new InvalidOperationException(
                $"The database holds events in the layout before Marten (table {schema}.events). This build keeps events in " +
                $"Marten's {schema}.mt_events and does not upgrade that layout at start-up: stop every node, convert the database " +
                $"once with 'computebank migrate-events --schema {schema}' (deploy/local/cli migrate-events for the local one), " +
                "then start again; or point ComputeBank:ConnectionString at a new database.");
        }
    }

    /// <summary>What <c>events</c> of the schema is: "r" a table (the layout before Marten), "v" the view over
    /// Marten's tables, null absent.</summary>
    internal static async Task<string?> EventsRelationKindAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string schema, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            "SELECT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = 'events'",
            connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = schema });
        return await command.ExecuteScalarAsync(ct) as string;
    }

    private static async Task ApplyScriptsAsync(NpgsqlConnection connection, string schema, ILogger logger, IReadOnlyList<MigrationModule>? modules, CancellationToken ct)
    {
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var applied = await ApplyStoreScriptsAsync(connection, transaction, schema, ct);

        foreach (var module in modules ?? [])
        {
            await MigrateModuleAsync(connection, transaction, schema, module, logger, ct);
        }

        await transaction.CommitAsync(ct);
        if (applied < LatestVersion)
        {
            Log.Migrated(logger, schema, applied, LatestVersion);
        }
        else
        {
            Log.UpToDate(logger, schema, applied);
        }
    }

    /// <summary>Runs the bootstrap script, then every store script above the recorded version, in
    /// <paramref name="transaction"/>; returns the version that was recorded before.</summary>
    internal static async Task<int> ApplyStoreScriptsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string schema, CancellationToken ct)
    {
        await ExecuteScriptAsync(connection, transaction, Scripts[0].Sql, schema, ct);

        int applied;
        await using (var current = new NpgsqlCommand($"SELECT coalesce(max(version), 0) FROM {Quote(schema)}.schema_versions", connection, transaction))
        {
            applied = (int)(await current.ExecuteScalarAsync(ct))!;
        }

        foreach (var (version, name, sql) in Scripts.Where(s => s.Version > applied))
        {
            await ExecuteScriptAsync(connection, transaction, sql, schema, ct);
            await using var record = new NpgsqlCommand(
                $"INSERT INTO {Quote(schema)}.schema_versions (version, script) VALUES ($1, $2)", connection, transaction);
            record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = version });
            record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
            await record.ExecuteNonQueryAsync(ct);
        }

        return applied;
    }

    /// <summary>The schema name as an identifier. Only names matching <c>[a-z_][a-z0-9_]*</c> are accepted, so quoting is exact.</summary>
    public static string Quote(string schema) => '"' + schema + '"';

    public static string ValidateSchema(string schema) =>
        schema is { Length: > 0 and <= 63 } && (schema[0] is '_' or (>= 'a' and <= 'z')) && schema.All(c => c is '_' or (>= 'a' and <= 'z') or (>= '0' and <= '9'))
            ? schema
            : throw new ArgumentException($"Schema name '{schema}' must be 1-63 characters of a-z, 0-9 and _, not starting with a digit.", nameof(schema));

    internal static async Task ExecuteScriptAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, string schema, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(WithSchema(sql, schema), connection, transaction);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>A script's text with its schema placeholder replaced by the quoted schema name.</summary>
    internal static string WithSchema(string sql, string schema) => sql.Replace(SchemaToken, Quote(schema), StringComparison.Ordinal);

    private static async Task MigrateModuleAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string schema, MigrationModule module, ILogger logger, CancellationToken ct)
    {
        int applied;
        await using (var current = new NpgsqlCommand($"SELECT coalesce(max(version), 0) FROM {Quote(schema)}.module_versions WHERE module = $1", connection, transaction))
        {
            current.Parameters.Add(new NpgsqlParameter<string> { TypedValue = module.Name });
            applied = (int)(await current.ExecuteScalarAsync(ct))!;
        }

        var scripts = LoadScripts(module.Assembly, firstVersion: 1);
        foreach (var (version, name, sql) in scripts.Where(s => s.Version > applied))
        {
            await ExecuteScriptAsync(connection, transaction, sql, schema, ct);
            await using var record = new NpgsqlCommand(
                $"INSERT INTO {Quote(schema)}.module_versions (module, version, script) VALUES ($1, $2, $3)", connection, transaction);
            record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = module.Name });
            record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = version });
            record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
            await record.ExecuteNonQueryAsync(ct);
        }

        if (scripts.Count > 0 && applied < scripts[^1].Version)
        {
            Log.Migrated(logger, schema + "/" + module.Name, applied, scripts[^1].Version);
        }
    }

    private static List<(int Version, string Name, string Sql)> LoadScripts(System.Reflection.Assembly assembly, int firstVersion)
    {
        var scripts = new List<(int Version, string Name, string Sql)>();
        // Only Scripts/: other embedded SQL (the upgrade of the layout before Marten) is not a numbered migration.
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.EndsWith(".sql", StringComparison.Ordinal) && n.Contains(".Scripts.", StringComparison.Ordinal)))
        {
            // Resource names look like ComputeBank.EventStore.Scripts.0001_event_store.sql.
            var file = resource[(resource.IndexOf(".Scripts.", StringComparison.Ordinal) + ".Scripts.".Length)..];
            var version = int.Parse(file.AsSpan(0, 4), NumberStyles.None, CultureInfo.InvariantCulture);
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            scripts.Add((version, file, reader.ReadToEnd()));
        }

        scripts.Sort((a, b) => a.Version.CompareTo(b.Version));
        if ((firstVersion == 0 && scripts.Count < 2) || scripts.Select((s, i) => s.Version != i + firstVersion).Any(gap => gap))
        {
            throw new InvalidOperationException(
                $"Embedded migration scripts of {assembly.GetName().Name} must be numbered {firstVersion:0000}, {firstVersion + 1:0000}, ... without gaps.");
        }

        return scripts;
    }
}
