-- Schema version 2: the indexes every query walks, and the constraint that
-- backs the consent guard, as in the SQLite store's schema version 2.
--
-- In each index the keyset column (id) follows the columns a query fixes
-- with `=` and comes before any column it ranges over, so that a page is one
-- bounded walk in id order, with no sort. Trailing columns make the filters
-- on them readable from the index alone. A walk orders by its index's key
-- (tab, id), not by id alone, so that no other index of id (the primary
-- key) can serve it: the reads' module says why.

-- A tab as stored: partner = $1 AND engagement = $2 AND tab = $3 AND id > $4,
-- not lapsed at now.
CREATE INDEX nominations_tab
    ON nominations (partner, engagement, tab, id, lapse_at);

-- The rows that lapsed into a tab and are not yet swept:
-- partner = $1 AND engagement = $2 AND tab_after = $3 AND lapse_at <= now.
CREATE INDEX nominations_lapse_into
    ON nominations (partner, engagement, tab_after, lapse_at, id)
    WHERE lapse_at IS NOT NULL;

-- A partner's deadlines about to pass: lapse_at in (now, until].
CREATE INDEX nominations_lapsing
    ON nominations (partner, lapse_at, id)
    WHERE lapse_at IS NOT NULL;

-- The sweep: wake_at <= now, earliest first.
CREATE INDEX nominations_due
    ON nominations (wake_at, id)
    WHERE wake_at IS NOT NULL;

-- Nominations by stored state, everyone's or one partner's, in id order.
CREATE INDEX nominations_state
    ON nominations (state, id, lapse_at);
CREATE INDEX nominations_partner_state
    ON nominations (partner, state, id, lapse_at);

-- The nominations of one customer for one engagement: standings and guards.
CREATE INDEX nominations_customer
    ON nominations (engagement, customer, partner);

-- One consent per customer per engagement (R-CONSENT-8), where the consent
-- is held for good: a completed nomination holds it forever, so no two can
-- exist for one (engagement, customer). The time-bound part of the guard is
-- checked inside the transaction that writes the change.
CREATE UNIQUE INDEX nominations_one_completed_consent
    ON nominations (engagement, customer)
    WHERE completed;

-- The links of a nomination, replaced when it is written.
CREATE INDEX links_nomination ON links (nomination);

-- The pending messages, oldest available first. Delivered messages are kept
-- (R-REC-3) but leave this index.
CREATE INDEX outbox_pending
    ON outbox (available_at, seq)
    WHERE NOT delivered;
