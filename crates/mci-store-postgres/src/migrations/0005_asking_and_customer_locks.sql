-- Schema version 5: whether a nomination still asks for consent
-- (R-CONSENT-10), as in the SQLite store's schema version 8, and the rows
-- the guards lock.
--
-- Once a customer's consent to one partner is accepted, every other
-- partner's live nomination of that customer for the engagement that still
-- asked for consent loses: it stays live (R-ENG-5, R-ADD-7) but asks no more.
-- `asking` is the standing flag the acceptance's guard counts
-- (mci_core::Standing::asking): customer claimed or awaiting consent, live,
-- and not lost, until `standing_until`. Before this step no nomination had
-- lost, so every live one still before consent asks.
ALTER TABLE nominations
    ADD COLUMN asking boolean NOT NULL DEFAULT false;

UPDATE nominations SET asking = true
WHERE live AND state IN ('customer_claimed', 'awaiting_consent');

-- One row per (engagement, customer) that was ever written: the lock every
-- commit takes, with SELECT ... FOR UPDATE under READ COMMITTED, before it
-- counts a guard or writes a nomination of that engagement and customer.
-- Every commit locks all its rows first, in (engagement, customer) order,
-- so two commits wait for each other instead of deadlocking, and the guards
-- (R-CONSENT-8, R-CONSENT-10, R-ADD-7, R-ENG-5) count the other nominations
-- as the last commit left them: two servers racing for one customer take
-- turns, as two tasks of one server do. A row is a lock every engine that
-- speaks PostgreSQL's SQL provides (CockroachDB has no advisory locks).
CREATE TABLE customer_locks (
    engagement text COLLATE "C" NOT NULL,
    customer   text COLLATE "C" NOT NULL, -- CustomerId's canonical display
    PRIMARY KEY (engagement, customer)
);

INSERT INTO customer_locks (engagement, customer)
SELECT DISTINCT engagement, customer FROM nominations;

-- The registry of the engagements known rows are kept for is locked
-- through its row of engagement '' (no engagement id is empty): a commit
-- that may make a customer known takes its key share before it reads which
-- engagements to give the customer rows on, and Store::seed_known locks it
-- for update while it takes an engagement on, so that no customer becomes
-- known between the engagement's registration and the walk that seeds it.
INSERT INTO known_engagements (engagement, done) VALUES ('', true);
