-- migrate-events, step 4 of 6: every event's link of the hash chain, the snapshots and the projection checkpoints as
-- they were; Marten's sequence continues after the last event, so the next append takes max(seq_id) + 1.
INSERT INTO __schema__.event_hashes (seq_id, stream_id, version, hash, previous_hash)
SELECT e.seq_id, e.stream_id, e.version, e.hash, e.previous_hash
FROM __schema__.events_before_marten e
ORDER BY e.seq_id;

INSERT INTO __schema__.snapshots (stream_id, version, type, data, created_at)
SELECT s.stream_id, s.version, s.type, s.data, s.created_at FROM __schema__.snapshots_before_marten s;

INSERT INTO __schema__.projection_progress (name, last_sequence, updated_at)
SELECT p.name, p.last_sequence, p.updated_at FROM __schema__.projection_progress_before_marten p;

SELECT setval('__schema__.mt_events_sequence', coalesce(max(e.seq_id), 1), max(e.seq_id) IS NOT NULL)
FROM __schema__.events_before_marten e;
