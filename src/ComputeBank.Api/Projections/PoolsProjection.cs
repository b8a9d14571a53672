using ComputeBank.Domain;
using ComputeBank.EventStore;
using Npgsql;
using NpgsqlTypes;

using static ComputeBank.Api.Projections.ArrayParameters;

namespace ComputeBank.Api.Projections;

/// <summary>
/// The async projection <c>pools</c>: pool totals per bucket (<see cref="PoolFold"/>) in <c>pool_totals</c>, run by the
/// <see cref="ProjectionDaemon"/> behind the feed's high-water mark. Each page is folded in memory and added to the
/// live generation's rows in one statement, in the daemon's transaction (which also advances the checkpoint).
/// </summary>
public sealed class PoolsProjection(PoolTable table, SystemAccountNames systemAccounts) : IAsyncProjection
{
    public const string ProjectionName = "pools";

    public string Name => ProjectionName;

    public async Task ApplyAsync(NpgsqlConnection c, NpgsqlTransaction tx, IReadOnlyList<ProjectedEvent> page, CancellationToken ct)
    {
        var fold = new PoolFold(systemAccounts);
        foreach (var e in page)
        {
            fold.Apply(e.Data);
        }

        if (fold.Totals.Count == 0)
        {
            return;
        }

        // Read after the daemon locked the checkpoint row, which a blue/green swap also holds: the generation is current.
        var generation = await table.LiveGenerationAsync(c, tx, ct);
        await table.AddAsync(c, tx, generation, fold.Totals, ct);
    }

    /// <summary>Only for <see cref="ProjectionDaemon.RebuildAsync"/>; the CLI rebuilds blue/green instead (ReadModelRebuilder).</summary>
    public async Task ResetAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct)
    {
        var generation = await table.LiveGenerationAsync(c, tx, ct);
        await table.DeleteGenerationAsync(c, tx, generation, ct);
    }
}

/// <summary>The SQL of <c>pool_totals</c> and its generations, shared by the projection, the rebuild, the auditor and the endpoint.</summary>
public sealed class PoolTable(string schema)
{
    public const string Columns =
        "deposited, withdrawn, transferred_between_accounts, transferred_in, transferred_out, rolled_over_in, rolled_over_out, expired, held, posted";

    private readonly string _add =
        $"INSERT INTO {schema}.pool_totals AS t (generation, resource_class, region, period, {Columns}) " +
        "SELECT $1, u.* FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], " +
        "$9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[]) u " +
        "ON CONFLICT (generation, resource_class, region, period) DO UPDATE SET " +
        string.Join(", ", Columns.Split(", ").Select(c => $"{c} = t.{c} + excluded.{c}"));

    public string Schema => schema;

    public string SelectLive { get; } =
        $"SELECT p.resource_class, p.region, p.period, {string.Join(", ", Columns.Split(", ").Select(c => "p." + c))} FROM {schema}.pool_totals p " +
        $"WHERE p.generation = (SELECT live FROM {schema}.read_model_generations WHERE name = '{PoolsProjection.ProjectionName}')";

    public async Task<int> LiveGenerationAsync(NpgsqlConnection c, NpgsqlTransaction? tx, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand($"SELECT live FROM {schema}.read_model_generations WHERE name = $1", c, tx);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = PoolsProjection.ProjectionName });
        return (int)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Adds <paramref name="totals"/> to the rows of <paramref name="generation"/> (creating missing rows), in one statement.</summary>
    public async Task AddAsync(NpgsqlConnection c, NpgsqlTransaction? tx, int generation, IReadOnlyDictionary<Bucket, PoolTotals> totals, CancellationToken ct)
    {
        var rows = totals.OrderBy(t => t.Key).ToList();
        await using var command = new NpgsqlCommand(_add, c, tx);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = generation });
        command.Parameters.Add(Text(rows.Select(r => r.Key.ResourceClass.Value)));
        command.Parameters.Add(Text(rows.Select(r => r.Key.Region.Value)));
        command.Parameters.Add(Text(rows.Select(r => r.Key.Period.ToString())));
        for (var field = 0; field < 10; field++)
        {
            var index = field;
            command.Parameters.Add(new NpgsqlParameter
            {
                Value = rows.Select(r => r.Value.Fields().ElementAt(index).Value).ToArray(),
                NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint,
            });
        }

        await command.ExecuteNonQueryAsync(ct);
    }

    public async Task DeleteGenerationAsync(NpgsqlConnection c, NpgsqlTransaction? tx, int generation, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand($"DELETE FROM {schema}.pool_totals WHERE generation = $1", c, tx);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = generation });
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Reads one row of <see cref="SelectLive"/> (columns from <paramref name="offset"/>: class, region, period, then the totals).</summary>
    public static (Bucket Bucket, PoolTotals Totals) ReadRow(NpgsqlDataReader reader, int offset = 0)
    {
        var bucket = Bucket.Of(reader.GetString(offset), reader.GetString(offset + 1), reader.GetString(offset + 2));
        var t = new PoolTotals
        {
            Deposited = reader.GetInt64(offset + 3),
            Withdrawn = reader.GetInt64(offset + 4),
            TransferredBetweenAccounts = reader.GetInt64(offset + 5),
            TransferredIn = reader.GetInt64(offset + 6),
            TransferredOut = reader.GetInt64(offset + 7),
            RolledOverIn = reader.GetInt64(offset + 8),
            RolledOverOut = reader.GetInt64(offset + 9),
            Expired = reader.GetInt64(offset + 10),
            Held = reader.GetInt64(offset + 11),
            Posted = reader.GetInt64(offset + 12),
        };
        return (bucket, t);
    }
}
