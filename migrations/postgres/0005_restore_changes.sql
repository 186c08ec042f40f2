-- What each restore changed among the live items: the uids it added, updated or removed,
-- with the content hash each had right after the restore (for a removed item, the hash it
-- had before). Undo compares the live items with this to tell whether the customer changed
-- anything since (their new data must never be lost), and puts back only what the restore
-- touched, so untouched items keep their rows.
CREATE TABLE restore_changes (
    restore_id   BIGINT NOT NULL REFERENCES restores (id),
    category     TEXT NOT NULL,
    uid          TEXT NOT NULL,
    change       TEXT NOT NULL CHECK (change IN ('added', 'updated', 'removed')),
    content_hash TEXT NOT NULL,
    PRIMARY KEY (restore_id, category, uid)
);

-- A replayed restore answers with the earlier one of the same account and backup.
CREATE INDEX restores_backup ON restores (account_id, backup_id);
