//! The system's side: the sweep and the outbox (R-TIME-4, R-REC-2,
//! R-REC-6).

use crate::error::{Error, Result};
use crate::observability::{self, call_span, traced};
use crate::service::Incentives;
use chrono::{DateTime, TimeDelta, Utc};
use futures_util::future::join_all;
use mci_core::{
    Availability, CustomerId, EngagementId, EventKind, Ineligibility, Instant, InvalidValue,
    KeptAnswer, LinkToken, Message, MessageId, Nomination, NominationId, Problem,
    truncate_to_micros,
};
use mci_store::{AnswerWrite, Commit, KnownToCheck, Leased};
use std::collections::{BTreeMap, BTreeSet};

/// What one sweep did.
///
/// ```
/// use mci_engagements::SweepReport;
///
/// let report = SweepReport { lapsed: 2, reminded: 1, ..SweepReport::default() };
/// assert_eq!(
///     serde_json::to_value(&report).unwrap(),
///     serde_json::json!({
///         "lapsed": 2, "reminded": 1, "skipped": 0, "unreadable": [],
///         "answers_kept": 0, "eligibility_failure": null
///     }),
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Nominations lapsed.
    pub lapsed: usize,
    /// Reminders queued.
    pub reminded: usize,
    /// Changes skipped because the nomination changed meanwhile; the next
    /// sweep sees them again.
    pub skipped: usize,
    /// Due nominations whose stored rows cannot be read back: passed over,
    /// so that the rest of the sweep goes on; they need an operator.
    pub unreadable: Vec<NominationId>,
    /// Answers of the customer eligibility source about known customers
    /// asked for and kept (R-PAGE-9).
    pub answers_kept: usize,
    /// Why the sweep stopped asking the eligibility source, if it failed:
    /// the lapses and reminders were written all the same, and the next
    /// sweep asks again.
    pub eligibility_failure: Option<String>,
}

/// An outbox message to deliver (R-REC-2), with the token of the link it
/// carries (R-TOKEN-4).
///
/// Put the token in the email's link; never log it or store it (R-TOKEN-5).
/// `Debug` does not show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The message; its id is stable across deliveries, so the receiver
    /// can drop a duplicate.
    pub message: Message,
    /// 1 the first time it is handed out, more when a lease expired.
    pub attempt: u32,
    /// The token of the message's link: for consent requests, reminders
    /// and surveys, `None` for the others.
    pub token: Option<LinkToken>,
}

impl Incentives {
    /// Persists at the clock's `now` every lapse that is due, with its
    /// event and notice, and queues the reminders that are due, in bounded
    /// batches (R-TIME-4, R-REC-6). Reads agree with or without it
    /// (R-PAGE-7); run it regularly so stored rows stay close to the truth.
    pub async fn sweep(&self) -> Result<SweepReport> {
        traced("sweep", call_span!("sweep"), async move {
            let now = self.now()?;
            let mut report = SweepReport::default();
            let mut passed_over = BTreeSet::new();
            // How late this sweep is for the earliest due nomination: the first
            // row of the first batch, which is in wake-up order.
            let mut lag = None;
            // Passes over everything due, batch by batch after a cursor, so
            // that rows that cannot be read (passed over and reported) never
            // keep the sweep from the rows behind them. A change can leave a
            // nomination due again (a second reminder the sweep came late
            // for), before the cursor: another pass follows any pass that
            // changed something.
            loop {
                let mut after = None;
                let mut progressed = false;
                loop {
                    let due = self
                        .store
                        .due(now, after, self.settings.sweep_batch)
                        .await?;
                    passed_over.extend(due.unreadable.iter().map(|u| u.id));
                    lag = lag.or_else(|| Some(lag_behind(now, due.rows.first())));
                    progressed |= self.wake_batch(now, &due.rows, &mut report).await?;
                    match due.next {
                        Some(next) => after = Some(next),
                        None => break,
                    }
                }
                if !progressed {
                    report.unreadable = passed_over.into_iter().collect();
                    break;
                }
            }
            match self.refresh_known(now, &mut report).await {
                Ok(()) => {}
                Err(Error::Port(failure)) => {
                    report.eligibility_failure = Some(crate::error::with_sources(&failure));
                }
                Err(other) => return Err(other),
            }
            observability::swept(lag.unwrap_or(0.0), &report);
            Ok(report)
        })
        .await
    }

