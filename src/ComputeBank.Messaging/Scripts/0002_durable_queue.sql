-- Durable messaging (Wolverine's PostgreSQL durability, rebuilt on Npgsql; see LESSONS.md "Messaging").

-- Commands submitted asynchronously or scheduled (a hold's expiry). One row per operation id: submitting the same
-- operation twice never queues it twice. Workers claim due rows with FOR UPDATE SKIP LOCKED and a lease
-- (locked_until, lease_token); a row whose lease ran out (its node died) is claimable again. Finished rows keep the
-- outcome (status, http_status, response) so GET /operations answers even for outcomes the operation log does not
-- remember (a validation failure at processing time), until the retention sweep removes them.
CREATE TABLE IF NOT EXISTS __schema__.command_queue (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation_id  text        NOT NULL UNIQUE,
    command_type  text        NOT NULL,
    fingerprint   text        NOT NULL,
    body          jsonb       NOT NULL,
    user_id       text,
    status        text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed', 'dead')),
    attempts      integer     NOT NULL DEFAULT 0,
    available_at  timestamptz NOT NULL,
    locked_until  timestamptz,
    owner         text,
    lease_token   uuid,
    last_error    text,
    http_status   integer,
    response      json,
    submitted_at  timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);

-- The dequeue scans only due, pending rows.
CREATE INDEX IF NOT EXISTS ix_command_queue_due ON __schema__.command_queue (available_at, id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS ix_command_queue_finished ON __schema__.command_queue (finished_at) WHERE status IN ('succeeded', 'failed');

-- Messages that failed for a non-business reason (an internal error, the database out of reach) more often than the
-- error policy allows. The queue row stays (status 'dead') so the operation id stays taken; a replay puts it back.
CREATE TABLE IF NOT EXISTS __schema__.dead_letters (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation_id  text        NOT NULL,
    command_type  text        NOT NULL,
    body          jsonb       NOT NULL,
    attempts      integer     NOT NULL,
    error         text        NOT NULL,
    problem       json,
    failed_at     timestamptz NOT NULL DEFAULT now(),
    replayed_at   timestamptz
);

CREATE INDEX IF NOT EXISTS ix_dead_letters_operation ON __schema__.dead_letters (operation_id);

-- Integration events waiting for delivery to one webhook subscriber each, written in the same transaction as the
-- events they announce. Relays claim rows with a lease like the command queue; a row is deleted once delivered.
CREATE TABLE IF NOT EXISTS __schema__.outbox (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id      text        NOT NULL,
    subscriber    text        NOT NULL,
    event_type    text        NOT NULL,
    payload       jsonb       NOT NULL,
    status        text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'dead')),
    attempts      integer     NOT NULL DEFAULT 0,
    available_at  timestamptz NOT NULL DEFAULT now(),
    locked_until  timestamptz,
    owner         text,
    lease_token   uuid,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, subscriber)
);

CREATE INDEX IF NOT EXISTS ix_outbox_due ON __schema__.outbox (available_at, id) WHERE status = 'pending';
