//! The conformance suite: one `pub async fn` per behaviour of the
//! [`Store`] contract, and [`run_all`] to run them all.
//!
//! Each behaviour takes a fresh, empty store. An adapter's test is a few
//! lines, for example for a store that starts empty with `Default`, in a
//! `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]`:
//!
//! ```no_run
//! use std::sync::Arc;
//! use mci_store::Store;
//!
//! async fn conformance<S: Store + Default + 'static>() {
//!     mci_store::conformance::run_all(|| async { Arc::new(S::default()) as Arc<dyn Store> }).await;
//! }
//! ```
//!
//! A failed behaviour panics with what it expected, as a test does. The
//! concurrency behaviours spawn real tasks on the runtime they run on: give
//! the test a multi-threaded runtime so that they race for real.
//!
//! # Two handles on one database
//!
//! Several application servers share one database, so the guards, versions,
//! idempotency keys and outbox leases must hold across store handles as
//! they hold among the tasks of one. The behaviours of [`run_two_handles`]
//! (named `..._two_handles_...`) each take two handles `(a, b)` over one
//! fresh, empty database and race 32 tasks on each, 64 in all (one checks
//! instead that what a handle commits the other reads at once). They are
//! not part of [`run_all`], whose factory gives one handle: an adapter runs
//! both, with a factory that gives a fresh pair for each behaviour. A
//! server store opens two handles with pools of their own on one fresh
//! database; a file store opens one fresh file twice; a store in one
//! process's memory hands out one store twice:
//!
//! ```no_run
//! use std::sync::Arc;
//! use mci_store::Store;
//!
//! async fn two_handles<S: Store + Default + 'static>() {
//!     mci_store::conformance::run_two_handles(|| async {
//!         let shared = Arc::new(S::default()) as Arc<dyn Store>;
//!         (shared.clone(), shared)
//!     })
//!     .await;
//! }
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attention;
mod claims;
mod commits;
mod concurrency;
mod fixtures;
mod known;
mod model;
mod outbox;
mod pages;
mod range;
mod reads;
mod settings;
mod two_handles;

pub use attention::*;
pub use claims::*;
pub use commits::*;
pub use concurrency::*;
pub use known::*;
pub use model::*;
pub use outbox::*;
pub use pages::*;
pub use range::*;
pub use reads::*;
pub use settings::*;
pub use two_handles::*;

use crate::Store;
use std::future::Future;
use std::sync::Arc;

/// Runs every behaviour, each on a fresh store from `factory`, and panics
/// naming the first behaviour that fails.
pub async fn run_all<F, Fut>(factory: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    macro_rules! run {
        ($($behaviour:ident),* $(,)?) => {
            $(
                $behaviour(factory().await).await;
            )*
        };
    }
    run!(
        create_and_load,
        update_with_expected_version,
        stale_version_is_a_retryable_conflict,
        creating_twice_is_a_conflict,
        failed_guard_writes_nothing,
        invalid_commit_writes_nothing,
        a_write_keeps_its_nomination_whole,
        one_consent_per_customer_under_concurrency,
        r_consent_10_an_acceptance_racing_new_rivals_changes_each_or_fails,
        r_consent_10_the_loser_reads_as_ineligible,
        one_live_nomination_per_partner_under_concurrency,
        live_nomination_limit_under_concurrency,
        no_lost_update_under_concurrency,
        partner_isolation,
        link_lookup_follows_live_links,
        standings_of_a_customer,
        history_in_version_order,
        r_list_4_a_history_reads_back_as_its_chain,
        due_in_wake_order,
        due_walks_on_with_its_cursor,
        known_customers_once_each,
        known_rows_follow_seeds_consents_and_answers,
        known_rows_follow_the_nominations_of_their_customer,
        known_rows_to_check_never_asked_then_oldest,
        known_rows_agree_with_a_derivation_from_scratch,
        by_state_and_lapsing,
        keyset_walk_sees_every_row_once_while_inserting,
        counts_agree_with_walks,
        page_before_and_after_sweep_agree,
        r_list_1_orders_by_created_and_changed,
        r_list_1_state_filter_at_now_includes_unswept_lapses,
        r_list_1_counts_equal_walking_the_pages,
        r_list_1_reviewer_scope_over_several_partners,
        r_list_1_a_partner_never_sees_another_partners_rows,
        r_list_1_search_with_continuation_finds_what_a_full_filter_would,
        r_list_1_keyset_pages_without_gaps_or_repeats_under_writes,
        r_list_3_attention_is_the_soonest_of_both_classes_exactly,
        outbox_at_least_once,
        outbox_ids_are_stable,
        idempotency_key_writes_once,
        idempotency_key_bound_to_its_command,
        payout_batch_written_with_payments,
        reads_at_the_edges_of_the_instant_range,
        one_consent_per_customer_at_the_top_of_the_range,
        a_lease_past_2262_ends_to_the_microsecond,
        settings_read_back_what_was_put,
        settings_conditions_write_only_what_they_admit,
        payout_batches_listed_in_id_order,
    );
    counts_at_a_lapse_before_and_after_its_sweep(factory().await, &|store| store).await;
    model_matches_reference(&factory).await;
}

/// Runs every two-handle behaviour, each on a fresh pair of handles over
/// one fresh, empty database from `factory`; see
/// [Two handles on one database](self#two-handles-on-one-database).
/// A failed behaviour panics with what it expected.
pub async fn run_two_handles<F, Fut>(factory: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = (Arc<dyn Store>, Arc<dyn Store>)>,
{
    macro_rules! run {
        ($($behaviour:ident),* $(,)?) => {
            $(
                let (a, b) = factory().await;
                $behaviour(a, b).await;
            )*
        };
    }
    run!(
        r_rec_1_two_handles_read_each_others_commits,
        r_consent_8_two_handles_one_consent,
        r_consent_10_two_handles_one_acceptance_and_the_rest_lose,
        r_add_7_two_handles_no_duplicate_nomination,
        r_eng_5_two_handles_live_nomination_limit,
        r_rec_4_two_handles_no_lost_update,
        r_rec_5_two_handles_one_key_writes_once,
        r_rec_5_two_handles_one_key_bound_to_its_command,
        r_rec_2_two_handles_share_the_outbox,
        two_handles_read_each_others_settings,
        two_handles_compare_and_set_loses_no_change,
    );
}
