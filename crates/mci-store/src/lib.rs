//! The storage contract of the mci crates.
//!
//! One trait, [`Store`], with a small set of async methods; every adapter
//! (`mci-store-memory`, `mci-store-sqlite`, or yours) implements it, and the
//! service holds it as `Arc<dyn Store>`. A store persists what the core
//! decides and checks what the core says must still hold; it never knows a
//! rule of the program:
//!
//! - **Writes** go through [`Store::commit`]: one [`Commit`] of nominations
//!   to create or update (each with the version it expects), their events,
//!   their outbox messages, the [`Guard`]s to check, an optional payout
//!   batch and an optional idempotency record, all written or none.
//! - **Tabs and the sweep** are answered by comparing instants with the
//!   [`Placement`] the core derives for each nomination: "in this tab and not
//!   yet lapsed, or lapsing into this tab and lapsed" ([`Placement::tab_at`]),
//!   and "due when its wake instant has come".
//! - **Guards** are checked against the [`Standing`] of the other nominations
//!   of the same engagement and customer ([`Guard::admits`]).
//!
//! # Writing an adapter
//!
//! These docs are all a third adapter needs (a PostgreSQL or a
//! key-value store, say): implement [`Store`] and run the conformance suite
//! (feature `conformance`) in your tests, as `conformance::run_all` shows;
//! the adapter is done when the whole suite passes. What each method must
//! do is in its documentation; the behaviours the suite proves are listed
//! [below](crate#the-conformance-suite).
//!
//! Instants reach a store to the microsecond (R-INPUT): inputs lie in
//! 1970-01-01 to 2200-12-31, and what is derived from them (deadlines,
//! leases) may lie far beyond. Keep and compare every instant chrono
//! represents exactly, to the microsecond, and never clamp one: an integer
//! of microseconds since the epoch does (one of nanoseconds ends in 2262).
//!
//! What an adapter keeps beside each nomination is [`Derived`]: its
//! [`Placement`] (tab as stored, next lapse instant, tab after the lapse,
//! next wake instant) and its [`Standing`] (live, holds consent, completed,
//! still asking for consent, until when), as plain columns or index keys.
//! Every query is a comparison of those with `now`:
//!
//! - tab `T` at `now`: `tab = T and (lapse_at is null or lapse_at > now)`,
//!   or `tab_after_lapse = T and lapse_at <= now` (two index walks merged by
//!   id; the second holds only lapses the sweep has not written yet);
//! - the counts of the tabs at `now`: counters per (partner, engagement,
//!   tab as stored), kept in the same transaction as each write, corrected
//!   by the rows of the partner and engagement with `lapse_at <= now`
//!   (the lapses the sweep has not written yet), never a walk of a tab
//!   ([`Store::count`], R-PAGE-9);
//! - due at `now`: `wake_at <= now`, by `(wake_at, id)`;
//! - a guard: [`Guard::admits`] over the standings of the other nominations
//!   of the guard's engagement and customer ([`check_guard`] does it in
//!   Rust);
//! - the rivals of an acceptance: every nomination of one engagement and
//!   customer ([`Store::rivals`]), the walk the guards make;
//! - known customers: the customers of the partner's nominations that were
//!   ever consented ([`Nomination::consented_at`](mci_core::Nomination::consented_at)),
//!   each once, by [`CustomerId`] order.
//!
//! # The Claims page
//!
//! The Claims page (R-LIST-1, [`Store::claims`], [`Store::claim_counts`])
//! lists a scope's nominations across engagements: one partner's
//! ([`ClaimsScope::Partner`], every state, hidden ones included), or every
//! partner's submitted claims for the reviewer ([`ClaimsScope::Reviewer`]).
//! An adapter keeps beside each nomination its
//! [`ClaimsPlacement`](mci_core::ClaimsPlacement) (stored state, lapse
//! instant, state after the lapse, created and changed instants, and
//! whether it is reviewable) and answers every list as an index walk in
//! `(sort instant, id)` order, newest first, after the cursor:
//!
//! - [`ClaimsOrder::Created`](mci_core::ClaimsOrder::Created), no state:
//!   one walk of the scope's (engagement's) rows by `(created_at, id)`;
//! - [`ClaimsOrder::Changed`](mci_core::ClaimsOrder::Changed), no state:
//!   the walk by `(changed_at, id)` of the rows not lapsed at `now`, merged
//!   with the walk by `(lapse_at, id)` of the rows with `lapse_at <= now`
//!   (a lapse not yet swept is a change at its deadline);
//! - state `S`: the walk of the rows stored in `S` and not lapsed at `now`,
//!   merged with the rows whose `state_after_lapse = S` and `lapse_at <=
//!   now`, as tabs are; in the created order the second part is sorted,
//!   and costs as many rows as there are unswept lapses into `S`.
//!
//! Every combination of scope, engagement (given or not), state (given
//! or not) and order has its own index, so each is an index walk whose
//! cost grows with the page, plus the lapses the sweep has not written
//! yet; none walks a scope's other rows. A search is a bounded scan on top
//! of that walk: at most [`ClaimsSearch::scan`](mci_core::ClaimsSearch::scan)
//! rows looked at per call, each tested with
//! [`ClaimsSearch::matches`](mci_core::ClaimsSearch::matches), and a cursor
//! after the last row looked at ([`ClaimsPage::scanned`] builds the page
//! from the walk's first rows).
//!
//! # The Attention required list
//!
//! The Attention required list (R-LIST-3, [`Store::attention`]) is, per
//! partner, what needs the partner now, soonest deadline first, at most a
//! limit. An adapter keeps beside each nomination its
//! [`AttentionPlacement`](mci_core::AttentionPlacement): its
//! [`AttentionClass`](mci_core::AttentionClass), or none, and its lapse
//! instant (the same as the placement's), and answers the list read at
//! `now`, its window ending at `until`, with two index walks by
//! `(partner, class, lapse_at, id)`, each in `(lapse_at, id)` order:
//!
//! - class [`Always`](mci_core::AttentionClass::Always): `lapse_at > now`;
//! - class [`WithinWindow`](mci_core::AttentionClass::WithinWindow):
//!   `lapse_at > now and lapse_at <= until`;
//!
//! merged by `(lapse_at, id)`, each walk stopping at `limit + 1` rows (the
//! one past the limit says more follow, [`AttentionCandidates::walked`]).
//! A row with no class is on neither walk, however soon its lapse, and a
//! row whose lapse came at or before `now` (swept or not) is before both
//! walks' range: each lapse leads to a terminal state, which needs
//! nothing. So every row a walk meets is on the list, neither walk
//! filters, and the cost grows with the answer, never with the partner's
//! other rows. Between two writes of a row its class holds, as its state
//! does until its lapse; the core's
//! [`Nomination::attention`](mci_core::Nomination::attention) at `now`
//! needs the partner exactly when the placement lists it, so the first
//! rows of the two walks are the soonest entries of all the partner's
//! nominations.
//!
//! # Known customers
//!
//! A partner's Customers page lists, besides its nominations, the customers
//! it knows (R-PAGE-2, -4) and counts them, at a cost that must not grow
//! with the partner (R-PAGE-9). So an adapter keeps a *known row* per
//! partner, engagement and known customer, holding the
//! [`KnownCustomer`], the last [`KeptAnswer`](mci_core::KeptAnswer) of the
//! eligibility port ([`Commit::answers`]) and the row's
//! [`KnownPlacement`](mci_core::KnownPlacement), which the core derives with
//! [`known_placement`](mci_core::known_placement) from the kept answer and
//! the partner and standing of every nomination of the engagement and
//! customer. The adapter derives it again, in the transaction of the
//! change:
//!
//! - for every row of an engagement and customer when a commit writes one
//!   of its nominations whose standing is new or changed;
//! - for a row whose answer a commit keeps;
//! - at `commit.now` for the rows a commit creates: when a customer becomes
//!   known to a partner (its first consented nomination), one row for each
//!   engagement [`Store::seed_known`] was called for.
//!
//! It keeps the figures of each (partner, engagement, tab, checked) in the
//! same transaction. Between two changes a placement holds until its
//! `changes_at`; a read at `now` derives again, at `now`, the rows whose
//! placement no longer holds (an index range on `changes_at`): the sweep
//! keeps them few, since it writes the lapses that end standings and asks
//! again the answers about to age out.
//!
//! # Settings
//!
//! Beside its nominations, an embedding application may keep a few small
//! named values in the store ([`Store::setting`], [`Store::put_setting`]):
//! what every server on one database must read the same and a restart
//! must not lose, such as a demo clock's reading. A key is a
//! [`SettingKey`] (lowercase letters, digits, `.`, `-`, `_`; at most 64),
//! a value a [`SettingValue`] (text of at most 4 KiB), both validated when
//! made. A put names its [`SettingCondition`]: any value, none yet, or
//! exactly the value the caller read (compare-and-set). An adapter keeps
//! one row per key and checks the condition and writes in one transaction
//! (or one conditional statement): a write that reads, compares and
//! writes apart would let two servers both win. The store never reads a
//! value: a rule over a setting (a clock that only moves forward) is the
//! caller's, decided from the value it read and kept by the
//! compare-and-set.
//!
//! # The conformance suite
//!
//! Behind the `conformance` feature, `mci_store::conformance` holds one
//! `pub async fn` per behaviour and `run_all`, which runs them all against
//! fresh stores from a factory:
//!
//! - commits: create, update with the expected version, a stale version is a
//!   retryable [`StoreError::Conflict`] and writes nothing; a failed guard
//!   leaves no nomination, event or message behind (atomicity); an update
//!   never moves a nomination to another partner or customer;
//! - guards under real concurrency: 32 partners accepting consent for one
//!   customer at once, exactly one succeeds (R-CONSENT-8); the same for
//!   duplicate nominations (R-ADD-7) and the live-nomination limit (R-ENG-5);
//!   an acceptance racing 31 other partners' new nominations of its customer
//!   either changes every rival it races or fails as a retryable guard
//!   violation, and once written, leaves no rival asking (R-CONSENT-10);
//! - the partner that lost (R-CONSENT-10): its nomination reads on the
//!   Ineligible tab, in the counts, not by its voided links, and still
//!   counts as live for the guards;
//! - no lost update: 32 writers from one version, one wins, the history
//!   shows exactly the winners (R-REC-4);
//! - partner isolation in every read (R-ROLE-2);
//! - tab pages: a keyset walk sees every row once while rows are inserted,
//!   counts agree with walks, and a page read at `t` equals the page read
//!   after sweeping to `t` (R-PAGE-7); the counts of all three tabs at a
//!   lapse and the microsecond before it, before the sweep writes it,
//!   after, and after the store is opened again (R-PAGE-9);
//! - links: a nomination is found by the hash of a live link, not by a
//!   voided one (R-TOKEN-2);
//! - the Claims page (R-LIST-1, `r_list_1_...`): both orders newest first,
//!   every combination of scope, engagement, state and order walked in
//!   pages equal to what the rows' states at `now` give, before the sweep
//!   writes their lapses and after; counts equal to walks; the reviewer's
//!   page over several partners; no partner sees another's rows (R-ROLE-2);
//!   a search's pages find what a full filter would, each looking at no
//!   more than its bound; keyset pages without gaps or repeats while rows
//!   are written; unreadable rows named and passed over
//!   (`r_list_1_unreadable_rows_are_listed_and_passed_over`, for adapters
//!   that can hold them);
//! - the Attention required list (R-LIST-3, `r_list_3_...`): the soonest
//!   `limit` rows of both classes by `(lapse_at, id)` and whether more
//!   follow, equal to what the rows' placements give at instants around
//!   the window's edges and the lapses, before the sweep writes them and
//!   after; more rejected claims and requests of the reviewer than the
//!   limit, their ids in another order than their deadlines; unswept
//!   lapses, claims with the reviewer and other partners' rows never on
//!   it; unreadable rows named and passed over
//!   (`r_list_3_unreadable_rows_are_named_and_passed_over`, for adapters
//!   that can hold them);
//! - the sweep's due query, history order, known customers, states;
//! - outbox: at least once, an expired lease delivers again, an acknowledged
//!   message never returns, ids are stable (R-REC-2);
//! - idempotency: one key, one write, the first result; the same key with
//!   another fingerprint is refused and writes nothing (R-REC-5);
//! - payout batches are stored with the payments they make, and listed in
//!   id order by keyset pages (R-CLAIM-W-9);
//! - settings: absent until written, then read back; each condition
//!   admits what it names and a refused put writes nothing, naming what
//!   the key held; invalid keys and values cannot be made;
//! - instants at the edges of the accepted range (R-INPUT): tabs, counts,
//!   states, lapsing and due lists at 1970-01-01 and at deadlines in 2210
//!   derived from the last microsecond of 2200, each at its instant and the
//!   microsecond before; the consent guard at the last accepted instant
//!   (exactly one of two acceptances wins) and at the winner's deadline; a
//!   lease ending past 2262 ends to the microsecond;
//! - a model-based property test: random commits and reads give the same
//!   answers on the store and on a small reference model, the counts of
//!   every tab equal to its walk at random instants (at lapses, the
//!   microsecond before, ahead of the sweep and after it);
//! - two handles on one database, as several application servers share
//!   one (`conformance::run_two_handles`, which an adapter runs beside
//!   `run_all` with a factory of fresh pairs of handles): 32 tasks racing
//!   on each handle, exactly one consent (R-CONSENT-8), one acceptance whose
//!   rivals all lose in its commit (R-CONSENT-10), no duplicate (R-ADD-7),
//!   the live limit (R-ENG-5), no lost update (R-REC-4), one idempotency
//!   key written once and refused to the rest as used or mismatched
//!   (R-REC-5), an outbox shared without a message taken twice within its
//!   lease and acknowledged through the other handle (R-REC-2), what
//!   one handle commits the other reads at once, a setting one handle
//!   puts the other reads at once, and 64 compare-and-set increments of
//!   one setting racing on both handles all land.
//!
//! # Example
//!
//! ```
//! use mci_store::{Commit, StoreError};
//! # use mci_testkit::*;
//!
//! // A commit holds what the core decided; the store writes it whole.
//! let (nomination, _) = fresh_nomination();
//! let commit = Commit::at(t0());
//! assert!(commit.writes.is_empty());
//! assert!(StoreError::Conflict { nomination: *nomination.id(), expected: 1, found: Some(2) }.is_retryable());
//! // A rival that appeared while an acceptance was decided: decide again.
//! let rival_asking = mci_core::Guard::NoRivalAsking {
//!     partner: partner(1),
//!     engagement: nomination.engagement().clone(),
//!     customer: *nomination.customer().id(),
//! };
//! assert!(StoreError::GuardViolated { guard: rival_asking }.is_retryable());
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod commit;
#[cfg(feature = "conformance")]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
pub mod conformance;
mod error;
pub mod observe;
mod query;
mod setting;

