-- Schema version 10: the Claims page (R-LIST-1).
--
-- Each nomination keeps, beside its placement on the tabs, the values the
-- core derives for the Claims page (mci_core::ClaimsPlacement): when it was
-- created, when it last changed, the state its next lapse leads to, and
-- whether it is on the reviewer's page (its claim was submitted). The store
-- compares them with `now` and never knows a rule: a list of state S at
-- `now` is "state = S and not lapsed, or state_after = S and lapsed", and
-- the order by last change puts a lapse not yet swept at its deadline.
-- The step adds the columns with defaults; the store's code fills them
-- from each row's document in the same transaction
-- (schema::fill_claims_columns), a row at a time.
--
-- Every combination of scope (a partner, or the reviewer's submitted
-- claims), engagement (given or not), state (given or not) and order
-- (created or changed) has an index whose columns are the ones the list
-- fixes with `=`, then its order key and id, then lapse_at: a page walks it
-- from the cursor, newest first, with no sort, and passes over the rows
-- lapsed at `now` from the index alone. The lapses not yet swept (the sweep
-- keeps them few) are found by the lapse indexes and sorted. The
-- reviewer's indexes are partial: they hold only submitted claims.

ALTER TABLE nominations ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nominations ADD COLUMN changed_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nominations ADD COLUMN state_after TEXT;
ALTER TABLE nominations
    ADD COLUMN reviewable INTEGER NOT NULL DEFAULT 0 CHECK (reviewable IN (0, 1));

-- A partner's lists.
CREATE INDEX claims_created ON nominations (partner, created_at, id);
CREATE INDEX claims_changed ON nominations (partner, changed_at, id, lapse_at);
CREATE INDEX claims_engagement_created
    ON nominations (partner, engagement, created_at, id);
CREATE INDEX claims_engagement_changed
    ON nominations (partner, engagement, changed_at, id, lapse_at);
CREATE INDEX claims_state_created
    ON nominations (partner, state, created_at, id, lapse_at);
CREATE INDEX claims_state_changed
    ON nominations (partner, state, changed_at, id, lapse_at);
CREATE INDEX claims_engagement_state_created
    ON nominations (partner, engagement, state, created_at, id, lapse_at);
CREATE INDEX claims_engagement_state_changed
    ON nominations (partner, engagement, state, changed_at, id, lapse_at);
-- A partner's lapses into a state (without a state, nominations_lapsing
-- and nominations_lapse serve).
CREATE INDEX claims_state_lapse
    ON nominations (partner, state_after, lapse_at)
    WHERE lapse_at IS NOT NULL;
CREATE INDEX claims_engagement_state_lapse
    ON nominations (partner, engagement, state_after, lapse_at)
    WHERE lapse_at IS NOT NULL;

-- The reviewer's lists: every partner's submitted claims.
CREATE INDEX claims_reviewer_created
    ON nominations (created_at, id) WHERE reviewable = 1;
CREATE INDEX claims_reviewer_changed
    ON nominations (changed_at, id, lapse_at) WHERE reviewable = 1;
CREATE INDEX claims_reviewer_engagement_created
    ON nominations (engagement, created_at, id) WHERE reviewable = 1;
CREATE INDEX claims_reviewer_engagement_changed
    ON nominations (engagement, changed_at, id, lapse_at) WHERE reviewable = 1;
CREATE INDEX claims_reviewer_state_created
    ON nominations (state, created_at, id, lapse_at) WHERE reviewable = 1;
CREATE INDEX claims_reviewer_state_changed
    ON nominations (state, changed_at, id, lapse_at) WHERE reviewable = 1;
CREATE INDEX claims_reviewer_engagement_state_created
    ON nominations (engagement, state, created_at, id, lapse_at) WHERE reviewable = 1;
CREATE INDEX claims_reviewer_engagement_state_changed
    ON nominations (engagement, state, changed_at, id, lapse_at) WHERE reviewable = 1;
CREATE INDEX claims_reviewer_lapse
    ON nominations (lapse_at) WHERE reviewable = 1 AND lapse_at IS NOT NULL;
CREATE INDEX claims_reviewer_engagement_lapse
    ON nominations (engagement, lapse_at) WHERE reviewable = 1 AND lapse_at IS NOT NULL;
CREATE INDEX claims_reviewer_state_lapse
    ON nominations (state_after, lapse_at) WHERE reviewable = 1 AND lapse_at IS NOT NULL;
CREATE INDEX claims_reviewer_engagement_state_lapse
    ON nominations (engagement, state_after, lapse_at)
    WHERE reviewable = 1 AND lapse_at IS NOT NULL;

-- The counts of the Claims page: per (partner, engagement, state as
-- stored), kept by triggers in the transaction of every statement that
-- writes a nomination row, as tab_counts is (schema version 6). A read at
-- `now` corrects them by the rows whose lapse has come and that the sweep
-- has not written yet: each counts in its state_after instead of its
-- state. The reviewer's counts add, for each submitted state, the counters
-- of every partner (claim_counts_state).
CREATE TABLE claim_counts (
    partner    TEXT    NOT NULL,
    engagement TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (partner, engagement, state)
) WITHOUT ROWID;

CREATE INDEX claim_counts_state ON claim_counts (state, engagement, n);

INSERT INTO claim_counts (partner, engagement, state, n)
SELECT partner, engagement, state, count(*) FROM nominations
GROUP BY partner, engagement, state;

CREATE TRIGGER claim_counts_insert AFTER INSERT ON nominations
BEGIN
    INSERT INTO claim_counts (partner, engagement, state, n)
    VALUES (new.partner, new.engagement, new.state, 1)
    ON CONFLICT (partner, engagement, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER claim_counts_update AFTER UPDATE OF state, partner, engagement ON nominations
WHEN old.state IS NOT new.state OR old.partner IS NOT new.partner
    OR old.engagement IS NOT new.engagement
BEGIN
    UPDATE claim_counts SET n = n - 1
    WHERE partner = old.partner AND engagement = old.engagement AND state = old.state;
    INSERT INTO claim_counts (partner, engagement, state, n)
    VALUES (new.partner, new.engagement, new.state, 1)
    ON CONFLICT (partner, engagement, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER claim_counts_delete AFTER DELETE ON nominations
BEGIN
    UPDATE claim_counts SET n = n - 1
    WHERE partner = old.partner AND engagement = old.engagement AND state = old.state;
END;
