-- Contact with the customer (SPEC §2): the advisory given to an at-risk customer (once per
-- account and incident), callbacks agents promised (done or cancelled, never deleted), and the
-- outreach rows an export handed to a gateway (one per account, incident and channel, so an
-- account keeps its outreach id across exports).
CREATE TABLE advice (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    agent       TEXT NOT NULL,
    channel     TEXT NOT NULL CHECK (channel IN ('call', 'sms', 'email')),
    outreach_id INTEGER,
    advised_at  TEXT NOT NULL,
    UNIQUE (account_id, incident_id)
);
CREATE TRIGGER advice_no_update BEFORE UPDATE ON advice
BEGIN SELECT RAISE(ABORT, 'advice is append-only'); END;
CREATE TRIGGER advice_no_delete BEFORE DELETE ON advice
BEGIN SELECT RAISE(ABORT, 'advice is append-only'); END;

CREATE TABLE callbacks (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    agent      TEXT NOT NULL,
    due_at     TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    state      TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'cancelled')),
    created_at TEXT NOT NULL,
    closed_by  TEXT,
    closed_at  TEXT,
    CHECK ((state = 'pending') = (closed_at IS NULL))
);
CREATE INDEX callbacks_agent_due ON callbacks (agent, due_at) WHERE state = 'pending';
CREATE INDEX callbacks_account ON callbacks (account_id) WHERE state = 'pending';
CREATE INDEX callbacks_due ON callbacks (due_at) WHERE state = 'pending';
CREATE TRIGGER callbacks_no_delete BEFORE DELETE ON callbacks
BEGIN SELECT RAISE(ABORT, 'callbacks are never deleted'); END;

CREATE TABLE outreach (
    id          INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    channel     TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    exported_at TEXT NOT NULL,
    exported_by TEXT NOT NULL,
    UNIQUE (incident_id, account_id, channel)
);
