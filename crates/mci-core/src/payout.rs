//! Payout runs (R-CLAIM-W-9).
//!
//! A run for a cycle collects the approved, unpaid claims into one immutable
//! [`PayoutBatch`] and marks each paid. A correction is a new batch holding a
//! reversal entry, never an edit of the old one.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use mci_core::{Days, PayoutCycle};
//!
//! let epoch = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
//! let cycle = PayoutCycle::containing(epoch, Days::new(45), epoch + chrono::TimeDelta::days(50)).unwrap();
//! assert_eq!(cycle.number, 1);
//! assert_eq!(cycle.starts, epoch + chrono::TimeDelta::days(45));
//! assert_eq!(cycle.ends, epoch + chrono::TimeDelta::days(90));
//! ```

use crate::invalid::{InvalidValue, Problem};
use crate::nomination::{Nomination, Outcome};
use crate::refusal::Refusal;
use crate::state::State;
use crate::time::{Days, Instant, check_instant};
use crate::{Currency, Money, NominationId, PayoutBatchId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One payout cycle: every `period` days from an epoch (45 by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PayoutCycle {
    /// Its number, 0 for the cycle starting at the epoch.
    pub number: u64,
    /// Its first instant.
    pub starts: Instant,
    /// The first instant of the next cycle.
    pub ends: Instant,
}

impl PayoutCycle {
    /// The default period between payout runs.
    pub const DEFAULT_PERIOD: Days = Days::new(45);

    /// The cycle that contains `now` (cycles before the epoch count as 0).
    ///
    /// `epoch` and `now` must lie in the accepted range and `period` be at
    /// least a day (R-INPUT); a cycle that would end after the last instant
    /// chrono represents is an overflow of `payout_period`. Nothing is
    /// clamped.
    pub fn containing(epoch: Instant, period: Days, now: Instant) -> Result<Self, InvalidValue> {
        let epoch = check_instant("payout_epoch", epoch)?;
        let now = check_instant("now", now)?;
        if period.get() == 0 {
            return Err(InvalidValue::new(
                "payout_period",
                Problem::OutOfRange {
                    min: 1,
                    max: i128::from(u32::MAX),
                    actual: 0,
                },
            ));
        }
        let overflow = || InvalidValue::new("payout_period", Problem::Overflow);
        let period_days = i64::from(period.get());
        // Both instants are in the accepted range: some 84,000 days apart at
        // most, so none of this can overflow an i64.
        let elapsed_days = now.signed_duration_since(epoch).num_days().max(0);
        let number = elapsed_days / period_days;
        let start_days = number
            .checked_mul(period_days)
            .and_then(|days| u32::try_from(days).ok())
            .ok_or_else(overflow)?;
        let starts = Days::new(start_days)
            .checked_after(epoch)
            .ok_or_else(overflow)?;
        Ok(Self {
            number: u64::try_from(number).map_err(|_| overflow())?,
            starts,
            ends: period.checked_after(starts).ok_or_else(overflow)?,
        })
    }
}

/// What an entry of a batch does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum EntryKind {
    /// Pays an approved claim.
    Payment,
    /// Reverses an earlier payment (a correction, R-CLAIM-W-9).
    Reversal {
        /// The batch that held the payment reversed.
        of: PayoutBatchId,
        /// The hash of the paid claim's last event, as the reviewer who
        /// reversed it saw it (R-LIST-4). Absent from reversals written
        /// before decisions cited what they saw.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seen: Option<crate::Sha256Digest>,
    },
}

/// One line of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PayoutEntry {
    /// The claim.
    pub nomination: NominationId,
    /// The amount; negative for a reversal.
    pub amount: Money,
    /// Payment or reversal.
    pub kind: EntryKind,
}

/// An immutable batch of payout entries (R-CLAIM-W-9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutBatch {
    /// Its id.
    pub id: PayoutBatchId,
    /// The cycle it pays.
    pub cycle: PayoutCycle,
    /// When it was made.
    pub created_at: Instant,
    /// Its entries.
    pub entries: Vec<PayoutEntry>,
}

impl PayoutBatch {
    /// The total per currency; `None` if a total would overflow.
    pub fn totals(&self) -> Option<BTreeMap<Currency, Money>> {
        let mut totals: BTreeMap<Currency, Money> = BTreeMap::new();
        for entry in &self.entries {
            let currency = entry.amount.currency();
            let sum = match totals.get(&currency) {
                Some(total) => total.checked_add(entry.amount).ok()?,
                None => entry.amount,
            };
            totals.insert(currency, sum);
        }
        Some(totals)
    }

    /// A batch reversing the payment of the claim `paid` made in `self`:
    /// the correction is a new entry, never an edit (R-CLAIM-W-9). The
    /// reviewer cites `seen`, the hash of the last event of the claim it
    /// read, which the entry records; a `seen` that is not the claim's
    /// last event is refused (R-LIST-4). `Ok(None)` if `self` did not pay
    /// it.
    pub fn reversal(
        &self,
        id: PayoutBatchId,
        cycle: PayoutCycle,
        now: Instant,
        paid: &Nomination,
        seen: crate::Sha256Digest,
    ) -> Result<Option<PayoutBatch>, Refusal> {
        let nomination = paid.id();
        let Some(payment) = self
            .entries
            .iter()
            .find(|e| &e.nomination == nomination && e.kind == EntryKind::Payment)
        else {
            return Ok(None);
        };
        paid.require_seen(seen)?;
        let Ok(amount) = payment.amount.negated() else {
            return Ok(None);
        };
        Ok(Some(PayoutBatch {
            id,
            cycle,
            created_at: now,
            entries: vec![PayoutEntry {
                nomination: *nomination,
                amount,
                kind: EntryKind::Reversal {
                    of: self.id,
                    seen: Some(seen),
                },
            }],
        }))
    }
}

/// A payout run at `now`: a batch of the approved, unpaid claims given, and
/// the outcome marking each paid. Claims in any other state are left out.
/// A `now` outside the accepted range is refused (R-INPUT).
pub fn payout_run(
    id: PayoutBatchId,
    cycle: PayoutCycle,
    now: Instant,
    approved: &[Nomination],
) -> Result<(PayoutBatch, Vec<Outcome>), Refusal> {
    let now = check_instant("now", now)?;
    let mut entries = Vec::new();
    let mut outcomes = Vec::new();
    for nomination in approved.iter().filter(|n| n.state() == State::Approved) {
        let outcome = nomination.mark_paid(now, id)?;
        if let Some(amount) = nomination.claim().payout {
            entries.push(PayoutEntry {
                nomination: *nomination.id(),
                amount,
                kind: EntryKind::Payment,
            });
        }
        outcomes.push(outcome);
    }
    Ok((
        PayoutBatch {
            id,
            cycle,
            created_at: now,
            entries,
        },
        outcomes,
    ))
}
