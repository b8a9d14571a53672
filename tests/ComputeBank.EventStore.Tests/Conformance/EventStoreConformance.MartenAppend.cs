using JasperFx.Events;
using Marten;
using Npgsql;

namespace ComputeBank.EventStore.Tests.Conformance;

/// <summary>The store's set-based append (append_streams) writes Marten's tables as Marten's own append would.</summary>
public abstract partial class EventStoreConformance
{
    [Fact]
    public async Task GivenEventsAppendedByTheStore_WhenMartenReadsTheStream_ThenItSeesThemAsItsOwn()
    {
        var id = NewStreamId("marten-reads");
        await using (var session = Store.OpenSession(new EventMetadata { CorrelationId = "corr-7", CausationId = "cmd-7", User = "carol", Headers = new Dictionary<string, string> { ["h"] = "x" } }))
        {
            session.StartStream(id, "Account", [new Deposited(10), new Withdrawn(4)]);
            await session.SaveChangesAsync(Ct);
        }

        var appended = await AppendAsync(id, ExpectedVersion.Exactly(2), new Deposited(1));

        using var marten = DocumentStore.For(o =>
        {
            o.Connection(Database.ConnectionString);
            o.DatabaseSchemaName = Schema;
            o.Events.DatabaseSchemaName = Schema;
            o.Events.StreamIdentity = StreamIdentity.AsString;
            o.Events.EnableBigIntEvents = true;
            o.Events.MetadataConfig.EnableAll();
            o.UseSystemTextJsonForSerialization(Weasel.Core.EnumStorage.AsString, Weasel.Core.Casing.CamelCase);
            o.Events.MapEventType<Deposited>("V1.Deposited");
            o.Events.MapEventType<Withdrawn>("V1.Withdrawn");
            o.AutoCreateSchemaObjects = JasperFx.AutoCreate.None;
        });
        await using var query = marten.QuerySession();

        var events = await query.Events.FetchStreamAsync(id, token: Ct);

        Assert.Equal([new Deposited(10), new Withdrawn(4), new Deposited(1)], events.Select(e => e.Data));
        Assert.Equal([1L, 2L, 3L], events.Select(e => e.Version));
        Assert.Equal(appended.Events[0].Sequence, events[2].Sequence);
        Assert.All(events.Take(2), e => Assert.Equal(("corr-7", "cmd-7"), (e.CorrelationId, e.CausationId)));
        Assert.Equal("carol", await Database.ScalarAsync<string>($"SELECT user_name FROM {Schema}.mt_events WHERE stream_id = '{id}' AND version = 1", Ct));
        Assert.Equal("x", events[0].Headers!["h"]?.ToString());
        var state = await query.Events.FetchStreamStateAsync(id, Ct);
        Assert.Equal(3L, state!.Version);
    }

    [Fact]
    public async Task GivenEventsAppendedAroundTheStoreAndNotChained_WhenTheStoreAppendsNext_ThenTheyAreChainedFirst()
    {
        var id = NewStreamId("lagging");
        await AppendAsync(id, ExpectedVersion.NoStream, new Deposited(1));
        await ExecuteAsync(
            $"UPDATE {{schema}}.mt_streams SET version = 2 WHERE id = '{id}'; " +
            $"INSERT INTO {{schema}}.mt_events (seq_id, id, stream_id, version, data, type, timestamp) " +
            $"VALUES (nextval('{{schema}}.mt_events_sequence'), gen_random_uuid(), '{id}', 2, '{{\"amount\": 2}}', 'V1.Deposited', clock_timestamp())");

        await AppendAsync(id, ExpectedVersion.Exactly(2), new Deposited(3));

        Assert.Equal(3L, await ScalarAsync($"SELECT count(*) FROM {{schema}}.event_hashes WHERE stream_id = '{id}'"));
        Assert.Empty(await Store.VerifyHashChainsAsync(Ct, id));
    }

    [Fact]
    public async Task GivenAVersionTheStreamIsNotAt_WhenAppendStreamsIsCalled_ThenItRefusesBeforeTakingASequenceNumber()
    {
        var id = NewStreamId("guarded");
        await AppendAsync(id, ExpectedVersion.NoStream, new Deposited(1), new Deposited(2));
        var before = await ScalarAsync("SELECT last_value FROM {schema}.mt_events_sequence");

        await using var connection = await Database.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(
            $"SELECT {Schema}.append_streams(ARRAY[$1], ARRAY[NULL::text], ARRAY[1::bigint], ARRAY[1], ARRAY[gen_random_uuid()], " +
            "ARRAY['V1.Deposited'], ARRAY['x'], ARRAY['{}'::jsonb], ARRAY[NULL::text], ARRAY[NULL::text], ARRAY[NULL::text], ARRAY[NULL::jsonb], now())",
            connection)
        {
            Parameters = { new NpgsqlParameter<string> { TypedValue = id } },
        };
        var refused = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteScalarAsync(Ct));

        Assert.Equal("CB409", refused.SqlState);
        var hint = System.Text.Json.JsonDocument.Parse(refused.Hint!).RootElement;
        Assert.Equal((id, 1L, 2L), (hint.GetProperty("stream").GetString(), hint.GetProperty("expected").GetInt64(), hint.GetProperty("actual").GetInt64()));
        Assert.Equal(before, await ScalarAsync("SELECT last_value FROM {schema}.mt_events_sequence"));
        Assert.Equal(2L, await ScalarAsync($"SELECT count(*) FROM {{schema}}.mt_events WHERE stream_id = '{id}'"));
    }
}
