using ComputeBank.Api.Projections;
using ComputeBank.EventStore;

namespace ComputeBank.Api.Auditing;

/// <summary>How far one read model is behind the event log.</summary>
/// <param name="Name">Read model name.</param>
/// <param name="Kind"><c>inline</c> (written in the events' own transaction: never behind) or <c>async</c> (the daemon).</param>
/// <param name="Checkpoint">The last sequence applied (inline: the head).</param>
/// <param name="Head">The highest event sequence.</param>
/// <param name="Lag">Events not yet applied.</param>
/// <param name="Detail">Generation or other state worth knowing (a rebuild in progress).</param>
public sealed record ProjectionStatus(string Name, string Kind, long Checkpoint, long Head, long Lag, string Detail);

/// <summary>Reads <see cref="ProjectionStatus"/> of every read model from the database.</summary>
public sealed class ProjectionStatusReader(MartenEventStore store)
{
    public async Task<IReadOnlyList<ProjectionStatus>> ReadAsync(CancellationToken ct)
    {
        var schema = store.Schema;
        await using var scan = await EventScan.OpenAsync(store.DataSource, schema, ct);
        long head = 0;
        await scan.ReadAsync($"SELECT coalesce(max(seq_id), 0) FROM {schema}.mt_events", r => head = r.GetInt64(0), ct);
        var checkpoints = new Dictionary<string, long>(StringComparer.Ordinal);
        await scan.ReadAsync($"SELECT name, last_sequence FROM {schema}.projection_progress", r => checkpoints[r.GetString(0)] = r.GetInt64(1), ct);
        var generation = "";
        await scan.ReadAsync($"SELECT live, building FROM {schema}.read_model_generations WHERE name = '{PoolsProjection.ProjectionName}'",
            r => generation = r.IsDBNull(1) ? $"generation {r.GetInt32(0)}" : $"generation {r.GetInt32(0)}, rebuilding into {r.GetInt32(1)}", ct);
        var rows = new Dictionary<string, long>(StringComparer.Ordinal);
        await scan.ReadAsync($"SELECT (SELECT count(*) FROM {schema}.account_buckets), (SELECT count(*) FROM {schema}.snapshots)", r =>
        {
            rows[ReadModels.AccountBuckets] = r.GetInt64(0);
            rows[ReadModels.Snapshots] = r.GetInt64(1);
        }, ct);

        return [.. ReadModels.All.Select(m => m.Value == "inline"
            ? new ProjectionStatus(m.Key, m.Value, head, head, 0, $"{rows[m.Key]} rows, written with the events")
            : new ProjectionStatus(m.Key, m.Value, checkpoints.GetValueOrDefault(m.Key), head, head - checkpoints.GetValueOrDefault(m.Key), generation))];
    }
}
