-- Who last disabled, enabled or changed the role of an agent, and when: what the refusal of
-- that agent's next action names ("your login "alice" was disabled by sofia at …"). Empty for
-- agents nobody has changed since this migration.
ALTER TABLE agents ADD COLUMN changed_by TEXT;
ALTER TABLE agents ADD COLUMN changed_at TEXT;
