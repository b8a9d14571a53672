-- Run before every migration, under the migrator's advisory lock: the schema and the table that records which
-- numbered scripts have been applied. Idempotent by construction; never recorded as a version itself.
CREATE SCHEMA IF NOT EXISTS __schema__;

CREATE TABLE IF NOT EXISTS __schema__.schema_versions (
    version     integer     PRIMARY KEY,
    script      text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- Scripts of the modules built around the store (the command bus's operation log, the read models), each numbered
-- on its own from 0001 and recorded here under the module's name.
CREATE TABLE IF NOT EXISTS __schema__.module_versions (
    module      text        NOT NULL,
    version     integer     NOT NULL,
    script      text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (module, version)
);
