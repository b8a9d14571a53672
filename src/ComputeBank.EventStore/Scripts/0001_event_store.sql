-- Event store schema: streams, events, snapshots, projection progress, the hash function and the append function.

-- One global order for all events. CACHE 1 (the default) matters: values are handed out in time order across
-- sessions, which the projection daemon's gap rule relies on.
CREATE SEQUENCE __schema__.event_sequence AS bigint CACHE 1;

CREATE TABLE __schema__.streams (
    id              text        PRIMARY KEY,
    aggregate_type  text,
    version         bigint      NOT NULL CHECK (version > 0),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    archived        boolean     NOT NULL DEFAULT false,
    last_hash       text
);

CREATE TABLE __schema__.events (
    seq_id          bigint      PRIMARY KEY,
    stream_id       text        NOT NULL,
    version         bigint      NOT NULL,
    type            text        NOT NULL,
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL,
    timestamp       timestamptz NOT NULL,
    hash            text        NOT NULL,
    previous_hash   text,
    -- The last guard against two writers taking the same version, whatever the append path.
    CONSTRAINT events_stream_version UNIQUE (stream_id, version)
);

-- Only the latest snapshot of a stream is kept; an older one never overwrites a newer one.
CREATE TABLE __schema__.snapshots (
    stream_id       text        PRIMARY KEY,
    version         bigint      NOT NULL,
    type            text        NOT NULL,
    data            jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE __schema__.projection_progress (
    name            text        PRIMARY KEY,
    last_sequence   bigint      NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- The tamper-evident link of one event. Everything that describes the event goes in, in a fixed text form:
-- jsonb::text is canonical (key order and spacing are normalised by jsonb), the timestamp is rendered in UTC with
-- microseconds whatever the session's TimeZone, and the previous event's hash chains the stream.
CREATE FUNCTION __schema__.event_hash(
    p_stream_id text, p_version bigint, p_type text, p_data jsonb, p_metadata jsonb,
    p_timestamp timestamptz, p_previous_hash text)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN encode(sha256(convert_to(
    p_stream_id || E'\n' || p_version::text || E'\n' || p_type || E'\n' || p_data::text || E'\n' ||
    p_metadata::text || E'\n' || to_char(p_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || E'\n' ||
    coalesce(p_previous_hash, ''), 'UTF8')), 'hex');

-- Appends to one or many streams in one call. Streams are described by parallel arrays (id, aggregate type,
-- expected version: -1 any, 0 no stream, n exactly n; number of events), their events by parallel arrays in the same
-- stream order. All version checks run first, in stream id order so that concurrent batches lock rows in the same
-- order; a mismatch raises SQLSTATE CB409 (hint: the actual version) before any sequence number is taken, so a loser
-- of an optimistic race burns nothing. Returns the new version of every stream, the sequence number of every event
-- and the one timestamp all events of the call share (taken after the row locks, so it grows with the version).
CREATE FUNCTION __schema__.append_events(
    p_streams text[], p_aggregate_types text[], p_expected bigint[], p_counts integer[],
    p_types text[], p_data jsonb[], p_metadata jsonb[],
    OUT versions bigint[], OUT sequences bigint[], OUT appended_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    v_stream_count integer := cardinality(p_streams);
    v_event_count integer := cardinality(p_types);
    v_heads text[] := array_fill(NULL::text, ARRAY[v_stream_count]);
    v_event_streams text[] := array_fill(NULL::text, ARRAY[v_event_count]);
    v_event_versions bigint[] := array_fill(0::bigint, ARRAY[v_event_count]);
    v_hashes text[] := array_fill(NULL::text, ARRAY[v_event_count]);
    v_previous text[] := array_fill(NULL::text, ARRAY[v_event_count]);
    v_new_version bigint;
    v_head text;
    v_actual bigint;
    v_offset integer := 0;
    s integer;
    j integer;
BEGIN
    IF v_event_count <> (SELECT coalesce(sum(c), 0) FROM unnest(p_counts) c) THEN
        RAISE EXCEPTION 'append_events: % events given, stream counts add up to something else', v_event_count;
    END IF;
    versions := array_fill(0::bigint, ARRAY[v_stream_count]);

    FOR s IN SELECT u.o FROM unnest(p_streams) WITH ORDINALITY AS u(id, o) ORDER BY u.id LOOP
        IF p_expected[s] = 0 THEN
            INSERT INTO __schema__.streams AS t (id, aggregate_type, version, created_at, updated_at)
            VALUES (p_streams[s], p_aggregate_types[s], p_counts[s], now(), now())
            ON CONFLICT (id) DO NOTHING
            RETURNING t.version, t.last_hash INTO v_new_version, v_head;
        ELSIF p_expected[s] < 0 THEN
            INSERT INTO __schema__.streams AS t (id, aggregate_type, version, created_at, updated_at)
            VALUES (p_streams[s], p_aggregate_types[s], p_counts[s], now(), now())
            ON CONFLICT (id) DO UPDATE
                SET version = t.version + excluded.version, updated_at = excluded.updated_at,
                    aggregate_type = coalesce(t.aggregate_type, excluded.aggregate_type)
            RETURNING t.version, t.last_hash INTO v_new_version, v_head;
        ELSE
            UPDATE __schema__.streams AS t SET version = t.version + p_counts[s], updated_at = now()
            WHERE t.id = p_streams[s] AND t.version = p_expected[s]
            RETURNING t.version, t.last_hash INTO v_new_version, v_head;
        END IF;
        IF NOT FOUND THEN
            SELECT t.version INTO v_actual FROM __schema__.streams AS t WHERE t.id = p_streams[s];
            RAISE EXCEPTION USING
                ERRCODE = 'CB409',
                MESSAGE = format('Concurrency conflict on stream ''%s'': expected version %s, actual version %s',
                                 p_streams[s], p_expected[s], coalesce(v_actual, 0)),
                HINT = json_build_object('stream', p_streams[s], 'expected', p_expected[s], 'actual', coalesce(v_actual, 0))::text;
        END IF;
        versions[s] := v_new_version;
        v_heads[s] := v_head;
    END LOOP;

    appended_at := clock_timestamp();

    FOR s IN 1 .. v_stream_count LOOP
        v_head := v_heads[s];
        FOR j IN 1 .. p_counts[s] LOOP
            v_offset := v_offset + 1;
            v_event_streams[v_offset] := p_streams[s];
            v_event_versions[v_offset] := versions[s] - p_counts[s] + j;
            v_previous[v_offset] := v_head;
            v_head := __schema__.event_hash(p_streams[s], v_event_versions[v_offset], p_types[v_offset],
                p_data[v_offset], p_metadata[v_offset], appended_at, v_head);
            v_hashes[v_offset] := v_head;
        END LOOP;
        -- By primary key, one row at a time: a set-based UPDATE ... FROM unnest() got a generic plan that scanned.
        UPDATE __schema__.streams AS t SET last_hash = v_head WHERE t.id = p_streams[s];
    END LOOP;

    -- Sequence numbers are taken only now, row by row in event order, so sorting them gives them back in that order.
    WITH inserted AS (
        INSERT INTO __schema__.events (seq_id, stream_id, version, type, data, metadata, timestamp, hash, previous_hash)
        SELECT nextval('__schema__.event_sequence'), e.stream_id, e.version, e.type, e.data, e.metadata, appended_at, e.hash, e.previous_hash
        FROM unnest(v_event_streams, v_event_versions, p_types, p_data, p_metadata, v_hashes, v_previous)
            AS e(stream_id, version, type, data, metadata, hash, previous_hash)
        RETURNING seq_id)
    SELECT array_agg(seq_id ORDER BY seq_id) INTO sequences FROM inserted;
END;
$$;
