-- An account's timeline is its newest audit records. Keyed by account alone, the planner
-- walked the whole chain backwards by sequence to find them (120 ms per account view once a
-- batch run had written a million records); keyed by account and sequence it reads just them.
DROP INDEX audit_account;
CREATE INDEX audit_account ON audit (account_no, seq) WHERE account_no IS NOT NULL;
