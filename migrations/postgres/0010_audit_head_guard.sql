-- The audit chain's head moves only by appending. append_audit locks the head with a no-op
-- update, inserts the new records, then moves the head to the last of them; nothing else may
-- change it. Without this guard anyone who may update the head (the server's role, an
-- operator) could move it back over a cut tail or onto a rewritten record, and the chain would
-- verify. The head row is never deleted, and there is only ever the one row.
CREATE FUNCTION audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
        RAISE EXCEPTION 'the audit head cannot be removed';
    ELSIF TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM audit_head) THEN
            RAISE EXCEPTION 'the audit log has one head';
        END IF;
        RETURN NEW;
    END IF;
    -- The lock taken by append_audit: nothing changes.
    IF NEW IS NOT DISTINCT FROM OLD THEN
        RETURN NEW;
    END IF;
    -- Forward, onto a record that is in the log with that hash.
    IF NEW.id = OLD.id AND NEW.seq > OLD.seq
       AND EXISTS (SELECT 1 FROM audit WHERE seq = NEW.seq AND hash = NEW.hash) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit head moves only forward, onto a record of the audit log';
END;
$$;
CREATE TRIGGER audit_head_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_guard();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_head_guard();
