-- Schema version 1: the tables.
--
-- Every instant is an INTEGER of nanoseconds since the Unix epoch (UTC), so
-- that comparing two columns, or a column and a parameter, is comparing the
-- instants; ids are the 16 bytes of their UUID, so that byte order is id
-- order (UUID v7: creation order).

PRAGMA application_id = 1296255281; -- 0x4D434931, "MCI1"

-- One row per nomination: the document the core serialises, beside the
-- values the queries filter on, all derived by the core when it was written
-- (mci_store::Derived): the placement (tab now, next lapse, tab after it,
-- next wake) and the standing (R-CONSENT-8, R-ADD-7, R-ENG-5).
CREATE TABLE nominations (
    id             BLOB    NOT NULL UNIQUE CHECK (length(id) = 16),
    partner        TEXT    NOT NULL,
    engagement     TEXT    NOT NULL,
    customer       TEXT    NOT NULL,  -- CustomerId's canonical display
    state          TEXT    NOT NULL,  -- State's serialised name
    version        INTEGER NOT NULL CHECK (version >= 1),
    tab            INTEGER NOT NULL,  -- Tab::code of the stored tab, 0 when hidden
    lapse_at       INTEGER,           -- the next lapse
    tab_after      INTEGER,           -- Tab::code after that lapse
    wake_at        INTEGER,           -- when the sweep next has work
    live           INTEGER NOT NULL CHECK (live IN (0, 1)),
    holds_consent  INTEGER NOT NULL CHECK (holds_consent IN (0, 1)),
    completed      INTEGER NOT NULL CHECK (completed IN (0, 1)),
    standing_until INTEGER,           -- when live and holds_consent stop holding
    doc            TEXT    NOT NULL   -- the nomination, JSON
);

-- The history, one event per version (R-REC-1).
CREATE TABLE events (
    nomination BLOB    NOT NULL REFERENCES nominations (id),
    version    INTEGER NOT NULL,
    doc        TEXT    NOT NULL,
    PRIMARY KEY (nomination, version)
);

-- The live links: the hash of each token to the nomination holding it
-- (R-TOKEN-2). A voided link's row is deleted with the write that voids it.
CREATE TABLE links (
    hash       BLOB NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    nomination BLOB NOT NULL REFERENCES nominations (id)
) WITHOUT ROWID;

-- The outbox (R-REC-2): seq gives the order messages were queued in; a
-- message is pending until delivered, and available from available_at (its
-- queue instant, then the end of each lease).
CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY,
    id           BLOB    NOT NULL UNIQUE CHECK (length(id) = 16),
    nomination   BLOB    NOT NULL REFERENCES nominations (id),
    doc          TEXT    NOT NULL,
    available_at INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    delivered    INTEGER NOT NULL DEFAULT 0 CHECK (delivered IN (0, 1))
);

-- The customers known to a partner (R-CLAIM-1): the first nomination through
-- which the customer consented to the partner. Consent is never taken back,
-- so rows are only ever added. customer is an order key: byte order is
-- CustomerId order.
CREATE TABLE known_customers (
    partner  TEXT NOT NULL,
    customer BLOB NOT NULL,
    through  BLOB NOT NULL REFERENCES nominations (id),
    PRIMARY KEY (partner, customer)
) WITHOUT ROWID;

-- Idempotency records (R-REC-5): the first result of a key, kept opaque.
CREATE TABLE idempotency (
    scope    TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    result   TEXT NOT NULL,
    PRIMARY KEY (scope, idem_key)
) WITHOUT ROWID;

-- Payout batches (R-CLAIM-W-9), immutable.
CREATE TABLE payout_batches (
    id  BLOB NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    doc TEXT NOT NULL
);
