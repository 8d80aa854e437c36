//! The reviewer's side: the queue, the review, the decision and the payout
//! run (R-CLAIM-W-7..9). A reviewer acts only on workshop claims
//! (R-ROLE-4).
//!
//! Every decision cites `seen`, the hash of the last event of the claim the
//! reviewer read ([`Nomination::head`] of [`Incentives::claim_for_review`]):
//! a claim changed since is not decided on but refused with
//! [`Refusal::StaleHead`](mci_core::Refusal::StaleHead), and a decision
//! taken records the hash in its event (R-LIST-4).

use crate::call::Call;
use crate::error::{Error, Result};
use crate::observability::{self, call_span, traced};
use crate::service::{Command, Incentives, Keyed, Target, changed};
use mci_core::{
    Comment, Nomination, NominationId, PayoutBatch, PayoutBatchId, PayoutCycle, ReviewerId,
    Sha256Digest, State, payout_run,
};
use mci_store::{Commit, Page, StateQuery};
use serde::Serialize;

/// One batch of a payout run and the claims it paid.
///
/// Its JSON form, the claims paid as [`Nomination`]'s:
///
/// ```json
/// {"batch": {"id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c",
///            "cycle": {"number": 455, "starts": "2026-01-22T00:00:00Z", "ends": "2026-03-08T00:00:00Z"},
///            "created_at": "2026-03-02T09:00:00Z",
///            "entries": [{"nomination": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
///                         "amount": "7500.00 EUR", "kind": {"entry": "payment"}}]},
///  "paid": [{"id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "state": "paid", "…": "…"}],
///  "unreadable": []}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PayoutRun {
    /// The batch; empty when nothing was approved and unpaid.
    pub batch: PayoutBatch,
    /// The claims it paid.
    pub paid: Vec<Nomination>,
    /// Approved claims whose stored rows cannot be read back: neither paid
    /// nor silently skipped, but named here for an operator.
    #[serde(default)]
    pub unreadable: Vec<NominationId>,
}

impl Incentives {
    /// The call's idempotency key, scoped to the reviewer and bound to
    /// `command` (R-REC-5).
    fn reviewer_key<I: Serialize + ?Sized>(
        call: &Call<ReviewerId>,
        command: Command<'_, I>,
    ) -> Result<Option<Keyed>> {
        Keyed::new(|| format!("reviewer:{}", call.actor()), call.key(), command)
    }

