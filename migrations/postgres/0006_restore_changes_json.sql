-- A restore's list of changes becomes one JSON array of [category, uid, change, content hash]
-- on its record instead of a row per item in restore_changes: a restore of 5,000 items spent
-- about a fifth of its time writing those rows. Undo reads it the same way (what the restore
-- added, updated or removed, and each item's hash right after it).
ALTER TABLE restores ADD COLUMN changes TEXT NOT NULL DEFAULT '[]';
-- Restores recorded before this migration keep the changes they had, so they can still be
-- undone.
UPDATE restores SET changes = (
    SELECT CAST(json_agg(json_build_array(c.category, c.uid, c.change, c.content_hash)) AS TEXT)
    FROM restore_changes c WHERE c.restore_id = restores.id
) WHERE EXISTS (SELECT 1 FROM restore_changes c WHERE c.restore_id = restores.id);
DROP TABLE restore_changes;
