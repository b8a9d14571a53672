using System.Net;
using ComputeBank.Api.Tests.Durable;
using Npgsql;

namespace ComputeBank.Api.Tests.Bugs;

/// <summary>
/// Found by the fault suite's pool readers: the pools projection lost a transfer's credit for good (posted 33.088 hours
/// short from the first seconds of the load, before any fault). The gap rule took "not in the snapshot's in-progress
/// list" for "finished", but PostgreSQL lists only running transactions below the snapshot's xmax (one past the newest
/// finished id). A transaction that got its id after another one, yet took its sequence number first, is running and
/// unlisted when only the older one has committed: the daemon skipped its hole at once and never read its event. The
/// gap evidence now also covers ids from xmax up to an id taken after the snapshot.
/// </summary>
public sealed class Bug_pools_skipped_an_event_of_a_transaction_at_or_above_the_snapshot_xmax(ApiFactory factory) : IClassFixture<ApiFactory>
{
    private const string Pool = "/api/v1/pools/gpu.h100/beijing/2026-11";

    [Fact]
    public async Task GivenYoungerTransactionTookTheLowerSequence_WhenOnlyTheOlderHasCommitted_ThenThePoolsStillGetBothEvents()
    {
        var client = new LedgerClient(factory.CreateClient());
        foreach (var (provider, hours) in new[] { ("xmax-p1", "5"), ("xmax-p2", "7") })
        {
            (await client.OpenAsync(provider, "provider")).ShouldBe(HttpStatusCode.Created);
            (await client.DepositAsync("dep-" + provider, provider, hours)).ShouldBe(HttpStatusCode.Created);
        }

        var head = await factory.Database.ScalarAsync<long>("SELECT max(seq_id) FROM cb.events");
        await Eventually.WaitAsync(() => client.PoolAsOfAsync(), asOf => asOf >= head, "the pools to catch up");

        // The older transaction gets its id first; the younger takes its id and its sequence number next; then the
        // older takes the following number and commits. Each appends another copy of its provider's deposit.
        await using var older = await factory.Database.OpenAsync();
        await using var olderTx = await older.BeginTransactionAsync();
        await ScalarAsync(older, olderTx, "SELECT pg_current_xact_id()::text::bigint");
        await using var younger = await factory.Database.OpenAsync();
        await using var youngerTx = await younger.BeginTransactionAsync();
        var lower = await AppendCopyOfDepositAsync(younger, youngerTx, "xmax-p1");
        var higher = await AppendCopyOfDepositAsync(older, olderTx, "xmax-p2");
        Assert.Equal(lower + 1, higher);
        await olderTx.CommitAsync();

        // The daemon polls meanwhile (every 250 ms): the only thing that may let it pass the hole is the younger commit.
        await Task.Delay(TimeSpan.FromSeconds(1));
        await youngerTx.CommitAsync();

        var pool = await Eventually.WaitAsync(() => client.GetAsync(Pool), p => (long)p.Body!["asOfSequence"]! >= higher, "the pools to read both events");
        Assert.Equal("24.000", (string?)pool.Body!["deposited"]);
        Assert.Equal("24.000", (string?)pool.Body!["posted"]);
    }

    private static Task<long> AppendCopyOfDepositAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string provider) =>
        ScalarAsync(connection, transaction, $$"""
            WITH copy AS (SELECT data FROM cb.events WHERE stream_id = 'account-{{provider}}' AND type = 'V1.CapacityDeposited' LIMIT 1),
            stream AS (
                UPDATE cb.mt_streams SET version = version + 1 WHERE id = 'account-{{provider}}' RETURNING version),
            appended AS (
                INSERT INTO cb.mt_events (seq_id, id, stream_id, version, data, type, timestamp, tenant_id, is_archived)
                SELECT nextval('cb.mt_events_sequence'), gen_random_uuid(), 'account-{{provider}}', stream.version, copy.data,
                       'V1.CapacityDeposited', clock_timestamp(), '*DEFAULT*', false
                FROM stream, copy
                RETURNING seq_id)
            SELECT seq_id FROM appended
            """, $"SELECT cb.chain_events(ARRAY['account-{provider}'], ARRAY[NULL::text])");

    private static async Task<long> ScalarAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, string? then = null)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        var result = (long)(await command.ExecuteScalarAsync())!;
        if (then is not null)
        {
            await using var next = new NpgsqlCommand(then, connection, transaction);
            await next.ExecuteNonQueryAsync();
        }

        return result;
    }
}
