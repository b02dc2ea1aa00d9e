CREATE TABLE IF NOT EXISTS {{.Table}} (
    namespace    TEXT    NOT NULL,
    idem_key     TEXT    NOT NULL,
    fingerprint  TEXT    NOT NULL,
    state        INTEGER NOT NULL,
    token        TEXT    NOT NULL,
    payload      BLOB,
    locked_until INTEGER NOT NULL, -- Unix milliseconds
    expires_at   INTEGER NOT NULL, -- Unix milliseconds
    created_at   INTEGER NOT NULL, -- Unix milliseconds
    PRIMARY KEY (namespace, idem_key)
);
CREATE INDEX IF NOT EXISTS {{.Index}} ON {{.Table}} (expires_at);
