-- Asynchronous commands run on Wolverine's durable local queue: a queued row keeps the operation (its id taken once,
-- the fingerprint, the body, the outcome for GET /operations) and names the Wolverine envelope that runs it
-- (envelope_id, written in the same transaction). Rows an earlier version queued have none: a node adopts them at
-- start. Claims, leases and their columns belong to Wolverine now.
ALTER TABLE __schema__.command_queue ADD COLUMN IF NOT EXISTS envelope_id uuid;
ALTER TABLE __schema__.command_queue DROP COLUMN IF EXISTS locked_until, DROP COLUMN IF EXISTS owner, DROP COLUMN IF EXISTS lease_token;
DROP INDEX IF EXISTS __schema__.ix_command_queue_due;
CREATE INDEX IF NOT EXISTS ix_command_queue_pending ON __schema__.command_queue (id) WHERE status = 'pending';
