-- Schema version 1: the tables, as the SQLite store keeps them at its
-- schema version 5 (crates/mci-store-sqlite/src/migrations), in
-- PostgreSQL's types.
--
-- Instants are bigint microseconds since the Unix epoch (UTC), not
-- timestamptz: an i64 of microseconds holds every instant chrono represents
-- (about ±262,000 years) exactly, where timestamptz stops at 4713 BC and
-- would make the store clamp or refuse a derived instant that chrono holds;
-- comparing two columns, or a column and a parameter, is comparing the
-- instants, with no session time zone in between; and the values are the
-- SQLite store's, so both stores answer every comparison alike. To read one
-- as a date: timestamptz 'epoch' + lapse_at * interval '1 microsecond'.
--
-- Ids are uuid, compared byte by byte: a UUID v7's order is its creation
-- order. Hashes and order keys are bytea, also compared byte by byte. Text
-- that is compared or indexed is COLLATE "C" (byte order), so that no
-- locale of the server changes an answer or an index. Documents are the
-- core's JSON, kept as text byte for byte as serde wrote them (jsonb would
-- reorder keys and refuses the escape \u0000 that JSON allows).

-- One row per nomination: the document the core serialises, beside the
-- values the queries filter on, all derived by the core when it was written
-- (mci_store::Derived): the placement (tab now, next lapse, tab after it,
-- next wake) and the standing (R-CONSENT-8, R-ADD-7, R-ENG-5).
CREATE TABLE nominations (
    id             uuid     PRIMARY KEY,
    partner        text     COLLATE "C" NOT NULL,
    engagement     text     COLLATE "C" NOT NULL,
    customer       text     COLLATE "C" NOT NULL, -- CustomerId's canonical display
    state          text     COLLATE "C" NOT NULL, -- State's serialised name
    version        bigint   NOT NULL CHECK (version >= 1),
    tab            smallint NOT NULL,             -- Tab::code of the stored tab, 0 when hidden
    lapse_at       bigint,                        -- the next lapse
    tab_after      smallint,                      -- Tab::code after that lapse
    wake_at        bigint,                        -- when the sweep next has work
    live           boolean  NOT NULL,
    holds_consent  boolean  NOT NULL,
    completed      boolean  NOT NULL,
    standing_until bigint,                        -- when live and holds_consent stop holding
    doc            text     NOT NULL              -- the nomination, JSON
);

-- The history, one event per version (R-REC-1).
CREATE TABLE events (
    nomination uuid   NOT NULL REFERENCES nominations (id),
    version    bigint NOT NULL,
    doc        text   NOT NULL,
    PRIMARY KEY (nomination, version)
);

-- The live links: the hash of each token to the nomination holding it
-- (R-TOKEN-2). A voided link's row is deleted with the write that voids it.
CREATE TABLE links (
    hash       bytea PRIMARY KEY CHECK (length(hash) = 32),
    nomination uuid  NOT NULL REFERENCES nominations (id)
);

-- The outbox (R-REC-2): seq gives the order messages were queued in; a
-- message is pending until delivered, and available from available_at (its
-- queue instant, then the end of each lease). Messages hold no link token
-- (R-TOKEN-4): the sender derives it from the link's id.
CREATE TABLE outbox (
    seq          bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           uuid    NOT NULL UNIQUE,
    nomination   uuid    NOT NULL REFERENCES nominations (id),
    doc          text    NOT NULL,
    available_at bigint  NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    delivered    boolean NOT NULL DEFAULT false
);

-- The customers known to a partner (R-CLAIM-1): the first nomination through
-- which the customer consented to the partner. Consent is never taken back,
-- so rows are only ever added. customer is an order key: byte order is
-- CustomerId order.
CREATE TABLE known_customers (
    partner  text  COLLATE "C" NOT NULL,
    customer bytea NOT NULL,
    through  uuid  NOT NULL REFERENCES nominations (id),
    PRIMARY KEY (partner, customer)
);

-- Idempotency records (R-REC-5): the first result of a key, kept opaque,
-- and the SHA-256 of the command's canonical form (mci_store::Fingerprint)
-- that binds the key to that command. Every record of this store has one.
CREATE TABLE idempotency (
    scope       text  COLLATE "C" NOT NULL,
    idem_key    text  COLLATE "C" NOT NULL,
    result      text  NOT NULL,
    fingerprint bytea NOT NULL CHECK (length(fingerprint) = 32),
    PRIMARY KEY (scope, idem_key)
);

-- Payout batches (R-CLAIM-W-9), immutable.
CREATE TABLE payout_batches (
    id  uuid PRIMARY KEY,
    doc text NOT NULL
);
