-- A batch chunk reads back the credits it just wrote by run and account range; with the run
-- alone as the key that read would scan every earlier chunk's credits too.
DROP INDEX credits_run;
CREATE INDEX credits_run ON credits (batch_run_id, account_id) WHERE batch_run_id IS NOT NULL;
