-- append_stream for the commonest append of all, ONE event to ONE stream (a single command on one account, the
-- event-per-transaction workload): the same rules with scalar arguments and a scalar answer. Arrays in and out, and
-- the loop over them, were most of append_stream's cost for one event (pgbench, 8 clients: about 0.4x of a plain
-- INSERT for append_stream, about 0.55x for this form). Lock the row, check the expected version before the sequence
-- number is taken (SQLSTATE CB409 via stream_conflict), create a missing stream (a creator that got there first is a
-- conflict for "no stream"), chain the hash, write the stream head and the event.
CREATE FUNCTION __schema__.append_one(
    p_stream text, p_aggregate_type text, p_expected bigint, p_type text, p_data jsonb, p_metadata jsonb,
    OUT version bigint, OUT sequence bigint, OUT appended_at timestamptz)
LANGUAGE plpgsql
AS $$
DECLARE
    v_current bigint;
    v_previous text;
    v_hash text;
    v_created text;
BEGIN
    SELECT t.version, t.last_hash INTO v_current, v_previous FROM __schema__.streams AS t WHERE t.id = p_stream FOR UPDATE;
    IF FOUND THEN
        IF p_expected = 0 OR (p_expected > 0 AND v_current <> p_expected) THEN
            PERFORM __schema__.stream_conflict(p_stream, p_expected, v_current);
        END IF;
    ELSE
        IF p_expected > 0 THEN
            PERFORM __schema__.stream_conflict(p_stream, p_expected, 0);
        END IF;
        INSERT INTO __schema__.streams AS t (id, aggregate_type, version, created_at, updated_at)
        VALUES (p_stream, p_aggregate_type, 1, now(), now())
        ON CONFLICT (id) DO NOTHING
        RETURNING t.id INTO v_created;
        IF v_created IS NULL THEN
            SELECT t.version, t.last_hash INTO v_current, v_previous FROM __schema__.streams AS t WHERE t.id = p_stream FOR UPDATE;
            IF p_expected = 0 THEN
                PERFORM __schema__.stream_conflict(p_stream, p_expected, v_current);
            END IF;
        ELSE
            v_current := 0;
        END IF;
    END IF;

    appended_at := clock_timestamp();
    version := v_current + 1;
    v_hash := __schema__.event_hash(p_stream, version, p_type, p_data, p_metadata, appended_at, v_previous);
    UPDATE __schema__.streams AS t SET version = v_current + 1, last_hash = v_hash, updated_at = now() WHERE t.id = p_stream;
    INSERT INTO __schema__.events AS e (seq_id, stream_id, version, type, data, metadata, timestamp, hash, previous_hash)
    VALUES (nextval('__schema__.event_sequence'), p_stream, v_current + 1, p_type, p_data, p_metadata, appended_at, v_hash, v_previous)
    RETURNING e.seq_id INTO sequence;
END;
$$;
