-- migrate-events, step 6 of 6: everything was carried over and checked; the old tables and sequence go. (Without
-- CASCADE: an object of someone else's that still depends on them stops the conversion instead of vanishing with them.)
DROP TABLE __schema__.events_before_marten, __schema__.streams_before_marten,
           __schema__.snapshots_before_marten, __schema__.projection_progress_before_marten;
DROP SEQUENCE __schema__.event_sequence;
