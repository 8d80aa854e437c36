-- Schema version 9: the Attention required list (R-LIST-3), as in the
-- SQLite store's schema version 12.
--
-- Each nomination keeps, beside its lapse instant, the class the core
-- derives for the list (mci_core::AttentionPlacement): 1 when it needs its
-- partner until its deadline (the reviewer asked for more, a rejection to
-- dispute, a customer lost to another partner), 2 when it does only once
-- its deadline is within the window (a consent, a claim to submit), NULL
-- when it needs nothing. The step adds the column; the store's code fills
-- it from each row's document in the same transaction
-- (schema::fill_attention_column), a row at a time.
--
-- A partner's list at `now` is two walks of attention_walk, one per class,
-- each from `lapse_at > now` in (lapse_at, id) order (the window's up to
-- `lapse_at <= until`), merged in that order (Merge Append) and stopped at
-- the list's limit. A lapse leads to a terminal state, of no class, so
-- every row a walk meets is on the list: neither walk filters, and its
-- cost grows with the list, not with the partner's other rows. The index
-- is partial: it holds only the rows of a class.

ALTER TABLE nominations
    ADD COLUMN attention smallint CHECK (attention IS NULL OR attention IN (1, 2));

CREATE INDEX attention_walk ON nominations (partner, attention, lapse_at, id)
    WHERE attention IS NOT NULL AND lapse_at IS NOT NULL;
