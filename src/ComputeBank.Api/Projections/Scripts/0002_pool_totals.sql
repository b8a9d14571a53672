-- The "computing power supermarket" inventory: totals per bucket over every non-system account, kept by the async
-- projection `pools` (ProjectionDaemon). Amounts in milli-hours. Rows carry a generation: readers use the live one
-- (read_model_generations), so a rebuild fills the next generation beside it and swaps in one transaction.
CREATE TABLE IF NOT EXISTS __schema__.pool_totals (
    generation                  integer NOT NULL,
    resource_class              text    NOT NULL,
    region                      text    NOT NULL,
    period                      text    NOT NULL,
    deposited                   bigint  NOT NULL DEFAULT 0,
    withdrawn                   bigint  NOT NULL DEFAULT 0,
    transferred_between_accounts bigint NOT NULL DEFAULT 0,
    transferred_in              bigint  NOT NULL DEFAULT 0,
    transferred_out             bigint  NOT NULL DEFAULT 0,
    rolled_over_in              bigint  NOT NULL DEFAULT 0,
    rolled_over_out             bigint  NOT NULL DEFAULT 0,
    expired                     bigint  NOT NULL DEFAULT 0,
    held                        bigint  NOT NULL DEFAULT 0,
    posted                      bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (generation, resource_class, region, period)
);

-- Which generation of a blue/green read model readers use, and which one a rebuild is filling (null: none).
CREATE TABLE IF NOT EXISTS __schema__.read_model_generations (
    name        text        PRIMARY KEY,
    live        integer     NOT NULL,
    building    integer,
    swapped_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO __schema__.read_model_generations (name, live) VALUES ('pools', 1) ON CONFLICT (name) DO NOTHING;
