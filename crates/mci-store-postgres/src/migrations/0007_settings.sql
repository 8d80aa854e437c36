-- Schema version 7: the settings an embedding application keeps beside
-- its nominations (mci_store::Store::setting), such as a demo clock's
-- reading, one row a key. The checks repeat the bounds of SettingKey and
-- SettingValue, so that no other writer of the database stores what the
-- store could not read back.
CREATE TABLE settings (
    key   text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 64),
    value text NOT NULL CHECK (octet_length(value) <= 4096)
);
