-- Schema version 5: no link token rests in the outbox (R-TOKEN-4).
--
-- Versions 1 to 4 kept a consent or survey message's token in its document,
-- before delivery and after. Messages now carry the link's id, from which
-- the sender derives the token with a key kept outside the database; a
-- stored token cannot be turned back into an id. So every message that
-- holds a token loses it and counts as delivered: a pending one is never
-- sent, and its partner sends the link again (R-CONSENT-3, R-CLAIM-W-3).
-- Links already delivered keep working until voided or lapsed: their hashes
-- stay with their nominations. After this step the store rewrites the file
-- (VACUUM) and empties the WAL, so that neither a freed page nor a WAL
-- frame keeps the old bytes.
UPDATE outbox
SET doc = json_remove(doc, '$.kind.token'), delivered = 1
WHERE json_extract(doc, '$.kind.token') IS NOT NULL;
