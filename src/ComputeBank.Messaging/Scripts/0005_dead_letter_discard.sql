-- An operator may discard a dead letter it has decided not to run again (the command is left failed). The letter stays
-- as the record of that decision: when and why.
ALTER TABLE __schema__.dead_letters ADD COLUMN IF NOT EXISTS discarded_at timestamptz;
ALTER TABLE __schema__.dead_letters ADD COLUMN IF NOT EXISTS discard_reason text;
