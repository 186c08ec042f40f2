-- Credits are requests that must be idempotent: request_key names "the same request"
-- (incident:ACCOUNT:INCIDENT, goodwill:…:KEY, reversal:CREDIT), so a replay finds the
-- original credit and a lost race hits this index instead of crediting twice.
ALTER TABLE credits ADD COLUMN request_key TEXT;
CREATE UNIQUE INDEX credits_request_key ON credits (request_key) WHERE request_key IS NOT NULL;

-- A batch run may be run again once finished (a replay that credits nobody), so the run's
-- parameters no longer identify one row; an unfinished run with the same parameters is
-- resumed instead. The table has never held rows before this migration.
DROP TABLE batch_runs;
CREATE TABLE batch_runs (
    id              INTEGER PRIMARY KEY,
    incident_id     TEXT NOT NULL REFERENCES incidents (id),
    params_hash     TEXT NOT NULL,
    selection       TEXT NOT NULL,
    shard_k         INTEGER NOT NULL,
    shard_n         INTEGER NOT NULL,
    max_total_cents INTEGER,
    state           TEXT NOT NULL CHECK (state IN ('running', 'finished')),
    cursor          INTEGER NOT NULL DEFAULT 0,
    selected        INTEGER NOT NULL DEFAULT 0,
    credited        INTEGER NOT NULL DEFAULT 0,
    already         INTEGER NOT NULL DEFAULT 0,
    ineligible      INTEGER NOT NULL DEFAULT 0,
    invalid         INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    total_cents     INTEGER NOT NULL DEFAULT 0,
    started_by      TEXT NOT NULL REFERENCES agents (login),
    started_at      TEXT NOT NULL,
    finished_at     TEXT
);
-- At most one unfinished run per set of parameters: concurrent starters of the same command
-- meet here and share the run.
CREATE UNIQUE INDEX batch_runs_running ON batch_runs (params_hash) WHERE state = 'running';

-- An appreciation request is decided once; approver and credit are set together.
CREATE INDEX credit_requests_pending ON credit_requests (decided_at) WHERE decided_at IS NULL;