pub use commit::{
    AnswerWrite, Commit, Fingerprint, Idempotency, IdempotencyKey, IdempotentResult, Write,
};
pub use error::StoreError;
pub use query::{
    AttentionCandidates, AttentionQuery, ClaimCounts, ClaimsCursor, ClaimsPage, ClaimsQuery,
    ClaimsScope, Due, DueCursor, KnownCounts, KnownEntry, KnownPage, KnownQuery, KnownToCheck,
    Leased, Page, PageQuery, StateQuery, TabCounts, Unreadable,
};
pub use setting::{SettingCondition, SettingKey, SettingValue};

use async_trait::async_trait;
use mci_core::{
    CustomerId, EngagementId, Event, Guard, Instant, KnownCustomer, MessageId, Nomination,
    NominationId, PartnerId, PayoutBatch, PayoutBatchId, Placement, Standing, TokenHash,
};

/// The storage every adapter provides: `Send + Sync`, usable as
/// `Arc<dyn Store>`.
///
/// Reads take `now` where the answer depends on time, and answer by
/// comparing instants with the stored [`Placement`]; stores never read a
/// clock. Every method is one atomic operation.
#[async_trait]
pub trait Store: Send + Sync {
    /// A short name of the kind of store, such as `"sqlite"`: the `store`
    /// field of the spans and label of the metrics of [`observe`].
    /// `"custom"` unless the store says.
    fn backend_name(&self) -> &'static str {
        "custom"
    }

    /// Writes `commit` atomically, or nothing. The checks, in this order:
    ///
    /// 1. the commit must be valid as given ([`Commit::validate`]), else
    ///    [`StoreError::InvalidCommit`];
    /// 2. an idempotency key already used is refused, whatever the writes
    ///    would meet: a retried command learns first that it already ran
    ///    (R-REC-5). The stored record's fingerprint decides how
    ///    ([`Idempotency::refusal`]): the same fingerprint as the commit's
    ///    is [`StoreError::IdempotencyKeyUsed`]; another one is
    ///    [`StoreError::IdempotencyKeyMismatch`] naming the key, for the key
    ///    is bound to the command it was first used with; a record stored
    ///    without a fingerprint (by an older version of the adapter) is
    ///    [`StoreError::IdempotencyKeyUsed`];
    /// 3. each [`Write`] with `expected_version` 0 creates its nomination
    ///    (an existing id is a [`StoreError::Conflict`]); any other expected
    ///    version must equal the stored version, else
    ///    [`StoreError::Conflict`] (R-REC-4); an update that would give the
    ///    stored nomination another partner, engagement or customer is
    ///    [`StoreError::InvalidCommit`];
    /// 4. each write's guards must admit the standings of the *other*
    ///    nominations of the guard's engagement and customer, as they will be
    ///    with the commit's earlier writes applied, at `commit.now`, else
    ///    [`StoreError::GuardViolated`] naming the guard;
    /// 5. a payout batch whose id is stored already is
    ///    [`StoreError::InvalidCommit`];
    /// 6. then the nominations, their events, their messages (pending,
    ///    available from their queue instant; a message id already queued
    ///    is not queued twice), the payout batch and the idempotency record
    ///    are written together (R-REC-1, R-REC-2).
    ///
    /// A backend failure is [`StoreError::Unavailable`] when the same
    /// commit may succeed later (a lock, a connection, a full disk), else
    /// [`StoreError::Backend`]; either way nothing was written.
    async fn commit(&self, commit: Commit) -> Result<(), StoreError>;

    /// The nomination `id` if it belongs to `partner`; another partner's
    /// nomination answers `None`, like a missing one (R-ROLE-2). A stored
    /// row that cannot be read back is [`StoreError::Unreadable`] naming
    /// it, with a reason that holds none of its content; the same holds for
    /// the other single reads, [`Store::nomination_by_id`] and
    /// [`Store::nomination_by_link`]. Another partner's unreadable row still
    /// answers `None`.
    async fn nomination(
        &self,
        partner: &PartnerId,
        id: &NominationId,
    ) -> Result<Option<Nomination>, StoreError>;

    /// The nomination `id`, whoever's it is: for reviewers and the system.
    async fn nomination_by_id(&self, id: &NominationId) -> Result<Option<Nomination>, StoreError>;

    /// The nomination holding a live link whose token hashes to `hash`
    /// (R-TOKEN-2). Voided links are not found.
    async fn nomination_by_link(&self, hash: &TokenHash) -> Result<Option<Nomination>, StoreError>;

    /// The partner and standing of every nomination of `customer` for
    /// `engagement`: what eligibility is decided from (R-ADD-6, R-PAGE-4).
    async fn standings(
        &self,
        engagement: &EngagementId,
        customer: &CustomerId,
    ) -> Result<Vec<(PartnerId, Standing)>, StoreError>;

    /// Every partner's nominations of `customer` for `engagement`, whole,
    /// in no set order: what an acceptance of consent is decided among, for
    /// each other partner's nomination still asking loses (R-CONSENT-10).
    /// For the system and reviewers only: a partner never reads another
    /// partner's nominations (R-ROLE-2). One index walk of the customer's
    /// nominations, as [`Store::standings`] is; a row that cannot be read
    /// back fails the read, as the decision would be made without it.
    async fn rivals(
        &self,
        engagement: &EngagementId,
        customer: &CustomerId,
    ) -> Result<Vec<Nomination>, StoreError>;

    /// One page of a tab of a partner's nominations for an engagement at
    /// `query.now`, in id order after `query.after` (R-PAGE-1). A row that
    /// cannot be read back is counted against the limit and listed in
    /// [`Page::unreadable`], and the page's cursor goes past it
    /// ([`Page::scanned`]); the same holds for [`Store::by_state`].
    async fn page(&self, query: &PageQuery) -> Result<Page, StoreError>;

    /// How many of a partner's nominations for an engagement are in each
    /// tab at `now`: what a walk of each tab's pages at `now` would find
    /// (R-PAGE-1), hidden nominations in none.
    ///
    /// The count is bounded (R-PAGE-9): it costs the same for a partner with
    /// a thousand nominations as for one with a hundred thousand, as long
    /// as the sweep keeps up; it never walks a partner's nominations. An
    /// adapter keeps a counter per (partner, engagement, tab as stored),
    /// changed in the same transaction as each write (a created nomination
    /// adds one to its tab; an update takes one from its old tab and adds
    /// one to its new tab; a hidden one counts nowhere), and corrects the
    /// counters at read time by the lapses the sweep has not written yet:
    /// each row of the partner and engagement whose `lapse_at <= now`
    /// counts in its `tab_after_lapse` instead of its `tab`
    /// ([`TabCounts::lapse`]). Those rows are found by an index on
    /// (partner, engagement, lapse_at), so the correction costs as much as
    /// there are unswept lapses, never as much as the partner has rows.
    async fn count(
        &self,
        partner: &PartnerId,
        engagement: &EngagementId,
        now: Instant,
    ) -> Result<TabCounts, StoreError>;

    /// One page of the Claims page at `query.now` (R-LIST-1): the
    /// nominations of `query.scope` (of `query.engagement`, in
    /// `query.state` at `now`, when given), newest first in `query.order`,
    /// after `query.after`, narrowed by `query.search`; see
    /// [`ClaimsQuery`] and [the Claims page](crate#the-claims-page). A row
    /// that cannot be read back is counted as looked at, listed in
    /// [`ClaimsPage::unreadable`], and the cursor goes past it
    /// ([`ClaimsPage::scanned`]). Another partner's nominations never show
    /// on a partner's page (R-ROLE-2).
    async fn claims(&self, query: &ClaimsQuery) -> Result<ClaimsPage, StoreError>;

    /// How many of `scope`'s nominations (of `engagement`, when given) are
    /// in each state at `now` (R-LIST-1): what walking the pages of each
    /// state at `now` finds. Bounded as [`Store::count`] is (R-PAGE-9): an
    /// adapter keeps a counter per (partner, engagement, stored state),
    /// changed in the same transaction as each write, and corrects the
    /// counters at read time by the rows of the scope whose `lapse_at <=
    /// now` (they count in the state their lapse leads to,
    /// [`ClaimCounts::lapse`]), found by an index on the scope's lapse
    /// instants. The reviewer's counts add the counters of every partner:
    /// they cost as many counters as there are partners and engagements
    /// with submitted claims, never as many as there are claims.
    async fn claim_counts(
        &self,
        scope: &ClaimsScope,
        engagement: Option<&EngagementId>,
        now: Instant,
    ) -> Result<ClaimCounts, StoreError>;

    /// The customers that consented to `partner` for any engagement, one
    /// entry per customer in [`CustomerId`] order after `after` (R-CLAIM-1).
    async fn known_customers(
        &self,
        partner: &PartnerId,
        after: Option<&CustomerId>,
        limit: usize,
    ) -> Result<Vec<KnownCustomer>, StoreError>;

    /// One page of `query.partner`'s known customers on the `query.tab` of
    /// `query.engagement`'s page at `query.now`, in [`CustomerId`] order
    /// after `query.after` (R-PAGE-2, -4, -9): the rows whose
    /// [`KnownPlacement`](mci_core::KnownPlacement) at `now` is that tab,
    /// each with its placement at `now` and its kept answer. An index walk:
    /// the rows whose kept placement holds at `now` in that tab, merged by
    /// customer with the few whose placement changed since it was kept
    /// (derived again at `now`), never a filter over the partner's known
    /// customers. See [known customers](crate#known-customers).
    async fn known_page(&self, query: &KnownQuery) -> Result<KnownPage, StoreError>;

    /// How many of `partner`'s known customers show on each tab of
    /// `engagement`'s page at `now`, and the age of the answers behind them
    /// (R-PAGE-1, R-PAGE-9): the figures kept with each change, corrected
    /// by the rows whose kept placement no longer holds at `now`. Equal to
    /// counting the pages of [`Store::known_page`] at `now`.
    async fn known_counts(
        &self,
        partner: &PartnerId,
        engagement: &EngagementId,
        now: Instant,
    ) -> Result<KnownCounts, StoreError>;

    /// Takes `engagement` onto the known customers' pages: from the first
    /// call on, every customer that becomes known to a partner gets a row
    /// for it, and each call gives up to `limit` of the customers known
    /// already a row (placed at `now`, with no answer), walking them in
    /// (partner, customer) order from where the last call stopped. `true`
    /// once every known customer has its row for `engagement`; calls after
    /// that do nothing and answer `true`.
    async fn seed_known(
        &self,
        engagement: &EngagementId,
        now: Instant,
        limit: usize,
    ) -> Result<bool, StoreError>;

    /// Up to `limit` known customers whose answer of the eligibility port
    /// for an engagement was never given or was given before `older_than`:
    /// never asked first, then the oldest answer first (R-PAGE-9). Rows
    /// whose answer is kept again at a later instant leave the list.
    async fn known_to_check(
        &self,
        older_than: Instant,
        limit: usize,
    ) -> Result<Vec<KnownToCheck>, StoreError>;

    /// Nominations in one of `query.states` as stored, not lapsed at
    /// `query.now`, in id order: the reviewer's queue, the approved claims
    /// for a payout run, the partner's "action needed" list.
    async fn by_state(&self, query: &StateQuery) -> Result<Page, StoreError>;

    /// A partner's nominations whose next lapse falls in `(now, until]`, in
    /// lapse order: deadlines about to pass (R-ENG-7).
    async fn lapsing(
        &self,
        partner: &PartnerId,
        now: Instant,
        until: Instant,
        limit: usize,
    ) -> Result<Vec<Nomination>, StoreError>;

    /// The candidates of `query.partner`'s Attention required list at
    /// `query.now` (R-LIST-3): the first `query.limit` of the partner's
    /// nominations that [`AttentionQuery::admits`], in `(lapse_at, id)`
    /// order, and whether more follow; see
    /// [the Attention required list](crate#the-attention-required-list).
    /// Two index walks merged, each at most one row longer than the
    /// answer. A row that cannot be read back is counted against the limit
    /// and listed in [`AttentionCandidates::unreadable`].
    async fn attention(&self, query: &AttentionQuery) -> Result<AttentionCandidates, StoreError>;

    /// A nomination's events in version order (R-REC-1).
    async fn history(&self, id: &NominationId) -> Result<Vec<Event>, StoreError>;

    /// Up to `limit` nominations whose wake instant is at or before `now`,
    /// in `(wake_at, id)` order after `after`: what the sweep must look at
    /// (R-TIME-4). A row that cannot be read back is counted against the
    /// limit and listed in [`Due::unreadable`]; [`Due::next`] (set when
    /// `limit` rows were looked at) is the cursor after the last row,
    /// readable or not, so a batch of unreadable rows never keeps a walk
    /// from the rows behind it.
    async fn due(
        &self,
        now: Instant,
        after: Option<DueCursor>,
        limit: usize,
    ) -> Result<Due, StoreError>;

    /// Takes up to `limit` pending messages available at `now`, oldest
    /// first, and leases them until `lease_until`: they are not taken again
    /// before then unless acknowledged (R-REC-2).
    async fn take_messages(
        &self,
        now: Instant,
        lease_until: Instant,
        limit: usize,
    ) -> Result<Vec<Leased>, StoreError>;

    /// Marks messages delivered: they are never taken again. Unknown or
    /// already acknowledged ids are ignored.
    async fn acknowledge(&self, ids: &[MessageId]) -> Result<(), StoreError>;

    /// The result recorded with an idempotency key, if the key was used,
    /// with the fingerprint of the command it was used with (R-REC-5): the
    /// caller compares it with its own command's before it answers the
    /// result. A record stored before the adapter kept fingerprints answers
    /// `fingerprint: None`.
    async fn idempotent_result(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<IdempotentResult>, StoreError>;

    /// A payout batch (R-CLAIM-W-9).
    async fn payout_batch(&self, id: &PayoutBatchId) -> Result<Option<PayoutBatch>, StoreError>;

    /// Up to `limit` payout batches in id order after `after` (R-CLAIM-W-9):
    /// a keyset page, one walk of the batches' primary key, each batch
    /// once however many are written meanwhile. The service makes the ids
    /// of payout runs UUID v7, so they come in the order the runs were
    /// made; a reversal's id is derived from what it corrects, so it
    /// sorts by that instead (read each batch's `created_at`).
    async fn payout_batches(
        &self,
        after: Option<&PayoutBatchId>,
        limit: usize,
    ) -> Result<Vec<PayoutBatch>, StoreError>;

    /// The value of setting `key`, `None` if it was never written: what an
    /// embedding application keeps beside its nominations (a demo clock's
    /// reading, say), the same for every handle on one database (see
    /// [settings](crate#settings)).
    async fn setting(&self, key: &SettingKey) -> Result<Option<SettingValue>, StoreError>;

    /// Writes `value` to setting `key` if the key admits `condition`
    /// ([`SettingCondition::admits`]), checked and written in one atomic
    /// step, durable once answered as a commit is; else
    /// [`StoreError::SettingChanged`] with what the key held, and nothing
    /// is written. With [`SettingCondition::Equals`] of the value read,
    /// two writers racing from one read never both win: the loser reads
    /// again and decides again, so no change is lost.
    async fn put_setting(
        &self,
        key: &SettingKey,
        value: &SettingValue,
        condition: &SettingCondition,
    ) -> Result<(), StoreError>;
}

/// What the store keeps beside a nomination to answer queries by comparing
/// instants: its placement and its standing, both derived by the core.
/// (The Claims page and the Attention required list have placements of
/// their own, [`Nomination::claims_placement`](mci_core::Nomination::claims_placement)
/// and [`Nomination::attention_placement`](mci_core::Nomination::attention_placement).)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Derived {
    /// Tab now, next lapse, tab after it, next wake.
    pub placement: Placement,
    /// What it means to the guards of the others.
    pub standing: Standing,
}

impl Derived {
    /// The derived values of `nomination`.
    pub fn of(nomination: &Nomination) -> Self {
        Self {
            placement: nomination.placement(),
            standing: nomination.standing(),
        }
    }
}

/// Checks one guard against the standings of the other nominations of its
/// engagement and customer, for adapters that evaluate guards in Rust.
pub fn check_guard<'a>(
    guard: &Guard,
    others: impl IntoIterator<Item = (&'a PartnerId, &'a Standing)>,
    now: Instant,
) -> Result<(), StoreError> {
    if guard.admits(others, now) {
        Ok(())
    } else {
        Err(StoreError::GuardViolated {
            guard: guard.clone(),
        })
    }
}
