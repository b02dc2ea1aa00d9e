CREATE TABLE IF NOT EXISTS {{.Table}} (
    namespace    VARBINARY(255) NOT NULL,
    idem_key     VARBINARY(255) NOT NULL,
    fingerprint  VARBINARY(128) NOT NULL,
    state        TINYINT        NOT NULL,
    token        VARBINARY(64)  NOT NULL,
    payload      LONGBLOB       NULL,
    locked_until DATETIME(6)    NOT NULL,
    expires_at   DATETIME(6)    NOT NULL,
    created_at   DATETIME(6)    NOT NULL,
    PRIMARY KEY (namespace, idem_key),
    INDEX {{.Index}} (expires_at)
) ENGINE=InnoDB;
