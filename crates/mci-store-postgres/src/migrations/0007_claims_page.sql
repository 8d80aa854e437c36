-- Schema version 7: the Claims page (R-LIST-1), as in the SQLite store's
-- schema version 10.
--
-- Each nomination keeps, beside its placement on the tabs, the values the
-- core derives for the Claims page (mci_core::ClaimsPlacement): when it was
-- created, when it last changed, the state its next lapse leads to, and
-- whether it is on the reviewer's page (its claim was submitted). A list
-- of state S at `now` is "state = S and not lapsed, or state_after = S and
-- lapsed"; the order by last change puts a lapse not yet swept at its
-- deadline. The step adds the columns with defaults; the store's code
-- fills them from each row's document in the same transaction
-- (schema::fill_claims_columns), a row at a time.
--
-- Every combination of scope (a partner, or the reviewer's submitted
-- claims), engagement (given or not), state (given or not) and order
-- (created or changed) has an index: the columns the list fixes with `=`,
-- then its order key and id, with lapse_at included so that the rows
-- lapsed at `now` are passed over from the index alone. The reviewer's
-- indexes are partial. The lapses not yet swept are found by the lapse
-- indexes.
--
-- claim_counts holds, per (partner, engagement, state as stored), how many
-- nominations are stored in that state. The store moves the counters in
-- the transaction of every write, after tab_counts and before
-- known_figures, in key order (see crate::commit), as it moves tab_counts.

ALTER TABLE nominations ADD COLUMN created_at bigint NOT NULL DEFAULT 0;
ALTER TABLE nominations ADD COLUMN changed_at bigint NOT NULL DEFAULT 0;
ALTER TABLE nominations ADD COLUMN state_after text COLLATE "C";
ALTER TABLE nominations ADD COLUMN reviewable boolean NOT NULL DEFAULT false;

-- A partner's lists.
CREATE INDEX claims_created ON nominations (partner, created_at, id);
CREATE INDEX claims_changed ON nominations (partner, changed_at, id) INCLUDE (lapse_at);
CREATE INDEX claims_engagement_created
    ON nominations (partner, engagement, created_at, id);
CREATE INDEX claims_engagement_changed
    ON nominations (partner, engagement, changed_at, id) INCLUDE (lapse_at);
CREATE INDEX claims_state_created
    ON nominations (partner, state, created_at, id) INCLUDE (lapse_at);
CREATE INDEX claims_state_changed
    ON nominations (partner, state, changed_at, id) INCLUDE (lapse_at);
CREATE INDEX claims_engagement_state_created
    ON nominations (partner, engagement, state, created_at, id) INCLUDE (lapse_at);
CREATE INDEX claims_engagement_state_changed
    ON nominations (partner, engagement, state, changed_at, id) INCLUDE (lapse_at);
-- A partner's lapses not yet swept into one state (of every state,
-- nominations_lapsing and nominations_lapse serve).
CREATE INDEX claims_state_lapse
    ON nominations (partner, state_after, lapse_at, id)
    WHERE lapse_at IS NOT NULL;
CREATE INDEX claims_engagement_state_lapse
    ON nominations (partner, engagement, state_after, lapse_at, id)
    WHERE lapse_at IS NOT NULL;

-- The reviewer's lists: every partner's submitted claims.
CREATE INDEX claims_reviewer_created
    ON nominations (created_at, id) WHERE reviewable;
CREATE INDEX claims_reviewer_changed
    ON nominations (changed_at, id) INCLUDE (lapse_at) WHERE reviewable;
CREATE INDEX claims_reviewer_engagement_created
    ON nominations (engagement, created_at, id) WHERE reviewable;
CREATE INDEX claims_reviewer_engagement_changed
    ON nominations (engagement, changed_at, id) INCLUDE (lapse_at) WHERE reviewable;
CREATE INDEX claims_reviewer_state_created
    ON nominations (state, created_at, id) INCLUDE (lapse_at) WHERE reviewable;
CREATE INDEX claims_reviewer_state_changed
    ON nominations (state, changed_at, id) INCLUDE (lapse_at) WHERE reviewable;
CREATE INDEX claims_reviewer_engagement_state_created
    ON nominations (engagement, state, created_at, id) INCLUDE (lapse_at) WHERE reviewable;
CREATE INDEX claims_reviewer_engagement_state_changed
    ON nominations (engagement, state, changed_at, id) INCLUDE (lapse_at) WHERE reviewable;
CREATE INDEX claims_reviewer_lapse
    ON nominations (lapse_at, id) INCLUDE (state, state_after)
    WHERE reviewable AND lapse_at IS NOT NULL;
CREATE INDEX claims_reviewer_engagement_lapse
    ON nominations (engagement, lapse_at, id) INCLUDE (state, state_after)
    WHERE reviewable AND lapse_at IS NOT NULL;
CREATE INDEX claims_reviewer_state_lapse
    ON nominations (state_after, lapse_at, id)
    WHERE reviewable AND lapse_at IS NOT NULL;
CREATE INDEX claims_reviewer_engagement_state_lapse
    ON nominations (engagement, state_after, lapse_at, id)
    WHERE reviewable AND lapse_at IS NOT NULL;

CREATE TABLE claim_counts (
    partner    text   COLLATE "C" NOT NULL,
    engagement text   COLLATE "C" NOT NULL,
    state      text   COLLATE "C" NOT NULL,
    n          bigint NOT NULL,
    PRIMARY KEY (partner, engagement, state)
);

-- The reviewer's counts: every partner's counter of one state.
CREATE INDEX claim_counts_state ON claim_counts (state, engagement) INCLUDE (n);

INSERT INTO claim_counts (partner, engagement, state, n)
SELECT partner, engagement, state, count(*) FROM nominations
GROUP BY partner, engagement, state;
