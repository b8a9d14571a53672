-- migrate-events, step 3 of 6: one Marten event row per old event, keeping its global sequence number, version, type
-- name, data and timestamp. The old metadata object ({"correlationId", "causationId", "user", "headers"}) goes into
-- Marten's metadata columns, from which the events view builds it again (step 5 checks that it comes back identical).
-- Each event gets a new Marten event id, and the .NET type Marten records for its type name ($1 names, $2 .NET types;
-- left empty for a name this build does not know, as Marten itself reads by name).
INSERT INTO __schema__.mt_events (
    seq_id, id, stream_id, version, data, type, timestamp, tenant_id, mt_dotnet_type,
    correlation_id, causation_id, user_name, headers, is_archived)
SELECT e.seq_id, gen_random_uuid(), e.stream_id, e.version, e.data, e.type, e.timestamp, '*DEFAULT*', t.dotnet_type,
       e.metadata->>'correlationId', e.metadata->>'causationId', e.metadata->>'user', e.metadata->'headers',
       coalesce(s.archived, false)
FROM __schema__.events_before_marten e
LEFT JOIN __schema__.streams_before_marten s ON s.id = e.stream_id
LEFT JOIN unnest($1::text[], $2::text[]) AS t(type, dotnet_type) ON t.type = e.type
ORDER BY e.seq_id
