-- append_events for the common case of ONE stream (a single command's append, a one-stream session): the same
-- contract, arguments and answer, with scalar statements instead of set-based ones over the parameter arrays. The
-- set-based function plans and runs four statements joined to unnest() whatever the size; for one stream that work
-- was most of the call (measured with pgbench: about half the throughput of this form). The rules are those of
-- append_events: lock the row, check the expected version before any sequence number is taken (SQLSTATE CB409 with
-- the actual version in the hint), create a missing stream (a creator that got there first is a conflict for "no
-- stream"), chain the hashes, then write the stream head and the events with sequence numbers in event order.
CREATE FUNCTION __schema__.append_stream(
    p_streams text[], p_aggregate_types text[], p_expected bigint[], p_counts integer[],
    p_types text[], p_data jsonb[], p_metadata jsonb[],
    OUT versions bigint[], OUT sequences bigint[], OUT appended_at timestamptz)
LANGUAGE plpgsql
AS $$
DECLARE
    v_stream text := p_streams[1];
    v_expected bigint := p_expected[1];
    v_count integer := cardinality(p_types);
    v_current bigint;
    v_head text;
    v_created text;
    v_hashes text[] := array_fill(NULL::text, ARRAY[v_count]);
    v_previous text[] := array_fill(NULL::text, ARRAY[v_count]);
    j integer;
BEGIN
    IF cardinality(p_streams) <> 1 OR cardinality(p_counts) <> 1 OR p_counts[1] <> v_count THEN
        RAISE EXCEPTION 'append_stream: one stream and its % events expected', v_count;
    END IF;

    SELECT t.version, t.last_hash INTO v_current, v_head FROM __schema__.streams AS t WHERE t.id = v_stream FOR UPDATE;
    IF FOUND THEN
        IF v_expected = 0 OR (v_expected > 0 AND v_current <> v_expected) THEN
            PERFORM __schema__.stream_conflict(v_stream, v_expected, v_current);
        END IF;
    ELSE
        IF v_expected > 0 THEN
            PERFORM __schema__.stream_conflict(v_stream, v_expected, 0);
        END IF;

        INSERT INTO __schema__.streams AS t (id, aggregate_type, version, created_at, updated_at)
        VALUES (v_stream, p_aggregate_types[1], v_count, now(), now())
        ON CONFLICT (id) DO NOTHING
        RETURNING t.id INTO v_created;
        IF v_created IS NULL THEN
            -- Created by another transaction meanwhile: a conflict for "no stream", appended to for "any".
            SELECT t.version, t.last_hash INTO v_current, v_head FROM __schema__.streams AS t WHERE t.id = v_stream FOR UPDATE;
            IF v_expected = 0 THEN
                PERFORM __schema__.stream_conflict(v_stream, v_expected, v_current);
            END IF;
        ELSE
            v_current := 0;
            v_head := NULL;
        END IF;
    END IF;

    appended_at := clock_timestamp();
    FOR j IN 1 .. v_count LOOP
        v_previous[j] := v_head;
        v_head := __schema__.event_hash(v_stream, v_current + j, p_types[j], p_data[j], p_metadata[j], appended_at, v_head);
        v_hashes[j] := v_head;
    END LOOP;

    versions := ARRAY[v_current + v_count];
    UPDATE __schema__.streams SET version = v_current + v_count, last_hash = v_head, updated_at = now() WHERE id = v_stream;
    -- Sequence numbers are taken only now, row by row in event order, so sorting them gives them back in that order.
    WITH inserted AS (
        INSERT INTO __schema__.events (seq_id, stream_id, version, type, data, metadata, timestamp, hash, previous_hash)
        SELECT nextval('__schema__.event_sequence'), v_stream, v_current + e.o, e.type, e.data, e.metadata, appended_at, e.hash, e.previous_hash
        FROM unnest(p_types, p_data, p_metadata, v_hashes, v_previous) WITH ORDINALITY AS e(type, data, metadata, hash, previous_hash, o)
        RETURNING seq_id)
    SELECT coalesce(array_agg(seq_id ORDER BY seq_id), '{}') INTO sequences FROM inserted;
END;
$$;
