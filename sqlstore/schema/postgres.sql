CREATE TABLE IF NOT EXISTS {{.Table}} (
    namespace    text        COLLATE "C" NOT NULL,
    idem_key     text        COLLATE "C" NOT NULL,
    fingerprint  text        NOT NULL,
    state        smallint    NOT NULL,
    token        text        NOT NULL,
    payload      bytea,
    locked_until timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, idem_key)
);
CREATE INDEX IF NOT EXISTS {{.Index}} ON {{.Table}} (expires_at);
