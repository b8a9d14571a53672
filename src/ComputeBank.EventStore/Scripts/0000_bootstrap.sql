-- Run before every migration, under the migrator's advisory lock: the schema and the table that records which
-- numbered scripts have been applied. Idempotent by construction; never recorded as a version itself.
CREATE SCHEMA IF NOT EXISTS __schema__;

CREATE TABLE IF NOT EXISTS __schema__.schema_versions (
    version     integer     PRIMARY KEY,
    script      text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
