-- Schema version 4: an idempotency key is bound to the command it was first
-- used with (R-REC-5).
--
-- `fingerprint` holds the 32 bytes of the SHA-256 of the command's canonical
-- form (mci_store::Fingerprint). Records written before this step have none:
-- their command is not known, so a reused key of theirs is answered as
-- before, with the first result.
ALTER TABLE idempotency
    ADD COLUMN fingerprint BLOB
    CHECK (fingerprint IS NULL OR length(fingerprint) = 32);
