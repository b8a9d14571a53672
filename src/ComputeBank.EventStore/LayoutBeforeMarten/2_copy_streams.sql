-- migrate-events, step 2 of 6: one Marten stream row per old stream, with its version, aggregate type, times and
-- archived flag. (The old chain head, streams.last_hash, is the link stored for that version: step 5 checks it.)
INSERT INTO __schema__.mt_streams (id, type, version, timestamp, created, tenant_id, is_archived)
SELECT s.id, s.aggregate_type, s.version, s.updated_at, s.created_at, '*DEFAULT*', s.archived
FROM __schema__.streams_before_marten s
ORDER BY s.id;
