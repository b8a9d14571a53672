using System.Text;
using ComputeBank.Api.Auditing;
using ComputeBank.Domain;
using ComputeBank.EventStore;
using Microsoft.Extensions.DependencyInjection;

namespace ComputeBank.Api.Tests.ReadSide;

/// <summary>Rebuilding read models from events gives exactly what the commands maintained incrementally.</summary>
public sealed class RebuildTests(ApiFactory factory) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task GivenIncrementallyMaintainedReadModels_WhenRebuildingAll_ThenRowsAreByteIdentical_AndPoolsSwappedGeneration()
    {
        var client = new LedgerClient(factory.CreateClient());
        var scenario = new LedgerScenario(client);
        await scenario.RunAsync();
        await scenario.WaitForPoolsAsync();
        var before = await DumpAsync();
        var generation = await factory.Database.ScalarAsync<int>("SELECT live FROM cb.read_model_generations WHERE name = 'pools'");

        var store = factory.Services.GetRequiredService<MartenEventStore>();
        var progress = new List<RebuildProgress>();
        var result = await new ReadModelRebuilder(store, factory.Services.GetRequiredService<LedgerCatalogue>())
            .RebuildAsync([.. ReadModels.All.Keys], new SyncProgress(progress.Add), default);

        Assert.Equal(23, result.EventsReplayed);
        Assert.Equal(before, await DumpAsync());
        Assert.Equal(generation + 1, await factory.Database.ScalarAsync<int>("SELECT live FROM cb.read_model_generations WHERE name = 'pools'"));
        Assert.Equal(0, await factory.Database.ScalarAsync<int>($"SELECT count(*) FROM cb.pool_totals WHERE generation = {generation}"));
        Assert.Equal(23, progress[^1].EventsProcessed);
        Assert.Contains("account-alice", before, StringComparison.Ordinal);
    }

    private async Task<string> DumpAsync()
    {
        var dump = new StringBuilder();
        foreach (var sql in new[]
        {
            "SELECT account_id, resource_class, region, period, posted, pending, version FROM cb.account_buckets ORDER BY 1, 2, 3, 4",
            "SELECT stream_id, version, type, data::text FROM cb.snapshots ORDER BY 1",
            "SELECT resource_class, region, period, " + Projections.PoolTable.Columns + " FROM cb.pool_totals " +
            "WHERE generation = (SELECT live FROM cb.read_model_generations WHERE name = 'pools') ORDER BY 1, 2, 3",
        })
        {
            await using var connection = await factory.Database.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand(sql, connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    dump.Append(reader.GetValue(i)).Append('|');
                }

                dump.Append('\n');
            }

            dump.Append("--\n");
        }

        return dump.ToString();
    }

    private sealed class SyncProgress(Action<RebuildProgress> report) : IProgress<RebuildProgress>
    {
        public void Report(RebuildProgress value) => report(value);
    }
}
