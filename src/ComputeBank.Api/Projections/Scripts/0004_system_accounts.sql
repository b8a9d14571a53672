-- The bank's system accounts (bank.capacity, bank.consumption, bank.expiry, bank.conversion) have no streams of their
-- own: their side of every movement is a posting inside an account's event. The async projection `system-accounts`
-- (ProjectionDaemon) keeps what an auditor reads of them: the current posted balance per bucket, and per account its
-- history, one entry (ordinal 1, 2, ...) per event that posted to it, with the bucket's balance after that event.
-- Amounts in milli-hours.
CREATE TABLE IF NOT EXISTS __schema__.system_balances (
    account_id      text    NOT NULL,
    resource_class  text    NOT NULL,
    region          text    NOT NULL,
    period          text    NOT NULL,
    posted          bigint  NOT NULL,
    PRIMARY KEY (account_id, resource_class, region, period)
);

CREATE TABLE IF NOT EXISTS __schema__.system_postings (
    account_id      text    NOT NULL,
    ordinal         bigint  NOT NULL,
    sequence        bigint  NOT NULL,
    resource_class  text    NOT NULL,
    region          text    NOT NULL,
    period          text    NOT NULL,
    amount          bigint  NOT NULL,
    balance         bigint  NOT NULL,
    PRIMARY KEY (account_id, ordinal, resource_class, region, period)
);
