-- migrate-events, step 1 of 6 (all in one transaction; see LayoutBeforeMarten.cs): the tables of the layout before
-- Marten (commit 3500ff1: events, streams, snapshots, projection_progress) are renamed aside, so this build's script
-- can create its own beside them and the rows can be copied and compared. Their primary-key indexes are renamed too:
-- index names share the schema's namespace with tables, and the new snapshots and projection_progress want theirs.
ALTER TABLE __schema__.events RENAME TO events_before_marten;
ALTER TABLE __schema__.streams RENAME TO streams_before_marten;
ALTER TABLE __schema__.snapshots RENAME TO snapshots_before_marten;
ALTER TABLE __schema__.projection_progress RENAME TO projection_progress_before_marten;
ALTER INDEX __schema__.snapshots_pkey RENAME TO snapshots_before_marten_pkey;
ALTER INDEX __schema__.projection_progress_pkey RENAME TO projection_progress_before_marten_pkey;

-- The old append functions wrote the old tables; Marten's append and chain_events replace them. event_hash is
-- created again, unchanged, by this build's 0001_event_store.sql.
DROP FUNCTION __schema__.append_one(text, text, bigint, text, jsonb, jsonb);
DROP FUNCTION __schema__.append_stream(text[], text[], bigint[], integer[], text[], jsonb[], jsonb[]);
DROP FUNCTION __schema__.append_events(text[], text[], bigint[], integer[], text[], jsonb[], jsonb[]);
DROP FUNCTION __schema__.stream_conflict(text, bigint, bigint);
DROP FUNCTION __schema__.event_hash(text, bigint, text, jsonb, jsonb, timestamptz, text);

-- Versions 1-3 recorded the old scripts; this build's numbering starts again with its own 0001.
DELETE FROM __schema__.schema_versions;
