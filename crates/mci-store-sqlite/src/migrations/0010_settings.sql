-- Schema version 10: the settings an embedding application keeps beside
-- its nominations (mci_store::Store::setting), such as a demo clock's
-- reading, one row a key. The checks repeat the bounds of SettingKey and
-- SettingValue, so that no other writer of the file stores what the
-- store could not read back.
CREATE TABLE settings (
    key   TEXT NOT NULL PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 64),
    value TEXT NOT NULL CHECK (length(CAST(value AS BLOB)) <= 4096)
) WITHOUT ROWID;
