-- The whole caredesk data model of SPEC.md §2, for the embedded SQLite store.
-- Times are stored as RFC 3339 text in UTC (what sqlx writes for chrono's DateTime<Utc>).
-- Money is integer cents with a currency code; never floating point.

-- Who may act, and as what. Logins are unique; agents are disabled, never deleted, so the
-- audit chain can always name who did something.
CREATE TABLE agents (
    login        TEXT PRIMARY KEY NOT NULL,
    display_name TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('agent', 'supervisor', 'auditor')),
    active       BOOLEAN NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL
);

CREATE TABLE incidents (
    id                 TEXT PRIMARY KEY NOT NULL,
    title              TEXT NOT NULL,
    started_at         TEXT NOT NULL,
    ended_at           TEXT,
    snapshot_as_of     TEXT NOT NULL,
    categories         TEXT NOT NULL,
    advisory           TEXT NOT NULL,
    credit_months      INTEGER NOT NULL CHECK (credit_months > 0),
    appreciation_cents INTEGER NOT NULL CHECK (appreciation_cents >= 0),
    currency           TEXT NOT NULL DEFAULT 'USD'
);

-- loss_rank caches the account's derived status (SPEC.md §2) as its urgency rank (0 = at-risk
-- ... 6 = not-affected). It is recomputed by the store from the impact rows in the same
-- transaction as any change to them, never typed in, and lets the worklist sort a million
-- accounts by index.
CREATE TABLE accounts (
    id           INTEGER PRIMARY KEY,
    account_no   TEXT NOT NULL UNIQUE,
    msisdn       TEXT NOT NULL,
    name         TEXT NOT NULL,
    name_norm    TEXT NOT NULL,
    email        TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'closed')),
    device_model TEXT NOT NULL DEFAULT '',
    loss_rank    INTEGER NOT NULL DEFAULT 6,
    created_at   TEXT NOT NULL
);
-- Exact phone lookups while the customer is on the line.
CREATE INDEX accounts_msisdn ON accounts (msisdn);
-- The worklist: most urgent first, then by account number.
-- Name-prefix matches rank first in search, and answer queries too short for trigrams.
-- name_norm is the lowercased name without diacritics (domain::search_fold).
CREATE INDEX accounts_name_norm ON accounts (name_norm);
CREATE INDEX accounts_loss_rank ON accounts (loss_rank, account_no);

-- Substring search over names, e-mails and phone digits (SPEC.md §6: a top-50 substring query
-- over a million names in well under a millisecond). An external-content FTS5 table with the
-- trigram tokenizer keeps one copy of the text; triggers keep it in step with accounts.
CREATE VIRTUAL TABLE accounts_fts USING fts5 (
    name, email, digits,
    content = '',
    contentless_delete = 1,
    tokenize = 'trigram remove_diacritics 1'
);
CREATE TRIGGER accounts_fts_insert AFTER INSERT ON accounts BEGIN
    INSERT INTO accounts_fts (rowid, name, email, digits)
    VALUES (new.id, new.name, new.email, substr(new.msisdn, 2));
END;
CREATE TRIGGER accounts_fts_delete AFTER DELETE ON accounts BEGIN
    DELETE FROM accounts_fts WHERE rowid = old.id;
END;
CREATE TRIGGER accounts_fts_update AFTER UPDATE OF name, email, msisdn ON accounts BEGIN
    DELETE FROM accounts_fts WHERE rowid = old.id;
    INSERT INTO accounts_fts (rowid, name, email, digits)
    VALUES (new.id, new.name, new.email, substr(new.msisdn, 2));
END;

