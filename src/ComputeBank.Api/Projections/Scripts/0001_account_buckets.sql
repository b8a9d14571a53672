-- Balances per account and bucket, kept in the same transaction as the events (an inline projection of the account
-- streams). Amounts in milli-hours. Read by GET /accounts, by closing a period (which accounts hold balances in it)
-- and by the pool totals.
CREATE TABLE IF NOT EXISTS __schema__.account_buckets (
    account_id      text    NOT NULL,
    resource_class  text    NOT NULL,
    region          text    NOT NULL,
    period          text    NOT NULL,
    posted          bigint  NOT NULL,
    pending         bigint  NOT NULL,
    version         bigint  NOT NULL,
    PRIMARY KEY (account_id, resource_class, region, period)
);

CREATE INDEX IF NOT EXISTS account_buckets_by_period ON __schema__.account_buckets (period);
