-- A supervisor may reject an appreciation request with a reason, which the requester reads on
-- the account. A request is pending (decided_at NULL), approved (credit_id set) or rejected
-- (decided, no credit, and this reason). The check keeps a reason off any request that is not
-- a rejection; earlier rows have none.
ALTER TABLE credit_requests ADD COLUMN rejection_reason TEXT
    CHECK (rejection_reason IS NULL OR (decided_at IS NOT NULL AND credit_id IS NULL));