-- Plan history: the incident credit uses the plan in force at the incident's start, so plans
-- are never overwritten, only closed (valid_to) and followed by a new row.
CREATE TABLE plans (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    plan_code   TEXT NOT NULL,
    data_plan   BOOLEAN NOT NULL,
    price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
    currency    TEXT NOT NULL DEFAULT 'USD',
    valid_from  TEXT NOT NULL,
    valid_to    TEXT,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX plans_account ON plans (account_id, valid_from);

-- Per account, incident and category. status caches derive_category_status over these facts
-- (and the backups), recomputed by the store in the same transaction as any change.
CREATE TABLE impact (
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    incident_id     TEXT NOT NULL REFERENCES incidents (id),
    category        TEXT NOT NULL CHECK (category IN ('contacts', 'calendar', 'notes', 'tasks', 'photos', 'email')),
    server_lost     BOOLEAN NOT NULL,
    device_state    TEXT NOT NULL CHECK (device_state IN ('holds-copy', 'wiped', 'unknown')),
    items_before    INTEGER NOT NULL CHECK (items_before >= 0),
    permanent_loss  BOOLEAN NOT NULL DEFAULT 0,
    recovered_items INTEGER,
    status          TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (account_id, incident_id, category)
) WITHOUT ROWID;

-- Snapshots. verification: 'verified' (every item matches its hash), 'partial' (some items
-- do not), 'corrupt' (the snapshot cannot be trusted; never restored from), 'manifest' (only
-- the manifest is loaded; items not yet available).
CREATE TABLE backups (
    id           TEXT PRIMARY KEY NOT NULL,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    taken_at     TEXT NOT NULL,
    source       TEXT NOT NULL,
    checksum     TEXT NOT NULL,
    verification TEXT NOT NULL CHECK (verification IN ('verified', 'partial', 'corrupt', 'manifest')),
    imported_at  TEXT NOT NULL
);
CREATE INDEX backups_account ON backups (account_id);

CREATE TABLE backup_categories (
    backup_id  TEXT NOT NULL REFERENCES backups (id),
    category   TEXT NOT NULL,
    item_count INTEGER NOT NULL CHECK (item_count >= 0),
    bad_items  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (backup_id, category)
) WITHOUT ROWID;

CREATE TABLE backup_items (
    id           INTEGER PRIMARY KEY,
    backup_id    TEXT NOT NULL REFERENCES backups (id),
    category     TEXT NOT NULL,
    uid          TEXT NOT NULL,
    payload      TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    hash_ok      BOOLEAN NOT NULL,
    UNIQUE (backup_id, category, uid)
);

-- What the service holds now, including what customers re-entered after the incident.
-- natural_key is the category's matching key (see src/domain/items.rs); review marks a
-- keep-both copy an agent should look at.
CREATE TABLE live_items (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    category     TEXT NOT NULL,
    uid          TEXT NOT NULL,
    natural_key  TEXT NOT NULL,
    payload      TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    origin       TEXT NOT NULL,
    review       BOOLEAN NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (account_id, category, uid)
);
CREATE INDEX live_items_key ON live_items (account_id, category, natural_key);

-- Batch credit runs: params_hash identifies "the same command" so a rerun resumes it;
-- cursor is the last account id whose chunk committed.
CREATE TABLE batch_runs (
    id            INTEGER PRIMARY KEY,
    incident_id   TEXT NOT NULL REFERENCES incidents (id),
    params_hash   TEXT NOT NULL,
    shard_k       INTEGER NOT NULL,
    shard_n       INTEGER NOT NULL,
    applied       BOOLEAN NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('running', 'finished')),
    cursor        INTEGER NOT NULL DEFAULT 0,
    selected      INTEGER NOT NULL DEFAULT 0,
    credited      INTEGER NOT NULL DEFAULT 0,
    already       INTEGER NOT NULL DEFAULT 0,
    ineligible    INTEGER NOT NULL DEFAULT 0,
    invalid       INTEGER NOT NULL DEFAULT 0,
    failed        INTEGER NOT NULL DEFAULT 0,
    total_cents   INTEGER NOT NULL DEFAULT 0,
    started_by    TEXT NOT NULL REFERENCES agents (login),
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    UNIQUE (params_hash, applied)
);