    /// Keeps the known customers' rows of every engagement of the catalog
    /// and their answers of the eligibility source fresh, in bounded
    /// batches (R-PAGE-9): takes each engagement onto the known customers'
    /// pages, then asks again about the customers never asked or asked
    /// longer than [`Settings::eligibility_refresh`](crate::Settings) ago,
    /// at most [`Settings::eligibility_per_sweep`](crate::Settings) of them.
    async fn refresh_known(&self, now: Instant, report: &mut SweepReport) -> Result<()> {
        let batch = self.settings.eligibility_batch.max(1);
        let mut budget = self.settings.eligibility_per_sweep;
        for engagement in self.engagements() {
            while budget > 0 {
                let step = batch.min(budget);
                budget -= step;
                if self.store.seed_known(engagement.id(), now, step).await? {
                    self.seeded
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(engagement.id().clone());
                    break;
                }
            }
        }
        let older_than = now
            .checked_sub_signed(self.settings.eligibility_refresh)
            .ok_or_else(|| InvalidValue::new("eligibility_refresh", Problem::Overflow))?;
        let mut budget = self.settings.eligibility_per_sweep;
        while budget > 0 {
            let due = self
                .store
                .known_to_check(older_than, batch.min(budget))
                .await?;
            if due.is_empty() {
                return Ok(());
            }
            budget = budget.saturating_sub(due.len());
            let mut by_engagement: BTreeMap<EngagementId, Vec<KnownToCheck>> = BTreeMap::new();
            for row in due {
                by_engagement
                    .entry(row.engagement.clone())
                    .or_default()
                    .push(row);
            }
            let mut commit = Commit::at(now);
            for (engagement, rows) in by_engagement {
                let customers: Vec<CustomerId> =
                    rows.iter().map(|r| *r.known.customer.id()).collect();
                let answers = match self.shared_engagement(&engagement) {
                    Ok(engagement) => {
                        let answers = self.eligibility_of(engagement.id(), &customers).await?;
                        let mut kept = Vec::with_capacity(rows.len());
                        for (row, answer) in rows.iter().zip(&answers) {
                            kept.push(self.kept_answer(
                                &engagement,
                                row.known.customer.id_type(),
                                answer,
                                now,
                            )?);
                        }
                        kept
                    }
                    // An engagement the catalog no longer holds takes no
                    // nomination: say so, so that its rows leave the list.
                    Err(_) => {
                        let trusted_until = self.trusted_until(now)?;
                        rows.iter()
                            .map(|_| KeptAnswer {
                                reasons: vec![Ineligibility::EngagementNotActive {
                                    availability: Availability::Expired,
                                }],
                                limit: 0,
                                checked_at: now,
                                trusted_until,
                            })
                            .collect()
                    }
                };
                for (row, answer) in rows.into_iter().zip(answers) {
                    commit.answers.push(AnswerWrite {
                        partner: row.partner,
                        engagement: row.engagement,
                        customer: *row.known.customer.id(),
                        answer,
                    });
                }
            }
            let kept = commit.answers.len();
            self.store.commit(commit).await?;
            report.answers_kept += kept;
        }
        Ok(())
    }

