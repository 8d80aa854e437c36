-- Schema version 3: the counts of the tabs, kept beside the rows, so that
-- counting a partner's tabs never walks its nominations (R-PAGE-9), as in
-- the SQLite store's schema version 6.
--
-- tab_counts holds, per (partner, engagement, tab as stored), how many
-- nominations are stored in that tab; a hidden nomination (tab 0) counts
-- nowhere. The store moves the counters in the transaction of every write,
-- after its other rows and in (partner, engagement, tab) order, so that
-- commits which touch several partners' counters (an acceptance and the
-- losses it makes, R-CONSENT-10) lock them in one order and never deadlock,
-- and hold each counter's lock only for the end of their transaction. No
-- trigger moves them: a trigger would lock them in the order rows are
-- written. A read at `now` corrects them by the rows whose lapse has come
-- and that the sweep has not written yet: each counts in its tab_after
-- instead of its tab. nominations_lapse finds those rows for one partner and
-- engagement, in lapse order, from the index alone.
--
-- The step fills the table from the rows the database holds.

CREATE TABLE tab_counts (
    partner    text     COLLATE "C" NOT NULL,
    engagement text     COLLATE "C" NOT NULL,
    tab        smallint NOT NULL CHECK (tab <> 0),
    n          bigint   NOT NULL,
    PRIMARY KEY (partner, engagement, tab)
);

INSERT INTO tab_counts (partner, engagement, tab, n)
SELECT partner, engagement, tab, count(*) FROM nominations
WHERE tab <> 0
GROUP BY partner, engagement, tab;

-- The lapses of one partner's engagement up to now, with the tabs they
-- move between: partner = $1 AND engagement = $2 AND lapse_at <= now.
CREATE INDEX nominations_lapse
    ON nominations (partner, engagement, lapse_at) INCLUDE (tab, tab_after)
    WHERE lapse_at IS NOT NULL;
