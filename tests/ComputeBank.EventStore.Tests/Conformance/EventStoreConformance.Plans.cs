namespace ComputeBank.EventStore.Tests.Conformance;

public abstract partial class EventStoreConformance
{
    // A group commit loads hundreds of streams whose states it already holds. The load must probe each stream's
    // events through the (stream_id, version) index: planned as a join, it became a hash join over the whole events
    // table, a cost that grows with the ledger's history (the planner cannot see that almost no event qualifies).
    // Counted through the transaction's own table statistics, so the check is about the plan, not a timing.
    [Fact]
    public async Task GivenLongHistory_WhenFetchingManyStreamsAtKnownVersions_ThenTheEventsTableIsNeverScanned()
    {
        var schema = Schema + "_plan";
        await ExecuteAsync($"DROP SCHEMA IF EXISTS {schema} CASCADE");
        await using var store = MartenEventStore.Create(new EventStoreOptions { ConnectionString = Database.ConnectionString, Schema = schema }, TestTypes.Registry());
        await store.MigrateAsync(Ct);
        const int streams = 400, versions = 100;
        await ExecuteAsync(
            $$"""
            INSERT INTO {{schema}}.mt_streams (id, type, version, timestamp, created, tenant_id, is_archived)
            SELECT 'plan-' || s, 'Account', {{versions}}, now(), now(), '*DEFAULT*', false FROM generate_series(1, {{streams}}) s;
            INSERT INTO {{schema}}.mt_events (seq_id, id, stream_id, version, type, data, timestamp, tenant_id, is_archived)
            SELECT nextval('{{schema}}.mt_events_sequence'), gen_random_uuid(), 'plan-' || s, v, 'V1.Deposited', '{"amount":1}', now(), '*DEFAULT*', false
            FROM generate_series(1, {{streams}}) s, generate_series(1, {{versions}}) v;
            ANALYZE {{schema}}.mt_streams; ANALYZE {{schema}}.mt_events; ANALYZE {{schema}}.event_hashes; ANALYZE {{schema}}.snapshots;
            """);

        try
        {
            var ids = Enumerable.Range(1, streams).Select(s => $"plan-{s}").ToArray();
            await using var session = store.OpenSession();
            var before = await ScansAsync(session, schema);
            var fetched = await session.FetchForWritingAsync(ids, LockMode.None, ids.ToDictionary(id => id, _ => (long)versions), Ct);
            var after = await ScansAsync(session, schema);

            Assert.All(fetched.Values, f => Assert.True(f.FromKnownVersion && f.Version == versions && f.EventsAfterSnapshot.Count == 0));
            Assert.Equal(0, after.Sequential - before.Sequential);
            Assert.True(after.Index > before.Index, "the events were not looked up through an index");
        }
        finally
        {
            await ExecuteAsync($"DROP SCHEMA IF EXISTS {schema} CASCADE");
        }
    }

    // The backend's table statistics not yet flushed (they include earlier transactions on the same connection, so
    // only a difference means anything).
    private async Task<(long Sequential, long Index)> ScansAsync(IEventSession session, string schema)
    {
        await using var stats = new Npgsql.NpgsqlCommand(
            $"SELECT coalesce(seq_scan, 0), coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables WHERE relid = '{schema}.mt_events'::regclass",
            session.Connection, session.Transaction);
        await using var reader = await stats.ExecuteReaderAsync(Ct);
        Assert.True(await reader.ReadAsync(Ct));
        return (reader.GetInt64(0), reader.GetInt64(1));
    }
}
