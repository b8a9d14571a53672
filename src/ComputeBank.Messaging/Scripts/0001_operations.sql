-- The operation log: one row per operation id that took effect or was refused for a business rule, written in the same
-- transaction as the command's events (DOMAIN.md invariant 4). A replay answers `status` and `response` again.
CREATE TABLE IF NOT EXISTS __schema__.operations (
    operation_id  text        PRIMARY KEY,
    command_type  text        NOT NULL,
    fingerprint   text        NOT NULL,
    status        integer     NOT NULL,
    response      json        NOT NULL,  -- json, not jsonb: a replay answers the very same bytes
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
