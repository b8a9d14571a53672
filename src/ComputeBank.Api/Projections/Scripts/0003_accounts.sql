-- Who owns what, kept in the same transaction as the events (an inline projection of the account and hold streams).
-- Read once per request by the command authorizer: an account's owner and kind, and the account a hold is on.
CREATE TABLE IF NOT EXISTS __schema__.accounts (
    account_id  text    PRIMARY KEY,
    owner_id    text    NOT NULL,
    kind        text    NOT NULL,
    status      text    NOT NULL,
    version     bigint  NOT NULL
);

CREATE INDEX IF NOT EXISTS accounts_by_owner ON __schema__.accounts (owner_id);

CREATE TABLE IF NOT EXISTS __schema__.holds (
    hold_id     text    PRIMARY KEY,
    account_id  text    NOT NULL
);

-- A ledger written before this script: fill both from the events once.
INSERT INTO __schema__.accounts (account_id, owner_id, kind, status, version)
SELECT o.data->>'accountId', o.data->>'ownerId', o.data->>'kind',
       COALESCE((SELECT CASE s.type WHEN 'V1.AccountFrozen' THEN 'frozen' WHEN 'V1.AccountClosed' THEN 'closed' ELSE 'active' END
                 FROM __schema__.events s
                 WHERE s.stream_id = o.stream_id AND s.type IN ('V1.AccountFrozen', 'V1.AccountUnfrozen', 'V1.AccountClosed')
                 ORDER BY s.version DESC LIMIT 1), 'active'),
       (SELECT max(v.version) FROM __schema__.events v WHERE v.stream_id = o.stream_id)
FROM __schema__.events o
WHERE o.type = 'V1.AccountOpened'
ON CONFLICT (account_id) DO NOTHING;

INSERT INTO __schema__.holds (hold_id, account_id)
SELECT p.data->>'holdId', p.data->>'accountId'
FROM __schema__.events p
WHERE p.type = 'V1.HoldPlaced'
ON CONFLICT (hold_id) DO NOTHING;
