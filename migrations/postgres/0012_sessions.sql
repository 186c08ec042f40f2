-- Identity through `caredesk serve`: each agent's password (an argon2id hash; a one-time
-- password set by a supervisor must be changed at the first login) and the sessions a login
-- opens. Only a token's SHA-256 is stored, never the token.
CREATE TABLE agent_credentials (
    login         TEXT PRIMARY KEY NOT NULL REFERENCES agents (login),
    password_hash TEXT NOT NULL,
    one_time      BOOLEAN NOT NULL,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    set_by        TEXT NOT NULL REFERENCES agents (login),
    set_at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    login      TEXT NOT NULL REFERENCES agents (login),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX sessions_login ON sessions (login) WHERE revoked_at IS NULL;