    /// Runs the reviewer command `command` on nomination `id`, its key
    /// bound to `command` with `input` (R-REC-5).
    async fn review_change<I: Serialize + ?Sized>(
        &self,
        call: Call<ReviewerId>,
        id: &NominationId,
        (command, input): (&'static str, &I),
        decide: impl Fn(
            &Nomination,
            mci_core::Instant,
            &ReviewerId,
        ) -> Result<mci_core::Outcome, mci_core::Refusal>
        + Send
        + Sync,
    ) -> Result<Nomination> {
        let command = Command {
            name: command,
            target: Some(id),
            input,
        };
        let key = Self::reviewer_key(&call, command)?;
        let reviewer = call.actor().clone();
        self.change(Target::Any(id), key, |n, now| {
            changed(decide(n, now, &reviewer))
        })
        .await
    }

    /// Claims waiting for the reviewer: submitted, disputed or under review,
    /// in id order (R-CLAIM-W-7).
    pub async fn review_queue(&self, after: Option<NominationId>, limit: usize) -> Result<Page> {
        traced("review_queue", call_span!("review_queue"), async move {
            Ok(self
                .store
                .by_state(&StateQuery {
                    states: vec![State::Submitted, State::Disputed, State::UnderReview],
                    partner: None,
                    now: self.now()?,
                    after,
                    limit,
                })
                .await?)
        })
        .await
    }

    /// A workshop claim, for review, as it stands at the clock's now
    /// (R-TIME-4).
    pub async fn claim_for_review(&self, id: &NominationId) -> Result<Nomination> {
        traced(
            "claim_for_review",
            call_span!("claim_for_review", id),
            async move { Ok(self.load(&Target::Any(id)).await?.at(self.now()?)) },
        )
        .await
    }

    /// Takes a submitted or disputed claim into review (R-CLAIM-W-7),
    /// citing `seen`, the hash of the claim's last event as the reviewer
    /// read it; refused as stale when the claim changed since (R-LIST-4).
    pub async fn start_review(
        &self,
        call: impl Into<Call<ReviewerId>>,
        id: &NominationId,
        seen: Sha256Digest,
    ) -> Result<Nomination> {
        traced("start_review", call_span!("start_review", id), async move {
            let command = ("start_review", &Cited { seen, text: None });
            self.review_change(call.into(), id, command, |n, now, r| {
                n.start_review(now, r, seen)
            })
            .await
        })
        .await
    }

    /// Asks the partner for more (R-CLAIM-W-7), citing `seen` (R-LIST-4).
    pub async fn request_partner_action(
        &self,
        call: impl Into<Call<ReviewerId>>,
        id: &NominationId,
        seen: Sha256Digest,
        note: Comment,
    ) -> Result<Nomination> {
        traced(
            "request_partner_action",
            call_span!("request_partner_action", id),
            async move {
                let input = Cited {
                    seen,
                    text: Some(&note),
                };
                let command = ("request_partner_action", &input);
                self.review_change(call.into(), id, command, |n, now, r| {
                    n.request_partner_action(now, r, seen, note.clone())
                })
                .await
            },
        )
        .await
    }

    /// Approves with the payout (R-CLAIM-W-7), citing `seen` (R-LIST-4).
    pub async fn approve(
        &self,
        call: impl Into<Call<ReviewerId>>,
        id: &NominationId,
        seen: Sha256Digest,
    ) -> Result<Nomination> {
        traced("approve", call_span!("approve", id), async move {
            let command = ("approve", &Cited { seen, text: None });
            self.review_change(call.into(), id, command, |n, now, r| {
                n.approve(now, r, seen)
            })
            .await
        })
        .await
    }

    /// Rejects with a reason; after a dispute, finally (R-CLAIM-W-7, -8);
    /// citing `seen` (R-LIST-4).
    pub async fn reject(
        &self,
        call: impl Into<Call<ReviewerId>>,
        id: &NominationId,
        seen: Sha256Digest,
        reason: Comment,
    ) -> Result<Nomination> {
        traced("reject", call_span!("reject", id), async move {
            let input = Cited {
                seen,
                text: Some(&reason),
            };
            let command = ("reject", &input);
            self.review_change(call.into(), id, command, |n, now, r| {
                n.reject(now, r, seen, reason.clone())
            })
            .await
        })
        .await
    }

    /// Runs a payout for the current cycle: up to `limit` approved, unpaid
    /// claims, in id order, go into one immutable batch and are marked
    /// paid, all in one commit (R-CLAIM-W-9). Approved claims whose stored
    /// rows cannot be read back are passed over and named in
    /// [`PayoutRun::unreadable`], so the claims behind them are paid. A
    /// claim paid or changed by another call while the run reads makes the
    /// run read again; a claim approved while it reads is paid by this run
    /// or the next.
    pub async fn run_payout(
        &self,
        call: impl Into<Call<ReviewerId>>,
        limit: usize,
    ) -> Result<PayoutRun> {
        traced("run_payout", call_span!("run_payout"), async move {
            let call = call.into();
            let command = Command {
                name: "run_payout",
                target: None,
                input: &limit,
            };
            let key = Self::reviewer_key(&call, command)?;
            if let Some(first) = self.replay(key.as_ref()).await? {
                return Ok(first);
            }
            for attempt in 0..=self.settings.retries {
                observability::attempt(attempt);
                let now = self.now()?;
                let (approved, unreadable) = self.approved_claims(now, limit).await?;
                let id = PayoutBatchId::from_uuid(self.ids.next(now)?.as_uuid())?;
                let cycle = PayoutCycle::containing(
                    self.settings.payout_epoch,
                    self.settings.payout_period,
                    now,
                )?;
                let (batch, outcomes) = payout_run(id, cycle, now, &approved)?;
                let run = PayoutRun {
                    batch: batch.clone(),
                    paid: outcomes.iter().map(|o| o.nomination.clone()).collect(),
                    unreadable,
                };
                let mut commit = Commit::at(now);
                for outcome in outcomes {
                    commit = commit.with(outcome);
                }
                commit.payout_batch = Some(batch);
                if let Some(written) = self.write(commit, key.as_ref(), run).await? {
                    return Ok(written);
                }
            }
            Err(Error::Busy)
        })
        .await
    }

    /// Up to `limit` approved claims at `now`, in id order, and the
    /// approved claims before the last of them whose rows cannot be read
    /// back. Pages on by the cursor past unreadable rows, so a page made
    /// only of them never keeps a run from the claims behind them.
    async fn approved_claims(
        &self,
        now: mci_core::Instant,
        limit: usize,
    ) -> Result<(Vec<Nomination>, Vec<NominationId>)> {
        let (mut approved, mut unreadable) = (Vec::new(), Vec::new());
        let mut after = None;
        while approved.len() < limit {
            let page = self
                .store
                .by_state(&StateQuery {
                    states: vec![State::Approved],
                    partner: None,
                    now,
                    after,
                    limit: limit - approved.len(),
                })
                .await?;
            unreadable.extend(page.unreadable.iter().map(|u| u.id));
            approved.extend(page.rows);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok((approved, unreadable))
    }

    /// A payout batch (R-CLAIM-W-9).
    pub async fn payout_batch(&self, id: &PayoutBatchId) -> Result<Option<PayoutBatch>> {
        traced("payout_batch", call_span!("payout_batch"), async move {
            Ok(self.store.payout_batch(id).await?)
        })
        .await
    }

    /// Up to `limit` payout batches, in id order after `after`, a keyset
    /// page of the store's (R-CLAIM-W-9): the payout runs in the order
    /// they were made (their ids are UUID v7 of the clock), each reversal
    /// of [`reverse_payment`](Self::reverse_payment) beside them at the
    /// place its derived id sorts to (its `created_at` says when it was
    /// made). Pass the last id of a page as `after` for the next; a page
    /// shorter than `limit` is the last.
    pub async fn payout_batches(
        &self,
        after: Option<&PayoutBatchId>,
        limit: usize,
    ) -> Result<Vec<PayoutBatch>> {
        traced("payout_batches", call_span!("payout_batches"), async move {
            Ok(self.store.payout_batches(after, limit).await?)
        })
        .await
    }

    /// Corrects a payment: a new batch holds one reversal entry of the
    /// claim's payment in `batch`, which stays as it was; a correction is
    /// never an edit (R-CLAIM-W-9). A payment is reversed once: reversing it
    /// again answers the first reversal. A claim `batch` did not pay answers
    /// not found. The reviewer cites `seen`, the hash of the paid claim's
    /// last event as it read it, which the reversal entry records; any
    /// other hash is refused as stale (R-LIST-4).
    pub async fn reverse_payment(
        &self,
        call: impl Into<Call<ReviewerId>>,
        batch: &PayoutBatchId,
        nomination: &NominationId,
        seen: Sha256Digest,
    ) -> Result<PayoutBatch> {
        traced(
            "reverse_payment",
            call_span!("reverse_payment"),
            async move {
                let _reviewer = call.into();
                let original = self
                    .store
                    .payout_batch(batch)
                    .await?
                    .ok_or(Error::Refused(mci_core::Refusal::NotFound))?;
                let id = reversal_id(&original, nomination);
                for attempt in 0..=self.settings.retries {
                    observability::attempt(attempt);
                    if let Some(done) = self.store.payout_batch(&id).await? {
                        return Ok(done);
                    }
                    let now = self.now()?;
                    let cycle = PayoutCycle::containing(
                        self.settings.payout_epoch,
                        self.settings.payout_period,
                        now,
                    )?;
                    let paid = self.load(&Target::Any(nomination)).await?;
                    let reversal = original
                        .reversal(id, cycle, now, &paid, seen)?
                        .ok_or(Error::Refused(mci_core::Refusal::NotFound))?;
                    let mut commit = Commit::at(now);
                    commit.payout_batch = Some(reversal.clone());
                    match self.store.commit(commit).await {
                        Ok(()) => return Ok(reversal),
                        // Written meanwhile by a concurrent call: read it back.
                        Err(mci_store::StoreError::InvalidCommit(_)) => continue,
                        Err(error) => return Err(error.into()),
                    }
                }
                Err(Error::Busy)
            },
        )
        .await
    }
}

/// What a reviewer's decision binds its idempotency key to besides the
/// claim: the hash it cites (R-LIST-4) and its note or reason (R-REC-5).
#[derive(Serialize)]
struct Cited<'a> {
    seen: Sha256Digest,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a Comment>,
}

/// The id of the reversal of `nomination`'s payment in `original`: the same
/// pair always gives the same id, so a payment is reversed once.
fn reversal_id(original: &PayoutBatch, nomination: &NominationId) -> PayoutBatchId {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(b"reversal");
    hasher.update(original.id.as_uuid().as_bytes());
    hasher.update(nomination.as_uuid().as_bytes());
    let digest = hasher.finalize();
    let mut random = [0u8; 10];
    random.copy_from_slice(&digest[..10]);
    let millis = u64::try_from(original.created_at.timestamp_millis()).unwrap_or(0);
    PayoutBatchId::new_v7(millis, random)
}
