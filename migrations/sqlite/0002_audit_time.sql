-- `audit log --since` reads the chain from a point in time; without this index it scans the
-- whole log, which grows by a record for every account view.
CREATE INDEX audit_at ON audit (at);
