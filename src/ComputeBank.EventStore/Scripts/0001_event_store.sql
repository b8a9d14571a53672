-- What the event store keeps beside Marten's event tables (mt_streams, mt_events, created by Marten in the same schema
-- before this script runs): the per-stream hash chain, the latest snapshot of each stream, the checkpoints of our
-- projection daemon, and a read view of the events with their metadata and hashes.

-- One row per event: its tamper-evident link. Keyed like the event (seq_id) and like its place in the stream, so the
-- chain head of a stream is one index probe and a gap in a chain is a gap in versions.
CREATE TABLE __schema__.event_hashes (
    seq_id          bigint      PRIMARY KEY,
    stream_id       text        NOT NULL,
    version         bigint      NOT NULL,
    hash            text        NOT NULL,
    previous_hash   text,
    CONSTRAINT event_hashes_stream_version UNIQUE (stream_id, version)
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

-- An event's metadata as one JSON object, from Marten's metadata columns: the form the hash covers and the feed shows
-- ({"correlationId", "causationId", "user", "headers"}, absent members left out; {} when there is none).
CREATE FUNCTION __schema__.event_metadata(p_correlation_id text, p_causation_id text, p_user text, p_headers jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN jsonb_strip_nulls(jsonb_build_object(
    'correlationId', p_correlation_id, 'causationId', p_causation_id, 'user', p_user,
    'headers', CASE WHEN jsonb_typeof(p_headers) = 'object' THEN p_headers END));

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

-- The events as readers see them: Marten's rows with their metadata object and their link of the chain (a LEFT JOIN,
-- so an event whose link was deleted shows up without a hash instead of vanishing). Marten's tombstones (rows it
-- writes into the sequence numbers of an append that failed half-way) are not events of the ledger: readers step
-- over them like over any hole. Versions are checked before Marten appends, so a refused command never leaves one.
CREATE VIEW __schema__.events AS
SELECT e.seq_id, e.stream_id, e.version, e.type, e.data,
       __schema__.event_metadata(e.correlation_id, e.causation_id, e.user_name, e.headers) AS metadata,
       e.timestamp, h.hash, h.previous_hash
FROM __schema__.mt_events e
LEFT JOIN __schema__.event_hashes h ON h.seq_id = e.seq_id
WHERE e.stream_id <> 'mt_tombstone';

-- Chains the events a transaction has just appended through Marten: for each stream given, every event above the
-- stream's last link, in version order, linked to the one before. Runs in the appending transaction, after Marten's
-- append has locked and written the stream rows, so no other writer can chain the same stream meanwhile. Also records
-- the aggregate type of a stream created without one. Hashes are computed in memory and written in one statement.
CREATE FUNCTION __schema__.chain_events(p_streams text[], p_types text[])
RETURNS integer
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
-- The estimates of a lateral probe per stream add up to a cost over jit_above_cost: compiling took longer (10-12 ms
-- per call) than the 2,000-event read it was for.
SET jit = off
AS $$
DECLARE
    v_seq bigint[] := '{}';
    v_stream text[] := '{}';
    v_version bigint[] := '{}';
    v_hash text[] := '{}';
    v_previous text[] := '{}';
    v_head text;
    v_current text;
    r record;
BEGIN
    FOR r IN
        SELECT s.id, e.seq_id, e.version, e.type, e.data, e.timestamp,
               __schema__.event_metadata(e.correlation_id, e.causation_id, e.user_name, e.headers) AS metadata,
               head.hash AS head_hash, head.version AS head_version
        FROM unnest(p_streams) AS s(id)
        LEFT JOIN LATERAL (SELECT h.hash, h.version FROM __schema__.event_hashes h
                           WHERE h.stream_id = s.id ORDER BY h.version DESC LIMIT 1) head ON true
        JOIN LATERAL (SELECT * FROM __schema__.mt_events x
                      WHERE x.stream_id = s.id AND x.version > coalesce(head.version, 0) OFFSET 0) e ON true
        ORDER BY s.id, e.version
    LOOP
        IF v_current IS DISTINCT FROM r.id THEN
            v_current := r.id;
            v_head := r.head_hash;
        END IF;

        v_seq := v_seq || r.seq_id;
        v_stream := v_stream || r.id;
        v_version := v_version || r.version;
        v_previous := v_previous || v_head;
        v_head := __schema__.event_hash(r.id, r.version, r.type, r.data, r.metadata, r.timestamp, v_head);
        v_hash := v_hash || v_head;
    END LOOP;

    INSERT INTO __schema__.event_hashes (seq_id, stream_id, version, hash, previous_hash)
    SELECT * FROM unnest(v_seq, v_stream, v_version, v_hash, v_previous);

    UPDATE __schema__.mt_streams t SET type = n.type
    FROM unnest(p_streams, p_types) AS n(id, type)
    WHERE t.id = n.id AND n.type IS NOT NULL AND t.type IS DISTINCT FROM n.type;

    RETURN cardinality(v_seq);
END;
$$;
