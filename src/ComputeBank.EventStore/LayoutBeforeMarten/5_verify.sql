-- migrate-events, step 5 of 6: the new layout must show exactly what the old one held, compared row by row before
-- anything old is dropped. Any difference raises SQLSTATE CB500 naming the first row, and the transaction (every step)
-- rolls back, leaving the old layout as it was. (Everything goes into the message: Npgsql redacts a DETAIL by default.) JSON is compared as text (jsonb's canonical form, which the hash
-- covers), so even a change that jsonb equality would overlook (1.0 against 1.00) counts.
DO $$
DECLARE
    v_count bigint;
    v_row record;
BEGIN
    -- Events through the view readers use: sequence number, stream, version, type, data, metadata, timestamp, hashes.
    SELECT count(*) OVER () AS n, o.seq_id AS old_seq, n.seq_id AS new_seq, o.metadata::text AS old_metadata, n.metadata::text AS new_metadata
    INTO v_row
    FROM __schema__.events_before_marten o
    FULL JOIN __schema__.events n ON n.seq_id = o.seq_id
    WHERE o.seq_id IS NULL OR n.seq_id IS NULL
       OR (o.stream_id, o.version, o.type, o.data::text, o.metadata::text, o.timestamp, o.hash, o.previous_hash)
          IS DISTINCT FROM (n.stream_id::text, n.version, n.type::text, n.data::text, n.metadata::text, n.timestamp, n.hash, n.previous_hash)
    ORDER BY coalesce(o.seq_id, n.seq_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CB500',
            MESSAGE = format('%s events would not be carried over unchanged; the first is seq_id %s (metadata before: %s; after: %s; '
                             'metadata can only hold the members correlationId, causationId, user as strings and headers as an object)',
                             v_row.n, coalesce(v_row.old_seq, v_row.new_seq), coalesce(v_row.old_metadata, '-'), coalesce(v_row.new_metadata, '-'));
    END IF;

    -- Streams: version, aggregate type, times, archived flag, and the chain head (the link stored for the version).
    SELECT count(*) OVER () AS n, coalesce(o.id, n.id) AS id INTO v_row
    FROM __schema__.streams_before_marten o
    FULL JOIN (SELECT m.*, h.hash FROM __schema__.mt_streams m
               LEFT JOIN __schema__.event_hashes h ON h.stream_id = m.id AND h.version = m.version) n ON n.id = o.id
    WHERE o.id IS NULL OR n.id IS NULL
       OR (o.aggregate_type, o.version, o.created_at, o.updated_at, o.archived, o.last_hash)
          IS DISTINCT FROM (n.type::text, n.version, n.created, n.timestamp, n.is_archived, n.hash)
    ORDER BY 2
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CB500',
            MESSAGE = format('%s streams would not be carried over unchanged; the first is %s (a stream whose last_hash is not the '
                             'hash of its last event has a damaged chain: find out why before converting)', v_row.n, v_row.id);
    END IF;

    SELECT count(*) INTO v_count FROM (
        (SELECT stream_id, version, type, data::text, created_at FROM __schema__.snapshots_before_marten
         EXCEPT ALL SELECT stream_id, version, type, data::text, created_at FROM __schema__.snapshots)
        UNION ALL
        (SELECT stream_id, version, type, data::text, created_at FROM __schema__.snapshots
         EXCEPT ALL SELECT stream_id, version, type, data::text, created_at FROM __schema__.snapshots_before_marten)) d;
    IF v_count > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'CB500', MESSAGE = format('%s snapshots would not be carried over unchanged', v_count);
    END IF;

    SELECT count(*) INTO v_count FROM (
        (SELECT * FROM __schema__.projection_progress_before_marten EXCEPT ALL SELECT * FROM __schema__.projection_progress)
        UNION ALL
        (SELECT * FROM __schema__.projection_progress EXCEPT ALL SELECT * FROM __schema__.projection_progress_before_marten)) d;
    IF v_count > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'CB500', MESSAGE = format('%s projection checkpoints would not be carried over unchanged', v_count);
    END IF;
END;
$$;
