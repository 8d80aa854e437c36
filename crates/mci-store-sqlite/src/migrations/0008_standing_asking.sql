-- Schema version 8: whether a nomination still asks for consent
-- (R-CONSENT-10).
--
-- Once a customer's consent to one partner is accepted, every other
-- partner's live nomination of that customer for the engagement that still
-- asked for consent loses: it stays live (R-ENG-5, R-ADD-7) but asks no more.
-- `asking` is the standing flag the acceptance's guard counts
-- (mci_core::Standing::asking): customer claimed or awaiting consent, live,
-- and not lost, until `standing_until`. Before this step no nomination had
-- lost, so every live one still before consent asks.
ALTER TABLE nominations
    ADD COLUMN asking INTEGER NOT NULL DEFAULT 0 CHECK (asking IN (0, 1));

UPDATE nominations SET asking = 1
WHERE live = 1 AND state IN ('customer_claimed', 'awaiting_consent');
