-- Schema version 6: the counts of the tabs, kept beside the rows, so that
-- counting a partner's tabs never walks its nominations (R-PAGE-9).
--
-- tab_counts holds, per (partner, engagement, tab as stored), how many
-- nominations are stored in that tab; a hidden nomination (tab 0) counts
-- nowhere. Triggers keep it in the transaction of every statement that
-- writes a nomination row, so it agrees with the rows whoever writes them
-- (the store's commits, or the raw statements of the benchmarks'
-- baselines). A read at `now` corrects it by the rows whose lapse has come
-- and that the sweep has not written yet: each counts in its tab_after
-- instead of its tab. nominations_lapse finds those rows for one partner
-- and engagement, in lapse order, from its own columns.
--
-- The step fills the table from the rows a file of an earlier version
-- holds, then keeps it.

CREATE TABLE tab_counts (
    partner    TEXT    NOT NULL,
    engagement TEXT    NOT NULL,
    tab        INTEGER NOT NULL CHECK (tab <> 0),  -- Tab::code
    n          INTEGER NOT NULL,
    PRIMARY KEY (partner, engagement, tab)
) WITHOUT ROWID;

INSERT INTO tab_counts (partner, engagement, tab, n)
SELECT partner, engagement, tab, count(*) FROM nominations
WHERE tab <> 0
GROUP BY partner, engagement, tab;

-- The lapses of one partner's engagement up to now, with the tabs they
-- move between: partner = ? AND engagement = ? AND lapse_at <= now.
CREATE INDEX nominations_lapse
    ON nominations (partner, engagement, lapse_at, tab, tab_after)
    WHERE lapse_at IS NOT NULL;

CREATE TRIGGER tab_counts_insert AFTER INSERT ON nominations
WHEN new.tab <> 0
BEGIN
    INSERT INTO tab_counts (partner, engagement, tab, n)
    VALUES (new.partner, new.engagement, new.tab, 1)
    ON CONFLICT (partner, engagement, tab) DO UPDATE SET n = n + 1;
END;

-- The store never moves a nomination to another partner or engagement;
-- the trigger counts it right if something else does.
CREATE TRIGGER tab_counts_update AFTER UPDATE OF tab, partner, engagement ON nominations
WHEN old.tab IS NOT new.tab OR old.partner IS NOT new.partner
    OR old.engagement IS NOT new.engagement
BEGIN
    UPDATE tab_counts SET n = n - 1
    WHERE partner = old.partner AND engagement = old.engagement AND tab = old.tab;
    INSERT INTO tab_counts (partner, engagement, tab, n)
    SELECT new.partner, new.engagement, new.tab, 1 WHERE new.tab <> 0
    ON CONFLICT (partner, engagement, tab) DO UPDATE SET n = n + 1;
END;

-- Nothing deletes a nomination (R-REC-3); if something does, it stops
-- counting.
CREATE TRIGGER tab_counts_delete AFTER DELETE ON nominations
WHEN old.tab <> 0
BEGIN
    UPDATE tab_counts SET n = n - 1
    WHERE partner = old.partner AND engagement = old.engagement AND tab = old.tab;
END;