-- The append-only credit ledger. The partial unique index is the database's own guarantee of
-- one incident credit (and one appreciation credit) per account and incident.
CREATE TABLE credits (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    incident_id  TEXT NOT NULL REFERENCES incidents (id),
    kind         TEXT NOT NULL CHECK (kind IN ('incident', 'appreciation', 'goodwill', 'reversal')),
    amount_cents INTEGER NOT NULL,
    currency     TEXT NOT NULL,
    agent        TEXT NOT NULL REFERENCES agents (login),
    approver     TEXT REFERENCES agents (login),
    reason       TEXT NOT NULL DEFAULT '',
    batch_run_id INTEGER REFERENCES batch_runs (id),
    reverses     INTEGER REFERENCES credits (id),
    created_at   TEXT NOT NULL,
    CHECK ((kind = 'reversal') = (reverses IS NOT NULL)),
    CHECK ((kind = 'reversal' AND amount_cents < 0) OR (kind <> 'reversal' AND amount_cents > 0))
);
CREATE UNIQUE INDEX credits_once ON credits (account_id, incident_id, kind)
    WHERE kind IN ('incident', 'appreciation');
CREATE UNIQUE INDEX credits_reversed_once ON credits (reverses) WHERE reverses IS NOT NULL;
CREATE INDEX credits_account ON credits (account_id);
CREATE INDEX credits_run ON credits (batch_run_id) WHERE batch_run_id IS NOT NULL;
CREATE TRIGGER credits_no_update BEFORE UPDATE ON credits BEGIN
    SELECT RAISE(ABORT, 'the credit ledger is append-only');
END;
CREATE TRIGGER credits_no_delete BEFORE DELETE ON credits BEGIN
    SELECT RAISE(ABORT, 'the credit ledger is append-only');
END;

-- Appreciation requests waiting for a supervisor other than the requester.
CREATE TABLE credit_requests (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    incident_id  TEXT NOT NULL REFERENCES incidents (id),
    kind         TEXT NOT NULL CHECK (kind IN ('appreciation')),
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    reason       TEXT NOT NULL,
    requested_by TEXT NOT NULL REFERENCES agents (login),
    requested_at TEXT NOT NULL,
    decided_by   TEXT REFERENCES agents (login),
    decided_at   TEXT,
    credit_id    INTEGER REFERENCES credits (id),
    UNIQUE (account_id, incident_id, kind)
);

CREATE TABLE restores (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    backup_id   TEXT NOT NULL REFERENCES backups (id),
    mode        TEXT NOT NULL CHECK (mode IN ('merge', 'keep-both', 'replace')),
    categories  TEXT NOT NULL,
    agent       TEXT NOT NULL REFERENCES agents (login),
    counts      TEXT NOT NULL,
    result      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    undone_by   TEXT REFERENCES agents (login),
    undone_at   TEXT
);
CREATE INDEX restores_account ON restores (account_id);

-- The live items of each touched category as they were just before a restore, so undo can
-- put them back exactly.
CREATE TABLE restore_archive (
    restore_id   INTEGER NOT NULL REFERENCES restores (id),
    category     TEXT NOT NULL,
    uid          TEXT NOT NULL,
    natural_key  TEXT NOT NULL,
    payload      TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    origin       TEXT NOT NULL,
    review       BOOLEAN NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (restore_id, category, uid)
) WITHOUT ROWID;

CREATE TABLE notes (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    agent      TEXT NOT NULL REFERENCES agents (login),
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX notes_account ON notes (account_id);

-- The hash-chained audit log (SPEC.md §2). audit_head holds the chain's tip; every writer
-- updates it in its own transaction, which serialises appends so the chain never forks.
CREATE TABLE audit (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    agent      TEXT NOT NULL,
    role       TEXT NOT NULL,
    action     TEXT NOT NULL,
    account_no TEXT,
    object_id  TEXT,
    outcome    TEXT NOT NULL,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_account ON audit (account_no) WHERE account_no IS NOT NULL;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Facts about the database itself (for example that it is a demo database, which `demo`
-- may rebuild, unlike a real one).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
