-- Appends the events of a whole group commit to Marten's tables in one call, and links them into their streams' hash
-- chains as they are written. Marten appends stream by stream (mt_quick_append_events, one PL/pgSQL call per stream:
-- 85 ms for the 1,000 streams of a 1,000-transfer group commit, then 51 ms for chain_events to read the events back
-- and hash them); set-based, this call grows with its rows rather than with statements per stream. It writes what
-- Marten's append writes (mt_streams, mt_events with their metadata columns, mt_events_sequence), so Marten reads the
-- result like its own.
--
-- Streams come as parallel arrays (id, aggregate type or NULL, the version the caller found under its locks, number of
-- events), their events as parallel arrays in the same stream order; all events share p_timestamp. Returns the
-- sequence numbers of the events, in that order.
--   1. The stream rows are locked in id order (the caller holds them already; a writer outside our locks waits here)
--      and every version compared with the caller's; a mismatch raises SQLSTATE CB409 (hint: stream, expected,
--      actual) before any sequence number is taken, so a refused append burns none and leaves no tombstone.
--   2. A stream whose chain lags its version (events appended around this function) is chained up first.
--   3. The hash chains are computed in memory, then the stream rows, the events and their links are written in one
--      statement each.
CREATE FUNCTION __schema__.append_streams(
    p_streams text[], p_stream_types text[], p_versions bigint[], p_counts integer[],
    p_ids uuid[], p_types text[], p_dotnet_types text[], p_data jsonb[],
    p_correlation_ids text[], p_causation_ids text[], p_user_names text[], p_headers jsonb[],
    p_timestamp timestamptz)
RETURNS bigint[]
LANGUAGE plpgsql
-- Generic plans: a custom plan per call carries the arrays as constants, and planning the event insert with its
-- thousands of values took longer than running it (57 ms against 31 ms for 2,125 events). No JIT for a few thousand rows.
SET jit = off
AS $$
DECLARE
    v_stream_count integer := cardinality(p_streams);
    v_event_count integer := cardinality(p_types);
    v_conflict record;
    v_heads text[];
    v_lagging text[];
    v_event_streams text[] := array_fill(NULL::text, ARRAY[v_event_count]);
    v_event_versions bigint[] := array_fill(0::bigint, ARRAY[v_event_count]);
    v_hashes text[] := array_fill(NULL::text, ARRAY[v_event_count]);
    v_previous text[] := array_fill(NULL::text, ARRAY[v_event_count]);
    v_sequences bigint[];
    v_head text;
    v_offset integer := 0;
    s integer;
    j integer;
BEGIN
    IF v_event_count <> (SELECT coalesce(sum(c), 0) FROM unnest(p_counts) AS c) THEN
        RAISE EXCEPTION 'append_streams: % events given, the stream counts add up to something else', v_event_count;
    END IF;

    -- 1. Lock, read and compare, in id order.
    SELECT w.id, w.version AS expected, coalesce(l.version, 0) AS actual INTO v_conflict
    FROM unnest(p_streams, p_versions) AS w(id, version)
    LEFT JOIN (SELECT t.id, t.version FROM __schema__.mt_streams AS t WHERE t.id = ANY(p_streams) ORDER BY t.id FOR UPDATE) AS l
        ON l.id = w.id
    WHERE coalesce(l.version, 0) <> w.version
    ORDER BY w.id
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CB409',
            MESSAGE = format('Concurrency conflict on stream ''%s'': expected version %s, actual version %s',
                             v_conflict.id, v_conflict.expected, v_conflict.actual),
            HINT = json_build_object('stream', v_conflict.id, 'expected', v_conflict.expected, 'actual', v_conflict.actual)::text;
    END IF;

    -- 2. The chain heads: the link of each stream's current version.
    SELECT array_agg(h.hash ORDER BY w.o), array_agg(w.id) FILTER (WHERE w.version > 0 AND h.hash IS NULL)
    INTO v_heads, v_lagging
    FROM unnest(p_streams, p_versions) WITH ORDINALITY AS w(id, version, o)
    LEFT JOIN __schema__.event_hashes AS h ON h.stream_id = w.id AND h.version = w.version;
    IF v_lagging IS NOT NULL THEN
        PERFORM __schema__.chain_events(v_lagging, array_fill(NULL::text, ARRAY[cardinality(v_lagging)]));
        SELECT array_agg(h.hash ORDER BY w.o) INTO v_heads
        FROM unnest(p_streams, p_versions) WITH ORDINALITY AS w(id, version, o)
        LEFT JOIN __schema__.event_hashes AS h ON h.stream_id = w.id AND h.version = w.version;
    END IF;

    -- 3. Hash chains (expressions only, no statements), then one write per table.
    FOR s IN 1 .. v_stream_count LOOP
        v_head := v_heads[s];
        FOR j IN 1 .. p_counts[s] LOOP
            v_offset := v_offset + 1;
            v_event_streams[v_offset] := p_streams[s];
            v_event_versions[v_offset] := p_versions[s] + j;
            v_previous[v_offset] := v_head;
            v_head := __schema__.event_hash(p_streams[s], p_versions[s] + j, p_types[v_offset], p_data[v_offset],
                __schema__.event_metadata(p_correlation_ids[v_offset], p_causation_ids[v_offset], p_user_names[v_offset], p_headers[v_offset]),
                p_timestamp, v_head);
            v_hashes[v_offset] := v_head;
        END LOOP;
    END LOOP;

    -- Sequence numbers in event order (ARRAY() keeps the order of generate_series), only now that nothing can refuse.
    v_sequences := ARRAY(SELECT nextval('__schema__.mt_events_sequence') FROM generate_series(1, v_event_count));

    INSERT INTO __schema__.mt_streams (id, type, version, timestamp, created)
    SELECT n.id, n.type, n.count, now(), now()
    FROM unnest(p_streams, p_stream_types, p_versions, p_counts) AS n(id, type, version, count)
    WHERE n.version = 0
    ORDER BY n.id;

    UPDATE __schema__.mt_streams AS t
    SET version = n.version + n.count, timestamp = now(), type = coalesce(n.type, t.type)
    FROM unnest(p_streams, p_stream_types, p_versions, p_counts) AS n(id, type, version, count)
    WHERE t.id = n.id AND n.version > 0;

    INSERT INTO __schema__.mt_events
        (seq_id, id, stream_id, version, data, type, timestamp, mt_dotnet_type, is_archived,
         correlation_id, causation_id, headers, user_name)
    SELECT e.seq_id, e.id, e.stream_id, e.version, e.data, e.type, p_timestamp, e.dotnet_type, false,
           e.correlation_id, e.causation_id, e.headers, e.user_name
    FROM unnest(v_sequences, p_ids, v_event_streams, v_event_versions, p_data, p_types, p_dotnet_types,
                p_correlation_ids, p_causation_ids, p_headers, p_user_names)
        AS e(seq_id, id, stream_id, version, data, type, dotnet_type, correlation_id, causation_id, headers, user_name);

    INSERT INTO __schema__.event_hashes (seq_id, stream_id, version, hash, previous_hash)
    SELECT * FROM unnest(v_sequences, v_event_streams, v_event_versions, v_hashes, v_previous);

    RETURN v_sequences;
END;
$$;
