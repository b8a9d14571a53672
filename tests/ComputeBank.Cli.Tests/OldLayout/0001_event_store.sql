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

-- Raises the typed concurrency conflict (SQLSTATE CB409, the actual version in the hint) of append_events.
CREATE FUNCTION __schema__.stream_conflict(p_stream text, p_expected bigint, p_actual bigint)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'CB409',
        MESSAGE = format('Concurrency conflict on stream ''%s'': expected version %s, actual version %s',
                         p_stream, p_expected, coalesce(p_actual, 0)),
        HINT = json_build_object('stream', p_stream, 'expected', p_expected, 'actual', coalesce(p_actual, 0))::text;
END;
$$;

-- Appends to one or many streams in one call. Streams are described by parallel arrays (id, aggregate type,
-- expected version: -1 any, 0 no stream, n exactly n; number of events), their events by parallel arrays in the same
-- stream order. Set-based, so the cost of a call grows with its rows rather than with statements per stream:
--   1. the existing stream rows are locked in id order (concurrent batches lock in the same order, never in a cycle)
--      and their versions and chain heads read;
--   2. every version is checked; a mismatch raises SQLSTATE CB409 (hint: the actual version) before any sequence
--      number is taken, so a loser of an optimistic race burns nothing;
--   3. missing streams are created in id order (a creator that got there first is a conflict for "no stream");
--   4. the hash chains are computed in memory, then events (with their sequence numbers) and every stream row's new
--      version and chain head are written in one statement: one new row version per stream.
-- Returns the new version of every stream, the sequence number of every event and the one timestamp all events of
-- the call share (taken after the row locks, so it grows with the version).
-- Every statement joins parameter arrays to the tables: planned for each call with the arrays' real sizes
-- (force_custom_plan), they take the primary key instead of a generic plan's scan.
CREATE FUNCTION __schema__.append_events(
    p_streams text[], p_aggregate_types text[], p_expected bigint[], p_counts integer[],
    p_types text[], p_data jsonb[], p_metadata jsonb[],
    OUT versions bigint[], OUT sequences bigint[], OUT appended_at timestamptz)
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_stream_count integer := cardinality(p_streams);
    v_event_count integer := cardinality(p_types);
    v_current bigint[];
    v_heads text[];
    v_present boolean[];
    v_created text[];
    v_event_streams text[] := array_fill(NULL::text, ARRAY[v_event_count]);
    v_event_versions bigint[] := array_fill(0::bigint, ARRAY[v_event_count]);
    v_hashes text[] := array_fill(NULL::text, ARRAY[v_event_count]);
    v_previous text[] := array_fill(NULL::text, ARRAY[v_event_count]);
    v_conflict record;
    v_version bigint;
    v_head text;
    v_offset integer := 0;
    s integer;
    j integer;
BEGIN
    IF v_event_count <> (SELECT coalesce(sum(c), 0) FROM unnest(p_counts) c) THEN
        RAISE EXCEPTION 'append_events: % events given, stream counts add up to something else', v_event_count;
    END IF;

    -- 1. Lock and read, in id order.
    WITH locked AS MATERIALIZED (
        SELECT t.id, t.version, t.last_hash FROM __schema__.streams AS t WHERE t.id = ANY(p_streams) ORDER BY t.id FOR UPDATE)
    SELECT array_agg(coalesce(l.version, 0) ORDER BY s.o), array_agg(l.last_hash ORDER BY s.o), array_agg(l.id IS NOT NULL ORDER BY s.o)
    INTO v_current, v_heads, v_present
    FROM unnest(p_streams) WITH ORDINALITY AS s(id, o) LEFT JOIN locked AS l ON l.id = s.id;

    -- 2. Check every expected version.
    SELECT c.id, c.expected, c.current INTO v_conflict
    FROM unnest(p_streams, p_expected, v_current, v_present) AS c(id, expected, current, present)
    WHERE (c.expected = 0 AND c.present) OR (c.expected > 0 AND c.current <> c.expected)
    ORDER BY c.id LIMIT 1;
    IF FOUND THEN
        PERFORM __schema__.stream_conflict(v_conflict.id, v_conflict.expected, v_conflict.current);
    END IF;

    -- 3. Create the missing streams. One that another transaction created meanwhile is a conflict when this call
    -- expected no stream; with "any" its row is locked and appended to like an existing one.
    IF false = ANY(v_present) THEN
        WITH created AS (
            INSERT INTO __schema__.streams AS t (id, aggregate_type, version, created_at, updated_at)
            SELECT n.id, n.aggregate_type, n.count, now(), now()
            FROM unnest(p_streams, p_aggregate_types, p_counts, v_present) AS n(id, aggregate_type, count, present)
            WHERE NOT n.present
            ORDER BY n.id
            ON CONFLICT (id) DO NOTHING
            RETURNING t.id)
        SELECT coalesce(array_agg(created.id), '{}') INTO v_created FROM created;

        FOR v_conflict IN
            SELECT n.o, n.id, n.expected
            FROM unnest(p_streams, p_expected, v_present) WITH ORDINALITY AS n(id, expected, present, o)
            WHERE NOT n.present AND NOT n.id = ANY(v_created)
            ORDER BY n.id
        LOOP
            SELECT t.version, t.last_hash INTO v_version, v_head FROM __schema__.streams AS t WHERE t.id = v_conflict.id FOR UPDATE;
            IF v_conflict.expected = 0 THEN
                PERFORM __schema__.stream_conflict(v_conflict.id, v_conflict.expected, v_version);
            END IF;

            v_current[v_conflict.o] := v_version;
            v_heads[v_conflict.o] := v_head;
        END LOOP;
    END IF;

    appended_at := clock_timestamp();
    versions := array_fill(0::bigint, ARRAY[v_stream_count]);

    -- 4. Hash chains (expressions only, no statements), then one write of events and stream heads.
    FOR s IN 1 .. v_stream_count LOOP
        v_head := v_heads[s];
        FOR j IN 1 .. p_counts[s] LOOP
            v_offset := v_offset + 1;
            v_event_streams[v_offset] := p_streams[s];
            v_event_versions[v_offset] := v_current[s] + j;
            v_previous[v_offset] := v_head;
            v_head := __schema__.event_hash(p_streams[s], v_current[s] + j, p_types[v_offset],
                p_data[v_offset], p_metadata[v_offset], appended_at, v_head);
            v_hashes[v_offset] := v_head;
        END LOOP;
        versions[s] := v_current[s] + p_counts[s];
        v_heads[s] := v_head;
    END LOOP;

    -- Sequence numbers are taken only now, row by row in event order, so sorting them gives them back in that order.
    WITH heads AS (
        UPDATE __schema__.streams AS t SET version = h.version, last_hash = h.head, updated_at = now()
        FROM unnest(p_streams, versions, v_heads) AS h(id, version, head)
        WHERE t.id = h.id),
    inserted AS (
        INSERT INTO __schema__.events (seq_id, stream_id, version, type, data, metadata, timestamp, hash, previous_hash)
        SELECT nextval('__schema__.event_sequence'), e.stream_id, e.version, e.type, e.data, e.metadata, appended_at, e.hash, e.previous_hash
        FROM unnest(v_event_streams, v_event_versions, p_types, p_data, p_metadata, v_hashes, v_previous)
            AS e(stream_id, version, type, data, metadata, hash, previous_hash)
        RETURNING seq_id)
    SELECT array_agg(seq_id ORDER BY seq_id) INTO sequences FROM inserted;
END;
$$;
