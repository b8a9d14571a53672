using ComputeBank.EventStore;
using Npgsql;
using NpgsqlTypes;

namespace ComputeBank.Cli.Tests.OldLayout;

/// <summary>
/// Builds a database of the event layout before Marten the way the builds of that time did: the store's scripts
/// 0000-0003 of commit 3500ff1 (embedded copies in this folder) recorded as schema versions 1-3, and the modules'
/// scripts (operation log, read models, durable queue: unchanged since) recorded per module. Events are appended
/// through the old scripts' own <c>append_events</c>, so their hashes are the old chain's.
/// </summary>
internal static class OldLayoutDatabase
{
    public const string Schema = "cb";

    public static async Task CreateAsync(NpgsqlConnection connection, IReadOnlyList<MigrationModule> modules)
    {
        var scripts = Scripts(typeof(OldLayoutDatabase).Assembly, ".OldLayout.");
        foreach (var (version, name, sql) in scripts)
        {
            await ExecuteAsync(connection, sql);
            if (version > 0)
            {
                await ExecuteAsync(connection, $"INSERT INTO cb.schema_versions (version, script) VALUES ({version}, '{name}')");
            }
        }

        foreach (var module in modules)
        {
            foreach (var (version, name, sql) in Scripts(module.Assembly, ".Scripts."))
            {
                await ExecuteAsync(connection, sql);
                await ExecuteAsync(connection, $"INSERT INTO cb.module_versions (module, version, script) VALUES ('{module.Name}', {version}, '{name}')");
            }
        }
    }

    /// <summary>Appends one event through the old <c>append_events</c> (expected version: any), with the sequence
    /// number <paramref name="sequence"/> when given (the old sequence is set just before, as if the numbers in
    /// between had been taken by others).</summary>
    public static async Task AppendAsync(
        NpgsqlConnection connection, string streamId, string? aggregateType, string type, string data, string metadata, long? sequence = null)
    {
        if (sequence is { } seq)
        {
            await using var set = new NpgsqlCommand("SELECT setval('cb.event_sequence', $1, false)", connection);
            set.Parameters.Add(new NpgsqlParameter<long> { TypedValue = seq });
            await set.ExecuteNonQueryAsync();
        }

        await using var append = new NpgsqlCommand(
            "SELECT * FROM cb.append_events(ARRAY[$1], ARRAY[$2], ARRAY[-1::bigint], ARRAY[1], ARRAY[$3], ARRAY[$4::jsonb], ARRAY[$5::jsonb])", connection);
        append.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
        append.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)aggregateType ?? DBNull.Value });
        append.Parameters.Add(new NpgsqlParameter<string> { TypedValue = type });
        append.Parameters.Add(new NpgsqlParameter<string> { TypedValue = data });
        append.Parameters.Add(new NpgsqlParameter<string> { TypedValue = metadata });
        await append.ExecuteNonQueryAsync();
    }

    /// <summary>Every row of the given query rendered as text, for comparing a database before and after.</summary>
    public static async Task<List<string>> RowsAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(string.Join(" | ", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "<null>" : reader.GetValue(i) switch
            {
                DateTime t => t.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                var v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture),
            })));
        }

        return rows;
    }

    public static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql.Replace("__schema__", Schema, StringComparison.Ordinal), connection);
        await command.ExecuteNonQueryAsync();
    }

    private static List<(int Version, string Name, string Sql)> Scripts(System.Reflection.Assembly assembly, string folder) =>
        [.. assembly.GetManifestResourceNames()
            .Where(n => n.Contains(folder, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n =>
            {
                var file = n[(n.IndexOf(folder, StringComparison.Ordinal) + folder.Length)..];
                using var stream = assembly.GetManifestResourceStream(n)!;
                using var reader = new StreamReader(stream);
                return (int.Parse(file.AsSpan(0, 4), System.Globalization.CultureInfo.InvariantCulture), file, reader.ReadToEnd());
            })
            .OrderBy(s => s.Item1)];
}
