-- Webhook deliveries are Wolverine messages (durable local queue 'webhooks'), stored with the events they announce:
-- the outbox table goes. One that still holds deliveries of an earlier version stays until a node, once Wolverine has
-- started, has turned its rows into messages; it drops the table in the same transaction.
DO $$
BEGIN
    IF to_regclass('__schema__.outbox') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM __schema__.outbox) THEN
        DROP TABLE __schema__.outbox;
    END IF;
END $$;
