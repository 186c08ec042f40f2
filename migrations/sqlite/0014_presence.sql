-- Who has an account open on a screen (SPEC §2 Presence): one row per screen, kept fresh by
-- the screen's heartbeat and ignored once its last beat is older than the lapse. Not audited:
-- the view that opened the account was.
CREATE TABLE presence (
    screen     TEXT PRIMARY KEY NOT NULL,
    login      TEXT NOT NULL REFERENCES agents (login),
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    since      TEXT NOT NULL,
    seen_at    TEXT NOT NULL
);
CREATE INDEX presence_account ON presence (account_id, seen_at);
CREATE INDEX presence_seen ON presence (seen_at);
