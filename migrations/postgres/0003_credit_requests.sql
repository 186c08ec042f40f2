-- Credits are requests that must be idempotent: request_key names "the same request"
-- (incident:ACCOUNT:INCIDENT, goodwill:…:KEY, reversal:CREDIT), so a replay finds the
-- original credit and a lost race hits this index instead of crediting twice.
ALTER TABLE credits ADD COLUMN request_key TEXT;
CREATE UNIQUE INDEX credits_request_key ON credits (request_key) WHERE request_key IS NOT NULL;

-- A batch run may be run again once finished (a replay that credits nobody), so the run's
-- parameters no longer identify one row; an unfinished run with the same parameters is
-- resumed instead.
ALTER TABLE batch_runs DROP CONSTRAINT batch_runs_params_hash_applied_key;
ALTER TABLE batch_runs DROP COLUMN applied;
ALTER TABLE batch_runs ADD COLUMN selection TEXT NOT NULL DEFAULT 'all';
ALTER TABLE batch_runs ADD COLUMN max_total_cents BIGINT;
-- At most one unfinished run per set of parameters: concurrent starters of the same command
-- meet here and share the run.
CREATE UNIQUE INDEX batch_runs_running ON batch_runs (params_hash) WHERE state = 'running';

-- An appreciation request is decided once; approver and credit are set together.
CREATE INDEX credit_requests_pending ON credit_requests (decided_at) WHERE decided_at IS NULL;
