-- Schema version 4: the known rows of each engagement's page (R-PAGE-2,
-- R-PAGE-4, R-PAGE-9; mci_store "Known customers"), as in the SQLite
-- store's schema version 7.
--
-- A page must not walk a partner's known customers, so the store keeps one
-- row per partner, engagement and known customer, with the last answer of
-- the eligibility port kept for it and the placement the core derives
-- (mci_core::known_placement), each partner's engagement's figures beside
-- them, and how far the seeding of each engagement got. Instants are
-- microseconds since the Unix epoch, as in every other table; customer is
-- the order key of known_customers, whose byte order is CustomerId order.
--
-- A database migrated to this version has no known rows yet: the service
-- seeds each engagement (Store::seed_known), which gives every customer
-- known already its rows, in bounded batches.

-- One row per (partner, engagement, known customer): tab and checked as
-- the kept placement says (Tab::code, 0 while the partner's own live
-- nomination shows instead), changes_at the instant the placement stops
-- holding (NULL: only a write changes it), checked_at the instant of the
-- kept answer (NULL: never asked), and doc the JSON of the known customer,
-- the kept answer and the placement.
CREATE TABLE known_rows (
    partner    text     COLLATE "C" NOT NULL,
    engagement text     COLLATE "C" NOT NULL,
    customer   bytea    NOT NULL,
    tab        smallint NOT NULL CHECK (tab IN (0, 1, 2)),
    checked    boolean  NOT NULL,
    changes_at bigint,
    checked_at bigint,
    doc        text     NOT NULL,
    PRIMARY KEY (partner, engagement, customer)
);

-- A tab of known rows as kept: partner = $1 AND engagement = $2 AND tab = $3
-- AND customer > $4, in customer order, with changes_at to keep only the
-- placements that still hold at now.
CREATE INDEX known_rows_tab
    ON known_rows (partner, engagement, tab, customer) INCLUDE (changes_at);

-- The rows of a partner's engagement whose placement stopped holding at
-- now (changes_at <= now), which reads derive again: the sweep keeps them
-- few.
CREATE INDEX known_rows_changing
    ON known_rows (partner, engagement, changes_at)
    WHERE changes_at IS NOT NULL;

-- The rows of one engagement and customer, every partner's: derived again
-- when a nomination of theirs is written.
CREATE INDEX known_rows_customer
    ON known_rows (engagement, customer);

-- What the sweep asks the port again: never asked first, then the oldest
-- answer (two walks: checked_at IS NULL, then checked_at < $1).
CREATE INDEX known_rows_to_check
    ON known_rows (checked_at NULLS FIRST, partner, engagement, customer);

-- The oldest answer behind a shown row of a partner's engagement: its
-- first entry whose placement holds at now.
CREATE INDEX known_rows_oldest_answer
    ON known_rows (partner, engagement, checked_at) INCLUDE (changes_at)
    WHERE tab > 0 AND checked;

-- The figures of each partner's engagement, as its rows are kept, moved in
-- the transaction of every change to them, after the other rows and in
-- (partner, engagement) order: eligible (checked or not), of those not
-- checked, and ineligible. Reads correct them by the rows whose placement
-- stopped holding.
CREATE TABLE known_figures (
    partner     text   COLLATE "C" NOT NULL,
    engagement  text   COLLATE "C" NOT NULL,
    eligible    bigint NOT NULL CHECK (eligible >= 0),
    not_checked bigint NOT NULL CHECK (not_checked >= 0 AND not_checked <= eligible),
    ineligible  bigint NOT NULL CHECK (ineligible >= 0),
    PRIMARY KEY (partner, engagement)
);

-- The engagements known rows are kept for, and how far seeding each got:
-- the last (partner, customer) of known_customers given a row, and whether
-- every known customer has one.
CREATE TABLE known_engagements (
    engagement     text    COLLATE "C" PRIMARY KEY,
    after_partner  text    COLLATE "C",
    after_customer bytea,
    done           boolean NOT NULL DEFAULT false
);
