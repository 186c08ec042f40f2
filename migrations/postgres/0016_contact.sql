-- Contact with the customer (SPEC §2): the advisory given to an at-risk customer (once per
-- account and incident), callbacks agents promised (done or cancelled, never deleted), and the
-- outreach rows an export handed to a gateway (one per account, incident and channel, so an
-- account keeps its outreach id across exports).
CREATE TABLE advice (
    id          BIGSERIAL PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts (id),
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    agent       TEXT NOT NULL,
    channel     TEXT NOT NULL CHECK (channel IN ('call', 'sms', 'email')),
    outreach_id BIGINT,
    advised_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (account_id, incident_id)
);
CREATE FUNCTION advice_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'advice is append-only';
END $$;
CREATE TRIGGER advice_append_only BEFORE UPDATE OR DELETE ON advice
    FOR EACH ROW EXECUTE FUNCTION advice_append_only();

CREATE TABLE callbacks (
    id         BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    agent      TEXT NOT NULL,
    due_at     TIMESTAMPTZ NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    state      TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'cancelled')),
    created_at TIMESTAMPTZ NOT NULL,
    closed_by  TEXT,
    closed_at  TIMESTAMPTZ,
    CHECK ((state = 'pending') = (closed_at IS NULL))
);
CREATE INDEX callbacks_agent_due ON callbacks (agent, due_at) WHERE state = 'pending';
CREATE INDEX callbacks_account ON callbacks (account_id) WHERE state = 'pending';
CREATE INDEX callbacks_due ON callbacks (due_at) WHERE state = 'pending';
CREATE FUNCTION callbacks_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'callbacks are never deleted';
END $$;
CREATE TRIGGER callbacks_no_delete BEFORE DELETE ON callbacks
    FOR EACH ROW EXECUTE FUNCTION callbacks_no_delete();

CREATE TABLE outreach (
    id          BIGSERIAL PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    account_id  BIGINT NOT NULL REFERENCES accounts (id),
    channel     TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    exported_at TIMESTAMPTZ NOT NULL,
    exported_by TEXT NOT NULL,
    UNIQUE (incident_id, account_id, channel)
);