    /// Writes what is due of one batch at `now`; whether anything was
    /// written.
    async fn wake_batch(
        &self,
        now: Instant,
        due: &[Nomination],
        report: &mut SweepReport,
    ) -> Result<bool> {
        // The batch's changes touch distinct nominations and carry no
        // guards: send them together, so a store that groups commits
        // writes them in few transactions.
        let mut outcomes = Vec::with_capacity(due.len());
        for nomination in due {
            outcomes.extend(nomination.wake(now)?);
        }
        let lapses: Vec<bool> = outcomes
            .iter()
            .map(|o| matches!(o.event.kind, EventKind::Lapsed { .. }))
            .collect();
        let results = join_all(
            outcomes
                .into_iter()
                .map(|outcome| self.store.commit(Commit::of(now, outcome))),
        )
        .await;
        let mut progressed = false;
        for (result, lapse) in results.into_iter().zip(lapses) {
            match result {
                Ok(()) => {
                    progressed = true;
                    if lapse {
                        report.lapsed += 1;
                    } else {
                        report.reminded += 1;
                    }
                }
                Err(error) if error.is_conflict() => report.skipped += 1,
                Err(error) => return Err(error.into()),
            }
        }
        Ok(progressed)
    }

    /// Takes up to `limit` pending messages to deliver, leased for `lease`:
    /// deliver them, then [`Incentives::acknowledge`] them. A message not
    /// acknowledged in time is handed out again, with the same id
    /// (R-REC-2). A message with a link comes with the link's token,
    /// derived again from its link id with the link key each time it is
    /// handed out: the store never held it (R-TOKEN-4).
    ///
    /// The lease must be at least a microsecond and end by the last instant
    /// chrono represents; otherwise the call is refused with a typed error
    /// naming `lease` (R-INPUT) and takes nothing. Its end is kept to the
    /// microsecond, like every instant.
    pub async fn take_messages(&self, lease: TimeDelta, limit: usize) -> Result<Vec<Delivery>> {
        traced("take_messages", call_span!("take_messages"), async move {
            let now = self.now()?;
            let until = lease_end(now, lease)?;
            let leased = self.store.take_messages(now, until, limit).await?;
            leased
                .into_iter()
                .map(|Leased { message, attempt }| {
                    let token = match message.kind.link() {
                        Some(link) => Some(self.link_token(link)?),
                        None => None,
                    };
                    Ok(Delivery {
                        message,
                        attempt,
                        token,
                    })
                })
                .collect()
        })
        .await
    }

    /// Marks messages delivered (R-REC-2).
    pub async fn acknowledge(&self, ids: &[MessageId]) -> Result<()> {
        traced("acknowledge", call_span!("acknowledge"), async move {
            Ok(self.store.acknowledge(ids).await?)
        })
        .await
    }
}

/// How many seconds `now` is past the instant `earliest`, the first due
/// nomination, was due to be woken; 0 without one.
fn lag_behind(now: Instant, earliest: Option<&Nomination>) -> f64 {
    earliest.and_then(Nomination::wake_at).map_or(0.0, |at| {
        micros(now.signed_duration_since(at)).max(0) as f64 / 1e6
    })
}

/// The end of a lease of `lease` from `now`, truncated to the microsecond:
/// refused unless the lease is at least a microsecond and ends within
/// chrono's range (R-INPUT). Checked arithmetic only, so it never panics.
fn lease_end(now: Instant, lease: TimeDelta) -> std::result::Result<Instant, InvalidValue> {
    let longest = micros(DateTime::<Utc>::MAX_UTC.signed_duration_since(now));
    let actual = micros(lease);
    if !(1..=longest).contains(&actual) {
        return Err(InvalidValue::new(
            "lease",
            Problem::OutOfRange {
                min: 1,
                max: longest,
                actual,
            },
        ));
    }
    now.checked_add_signed(lease)
        .map(truncate_to_micros)
        .ok_or_else(|| InvalidValue::new("lease", Problem::Overflow))
}

/// Whole microseconds in `delta`, rounded toward zero; exact for every
/// `TimeDelta`, which an `i64` of microseconds is not.
fn micros(delta: TimeDelta) -> i128 {
    i128::from(delta.num_seconds()) * 1_000_000 + i128::from(delta.subsec_nanos() / 1_000)
}
