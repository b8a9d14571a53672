-- Exports what samples/verify-chain/verify_chain.py needs to check ComputeBank's hash chains: every stored event
-- (its jsonb columns as the text PostgreSQL prints for them, its time in UTC with microseconds) and every
-- stream row (version and chain head), as CSV on standard output, ordered by stream and version.
--
--   psql "host=... dbname=... user=..." -v ON_ERROR_STOP=1 -q -f samples/verify-chain/export.sql > ledger-chain.csv
--   psql ... -v schema=other_schema -f ...     (the ledger's schema; cb by default)
--
-- A read-only query: a role with SELECT on the schema's events view, event_hashes and Marten's mt_events and mt_streams
-- tables is enough. The chain head of a stream is the link stored for its current version.
\if :{?schema}
\else
\set schema cb
\endif
COPY (
    SELECT coalesce(e.stream_id, s.id) AS stream_id,
           e.version,
           e.type,
           e.data::text AS data,
           e.metadata::text AS metadata,
           to_char(e.timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS timestamp,
           e.hash,
           e.previous_hash,
           s.version AS stream_version,
           s.last_hash AS stream_last_hash
    FROM :"schema".events e
    FULL JOIN (SELECT st.id, st.version, h.hash AS last_hash
               FROM :"schema".mt_streams st
               LEFT JOIN :"schema".event_hashes h ON h.stream_id = st.id AND h.version = st.version
               WHERE st.id <> 'mt_tombstone') s ON s.id = e.stream_id
    ORDER BY 1, 2
) TO STDOUT WITH (FORMAT csv, HEADER);
