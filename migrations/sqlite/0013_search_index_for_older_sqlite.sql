-- The search index rebuilt in a form any SQLite from 3.34 on reads and updates, so an operator
-- can fix a record by hand with the distribution's own `sqlite3` (Debian 12 ships 3.40). The
-- first form needed 3.45: `contentless_delete = 1` (3.43) and the trigram tokenizer's
-- `remove_diacritics` (3.45); an older sqlite3 failed on any change of a name, e-mail or phone
-- ("unrecognized option", "error in tokenizer constructor").
--
-- Now an external-content FTS5 table over accounts itself: it indexes name_norm (already
-- lowercased and without diacritics, domain::search_fold: the form PostgreSQL's search column
-- is built from), the e-mail (the tokenizer folds case) and the phone number (searched with
-- digits only, so its leading '+' never matches), and stores no copy of them. Triggers keep it
-- in step; a changed or removed row leaves the index through the 'delete' command with the
-- values it was indexed with. Lookups read only rowids from it, as before.
DROP TRIGGER accounts_fts_insert;
DROP TRIGGER accounts_fts_delete;
DROP TRIGGER accounts_fts_update;
DROP TABLE accounts_fts;

CREATE VIRTUAL TABLE accounts_fts USING fts5 (
    name_norm, email, msisdn,
    content = 'accounts',
    content_rowid = 'id',
    tokenize = 'trigram'
);
INSERT INTO accounts_fts (accounts_fts) VALUES ('rebuild');
-- One segment, as a demo build or a large import leaves it (`db optimize`).
INSERT INTO accounts_fts (accounts_fts) VALUES ('optimize');

CREATE TRIGGER accounts_fts_insert AFTER INSERT ON accounts BEGIN
    INSERT INTO accounts_fts (rowid, name_norm, email, msisdn)
    VALUES (new.id, new.name_norm, new.email, new.msisdn);
END;
CREATE TRIGGER accounts_fts_delete AFTER DELETE ON accounts BEGIN
    INSERT INTO accounts_fts (accounts_fts, rowid, name_norm, email, msisdn)
    VALUES ('delete', old.id, old.name_norm, old.email, old.msisdn);
END;
CREATE TRIGGER accounts_fts_update AFTER UPDATE OF name_norm, email, msisdn ON accounts BEGIN
    INSERT INTO accounts_fts (accounts_fts, rowid, name_norm, email, msisdn)
    VALUES ('delete', old.id, old.name_norm, old.email, old.msisdn);
    INSERT INTO accounts_fts (rowid, name_norm, email, msisdn)
    VALUES (new.id, new.name_norm, new.email, new.msisdn);
END;
