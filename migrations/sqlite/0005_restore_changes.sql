-- What each restore changed among the live items, as one JSON array of [category, uid,
-- change, content hash] (change: added, updated or removed; the hash an item had right after
-- the restore, or for a removed item the hash it had before). Undo compares the live items
-- with it to tell whether the customer changed anything since (their new data must never be
-- lost), and puts back only what the restore touched, so untouched items keep their rows.
-- One value per restore, not one row per item: a restore of thousands of items writes it in
-- one go.
ALTER TABLE restores ADD COLUMN changes TEXT NOT NULL DEFAULT '[]';

-- A replayed restore answers with the earlier one of the same account and backup.
CREATE INDEX restores_backup ON restores (account_id, backup_id);
