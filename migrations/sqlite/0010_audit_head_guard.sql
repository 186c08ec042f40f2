-- The audit chain's head moves only by appending. append_audit locks the head with a no-op
-- update, inserts the new records, then moves the head to the last of them; nothing else may
-- change it, so the head cannot be moved back over a cut tail or onto a rewritten record.
-- The head row is never deleted, and there is only ever the one row.
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head BEGIN
    SELECT RAISE(ABORT, 'the audit head cannot be removed');
END;
CREATE TRIGGER audit_head_one_row BEFORE INSERT ON audit_head
WHEN EXISTS (SELECT 1 FROM audit_head) BEGIN
    SELECT RAISE(ABORT, 'the audit log has one head');
END;
CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head
WHEN NOT (
    -- The lock taken by append_audit: nothing changes.
    (NEW.id = OLD.id AND NEW.seq = OLD.seq AND NEW.hash = OLD.hash)
    -- Forward, onto a record that is in the log with that hash.
    OR (NEW.id = OLD.id AND NEW.seq > OLD.seq
        AND EXISTS (SELECT 1 FROM audit WHERE seq = NEW.seq AND hash = NEW.hash))
) BEGIN
    SELECT RAISE(ABORT, 'the audit head moves only forward, onto a record of the audit log');
END;
