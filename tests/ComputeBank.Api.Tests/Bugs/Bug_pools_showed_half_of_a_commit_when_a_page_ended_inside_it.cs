using System.Net;
using ComputeBank.Api.Tests.Durable;

namespace ComputeBank.Api.Tests.Bugs;

/// <summary>
/// Found by the fault suite's pool readers: after a PostgreSQL restart the daemon caught up in pages of 500 events, a
/// page ended inside a group commit (its events are ordered by stream, so a transfer's debit and credit lie apart), and
/// GET /pools showed 100,022.141 hours posted of a conserved 100,000. The daemon now ends every page between two
/// transactions, and reads further when one commit fills the whole page. A trigger records the pool as of every
/// checkpoint the daemon commits; with one commit of 300 transfers (600 events, six times the 100 rows a page reads
/// here) every recorded total must still be the conserved one.
/// </summary>
public sealed class Bug_pools_showed_half_of_a_commit_when_a_page_ended_inside_it(SmallPageApiFactory factory) : IClassFixture<SmallPageApiFactory>
{
    [Fact]
    public async Task GivenOneCommitLargerThanAPage_WhenTheDaemonProjectsIt_ThenNoCheckpointShowsPartOfIt()
    {
        var client = new LedgerClient(factory.CreateClient());
        await client.FundAsync("half-p", "half-a", "300");
        (await client.OpenAsync("half-b")).ShouldBe(HttpStatusCode.Created);
        var head = await factory.Database.ScalarAsync<long>("SELECT max(seq_id) FROM cb.events");
        await Eventually.WaitAsync(() => client.PoolAsOfAsync(), asOf => asOf >= head, "the pools to catch up");
        await factory.Database.ExecuteAsync("""
            CREATE TABLE pool_checkpoints (last_sequence bigint, posted bigint);
            CREATE FUNCTION record_pool_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO pool_checkpoints SELECT NEW.last_sequence, p.posted FROM cb.pool_totals p
                WHERE p.generation = (SELECT live FROM cb.read_model_generations WHERE name = 'pools')
                  AND p.resource_class = 'gpu.h100' AND p.region = 'beijing' AND p.period = '2026-11';
                RETURN NEW;
            END $$;
            CREATE TRIGGER record_pool_checkpoint AFTER UPDATE ON cb.projection_progress
                FOR EACH ROW WHEN (NEW.name = 'pools') EXECUTE FUNCTION record_pool_checkpoint();
            """);

        var transfers = Enumerable.Range(0, 300).Select(i => new
        {
            type = "transfer",
            body = new { transferId = $"half-{i}", fromAccountId = "half-a", toAccountId = "half-b", resourceClass = "gpu.h100", region = "beijing", period = LedgerClient.Period, hours = "1" },
        });
        var batch = (await client.PostAsync("/api/v1/commands/batch", new { atomic = true, commands = transfers.ToArray() })).ShouldBe(HttpStatusCode.OK);
        Assert.Equal(0, (int)batch.Body!["failed"]!);

        var last = await factory.Database.ScalarAsync<long>("SELECT max(seq_id) FROM cb.events");
        await Eventually.WaitAsync(() => client.PoolAsOfAsync(), asOf => asOf >= last, "the pools to read the batch");
        Assert.Equal(
            "300000",
            await factory.Database.ScalarAsync<string>("SELECT string_agg(DISTINCT posted::text, ',') FROM pool_checkpoints WHERE last_sequence > " + head));
    }
}

/// <summary>The API with projection pages of 100 rows, so that one commit of a test spans several pages.</summary>
public sealed class SmallPageApiFactory : DurableApiFactory
{
    protected override void AddSettings(IDictionary<string, string?> settings) =>
        settings["ComputeBank:Operations:ProjectionPageRows"] = "100";
}
