-- The market's read models, kept in the same transaction as the events (an inline projection of the offer and trade
-- streams): the book and every offer, the trades of every account, and per-region statistics of settled trades.
-- Each row carries the stream's state as the domain serialises it; the columns beside it are what queries filter and
-- sort on. The command authorizer reads the provider of an offer and the buyer of a trade from here too.
CREATE TABLE IF NOT EXISTS __schema__.market_offers (
    offer_id        text        PRIMARY KEY,
    account_id      text        NOT NULL,
    resource_class  text        NOT NULL,
    region          text        NOT NULL,
    period          text        NOT NULL,
    status          text        NOT NULL,
    unit_price      numeric     NOT NULL,
    listed          bigint      NOT NULL,
    valid_until     timestamptz NOT NULL,
    state           jsonb       NOT NULL,
    version         bigint      NOT NULL
);

-- The book in matching order: lowest price first, then earliest listed.
CREATE INDEX IF NOT EXISTS market_offers_book ON __schema__.market_offers (resource_class, period, status, unit_price, listed);

CREATE TABLE IF NOT EXISTS __schema__.market_trades (
    trade_id            text        PRIMARY KEY,
    buyer_account_id    text        NOT NULL,
    seller_account_id   text        NOT NULL,
    status              text        NOT NULL,
    pay_by              timestamptz NOT NULL,
    opened_at           timestamptz NOT NULL,
    state               jsonb       NOT NULL,
    version             bigint      NOT NULL
);

-- An account's trades, newest first, as buyer and as seller.
CREATE INDEX IF NOT EXISTS market_trades_by_buyer ON __schema__.market_trades (buyer_account_id, opened_at DESC, trade_id DESC);
CREATE INDEX IF NOT EXISTS market_trades_by_seller ON __schema__.market_trades (seller_account_id, opened_at DESC, trade_id DESC);

CREATE TABLE IF NOT EXISTS __schema__.market_stats (
    resource_class  text        NOT NULL,
    period          text        NOT NULL,
    region          text        NOT NULL,
    last_price      numeric     NOT NULL,
    last_settled_at timestamptz NOT NULL,
    volume          bigint      NOT NULL,
    amount          numeric     NOT NULL,
    trade_count     bigint      NOT NULL,
    PRIMARY KEY (resource_class, period, region)
);
