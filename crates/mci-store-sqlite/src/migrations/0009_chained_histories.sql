-- Every history a hash chain (R-LIST-4): each event document gains the hash
-- of the event before it and of its own canonical content, and each
-- nomination document the hash of its last event. SQLite has no SHA-256 and
-- no RFC 8785 canonical JSON, so the store's code rewrites the documents in
-- this step's transaction (schema::chain_histories); the SQL changes nothing.
SELECT 1;
