//! The calls of the service as data, for a web layer: one serde enum of
//! the partner's commands and one of the reviewer's, each run through a
//! single entry point, [`Incentives::execute`] and
//! [`Incentives::execute_review`], that answers one serialisable enum. One
//! HTTP handler per actor is then enough: it reads the actor from its
//! session, the key from its `Idempotency-Key` header, the command from the
//! body, and writes the answer as JSON.
//!
//! See [`Incentives::execute`].

use crate::attention::Attention;
use crate::call::Call;
use crate::error::Result;
use crate::page::{CustomersPage, Overview, OverviewFilter, PageCursor};
use crate::partner::{AddCustomer, Added, ClaimCustomer};
use crate::reviewer::PayoutRun;
use crate::service::Incentives;
use mci_core::{
    Comment, ContactsUpdate, DocumentKind, DocumentRef, EngagementId, Event, Nomination,
    NominationId, NominationReview, PartnerUser, PayoutBatch, PayoutBatchId, ReviewerId,
    SendConsent, Sha256Digest, SurveyKind, Tab,
};
use mci_store::Page;
use serde::{Deserialize, Serialize};

/// A call of a partner user, as data: each variant is the service method
/// of its name, with that method's arguments (R-ROLE-1, R-ROLE-2).
///
/// ```
/// use mci_engagements::PartnerCommand;
///
/// let command: PartnerCommand = serde_json::from_str(r#"{
///     "command": "send_consent",
///     "nomination": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
///     "input": {"estimated_deal_size": "250000.00 EUR"}
/// }"#).unwrap();
/// assert!(matches!(command, PartnerCommand::SendConsent { .. }));
///
/// // A member the command does not take, or an invalid value, is refused.
/// assert!(serde_json::from_str::<PartnerCommand>(
///     r#"{"command": "cancel", "nomination": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "reason": "x"}"#,
/// ).is_err());
/// assert!(serde_json::from_str::<PartnerCommand>(r#"{"command": "cancel", "nomination": "7"}"#).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum PartnerCommand {
    /// [`Incentives::review_add`]: the wizard's review step; writes nothing
    /// (R-ADD-10).
    ReviewAdd {
        /// The form.
        input: AddCustomer,
    },
    /// [`Incentives::add_customer`] (R-ADD).
    AddCustomer {
        /// The form.
        input: AddCustomer,
    },
    /// [`Incentives::claim_customer`] (R-CLAIM).
    ClaimCustomer {
        /// The form.
        input: ClaimCustomer,
    },
    /// [`Incentives::nomination`]: one of the partner's nominations.
    Nomination {
        /// The nomination.
        nomination: NominationId,
    },
    /// [`Incentives::history`]: a nomination's events (R-REC-1).
    History {
        /// The nomination.
        nomination: NominationId,
    },
    /// [`Incentives::customers_page`] (R-PAGE).
    CustomersPage {
        /// The engagement.
        engagement: EngagementId,
        /// The tab.
        tab: Tab,
        /// The cursor the previous page answered; none for the first page.
        #[serde(default)]
        cursor: Option<PageCursor>,
        /// The most rows.
        limit: usize,
    },
    /// [`Incentives::overview`] (R-ENG-7).
    Overview {
        /// The filters; none when left out.
        #[serde(default)]
        filter: OverviewFilter,
    },
    /// [`Incentives::attention`] (R-LIST-3).
    Attention {
        /// The most entries.
        limit: usize,
    },
    /// [`Incentives::send_consent`] (R-CONSENT-2, R-CONSENT-4).
    SendConsent {
        /// The nomination.
        nomination: NominationId,
        /// The details; none changed when left out.
        #[serde(default)]
        input: SendConsent,
    },
    /// [`Incentives::resend_consent`] (R-CONSENT-3).
    ResendConsent {
        /// The nomination.
        nomination: NominationId,
    },
    /// [`Incentives::update_contacts`] (R-CONSENT-4, R-CLAIM-W-4).
    UpdateContacts {
        /// The nomination.
        nomination: NominationId,
        /// The change.
        input: ContactsUpdate,
    },
    /// [`Incentives::attach_document`] (R-CLAIM-W-2).
    AttachDocument {
        /// The nomination.
        nomination: NominationId,
        /// What the document proves.
        kind: DocumentKind,
        /// The document, by reference.
        document: DocumentRef,
    },
    /// [`Incentives::send_survey`] (R-CLAIM-W-3).
    SendSurvey {
        /// The nomination.
        nomination: NominationId,
        /// Which survey.
        survey: SurveyKind,
    },
    /// [`Incentives::add_comment`] (R-CLAIM-W-5).
    AddComment {
        /// The nomination.
        nomination: NominationId,
        /// The comment.
        text: Comment,
    },
    /// [`Incentives::submit`] (R-CLAIM-W-6, R-CLAIM-W-7).
    Submit {
        /// The nomination.
        nomination: NominationId,
    },
    /// [`Incentives::dispute`] (R-CLAIM-W-8).
    Dispute {
        /// The nomination.
        nomination: NominationId,
        /// Why.
        reason: Comment,
    },
    /// [`Incentives::cancel`] (R-CLAIM-W-10).
    Cancel {
        /// The nomination.
        nomination: NominationId,
    },
}

/// What a [`PartnerCommand`] answers: what its method returns.
///
/// ```json
/// {"answer": "nomination",
///  "value": {"id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "partner": "4711", "state": "awaiting_consent", "…": "…"}}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "answer", content = "value", rename_all = "snake_case")]
pub enum PartnerAnswer {
    /// The review step's answer.
    Review(NominationReview),
    /// The nominations an add or a claim created.
    Added(Added),
    /// The nomination, as the command left it (boxed: it is much larger
    /// than the other answers).
    Nomination(Box<Nomination>),
    /// A nomination's events, in order.
    History(Vec<Event>),
    /// One page of one tab.
    CustomersPage(CustomersPage),
    /// The engagements overview.
    Overview(Overview),
    /// What needs the partner now (R-LIST-3).
    Attention(Attention),
}

/// A call of a reviewer, as data: each variant is the service method of
/// its name, with that method's arguments (R-ROLE-4).
///
/// ```
/// use mci_engagements::ReviewerCommand;
///
/// let command: ReviewerCommand = serde_json::from_str(r#"{
///     "command": "reject",
///     "nomination": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
///     "seen": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
///     "reason": "The invoice does not name the customer."
/// }"#).unwrap();
/// assert!(matches!(command, ReviewerCommand::Reject { .. }));
/// assert!(serde_json::from_str::<ReviewerCommand>(r#"{"command": "run_payout"}"#).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReviewerCommand {
    /// [`Incentives::review_queue`] (R-CLAIM-W-7).
    ReviewQueue {
        /// The `next` of the previous page; none for the first page.
        #[serde(default)]
        after: Option<NominationId>,
        /// The most rows.
        limit: usize,
    },
    /// [`Incentives::claim_for_review`].
    ClaimForReview {
        /// The nomination.
        nomination: NominationId,
    },
    /// [`Incentives::start_review`] (R-CLAIM-W-7).
    StartReview {
        /// The nomination.
        nomination: NominationId,
        /// The hash of its last event as the reviewer read it (R-LIST-4).
        seen: Sha256Digest,
    },
    /// [`Incentives::request_partner_action`] (R-CLAIM-W-7).
    RequestPartnerAction {
        /// The nomination.
        nomination: NominationId,
        /// The hash of its last event as the reviewer read it (R-LIST-4).
        seen: Sha256Digest,
        /// What the partner is asked for.
        note: Comment,
    },
    /// [`Incentives::approve`] (R-CLAIM-W-7).
    Approve {
        /// The nomination.
        nomination: NominationId,
        /// The hash of its last event as the reviewer read it (R-LIST-4).
        seen: Sha256Digest,
    },
    /// [`Incentives::reject`] (R-CLAIM-W-7, R-CLAIM-W-8).
    Reject {
        /// The nomination.
        nomination: NominationId,
        /// The hash of its last event as the reviewer read it (R-LIST-4).
        seen: Sha256Digest,
        /// Why.
        reason: Comment,
    },
    /// [`Incentives::run_payout`] (R-CLAIM-W-9).
    RunPayout {
        /// The most claims paid.
        limit: usize,
    },
    /// [`Incentives::payout_batch`] (R-CLAIM-W-9).
    PayoutBatch {
        /// The batch.
        batch: PayoutBatchId,
    },
    /// [`Incentives::reverse_payment`] (R-CLAIM-W-9).
    ReversePayment {
        /// The batch that paid the claim.
        batch: PayoutBatchId,
        /// The claim.
        nomination: NominationId,
        /// The hash of the claim's last event as the reviewer read it
        /// (R-LIST-4).
        seen: Sha256Digest,
    },
}

/// What a [`ReviewerCommand`] answers: what its method returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "answer", content = "value", rename_all = "snake_case")]
pub enum ReviewerAnswer {
    /// A page of the review queue.
    Queue(Page),
    /// The claim, as the command left it (boxed: it is much larger than
    /// the other answers).
    Nomination(Box<Nomination>),
    /// The batch a payout run made and the claims it paid.
    PayoutRun(PayoutRun),
    /// A payout batch, or the reversal a correction made; `null` for a
    /// batch that does not exist.
    PayoutBatch(Option<PayoutBatch>),
}

impl Incentives {
    /// Runs the partner command `command` for `call`'s user, with `call`'s
    /// idempotency key, and answers what its method returns: the one entry
    /// point a web handler for partner users calls.
    ///
    /// A command's JSON form names it under `"command"` by the name of the
    /// service method that runs it, beside that method's arguments; the
    /// answer names what it holds under `"answer"`, beside its `"value"`.
    /// Every value is validated as the command is read (R-INPUT), and a
    /// member a command does not take is refused.
    ///
    /// The entry point runs the very method of its command, so a command
    /// keeps the idempotency fingerprint that method gives it (R-REC-5): a
    /// key used with the method and again with the same command here (or
    /// the other way round) answers the first result, and keys stored
    /// before this entry point existed keep matching.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mci_engagements::ports::{HmacLinkKey, PermissiveEligibility};
    /// use mci_engagements::{Call, Incentives, PartnerAnswer, PartnerCommand};
    /// use mci_core::{PartnerUser, Role};
    /// use mci_store_memory::MemoryStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let service = Incentives::builder(Arc::new(MemoryStore::new()), HmacLinkKey::demo())
    ///     .customer_eligibility(PermissiveEligibility::new())
    ///     .build();
    /// let user = PartnerUser::new("4711".parse()?, "ada".parse()?, Role::IncentivesAdmin);
    ///
    /// // The body of a request, as a client sends it.
    /// let command: PartnerCommand = serde_json::from_str(r#"{"command": "overview", "filter": {"availability": "active"}}"#)?;
    /// let answer = service.execute(Call::new(user).idempotency_key("overview-1"), command).await?;
    /// assert_eq!(
    ///     serde_json::to_value(&answer)?,
    ///     serde_json::json!({"answer": "overview", "value": {"engagements": [], "action_needed": []}}),
    /// );
    /// assert!(matches!(answer, PartnerAnswer::Overview(_)));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn execute(
        &self,
        call: impl Into<Call<PartnerUser>>,
        command: PartnerCommand,
    ) -> Result<PartnerAnswer> {
        use PartnerAnswer as A;
        use PartnerCommand as C;
        let call = call.into();
        Ok(match command {
            C::ReviewAdd { input } => A::Review(self.review_add(call, &input).await?),
            C::AddCustomer { input } => A::Added(self.add_customer(call, &input).await?),
            C::ClaimCustomer { input } => A::Added(self.claim_customer(call, &input).await?),
            C::Nomination { nomination } => {
                A::Nomination(Box::new(self.nomination(call, &nomination).await?))
            }
            C::History { nomination } => A::History(self.history(call, &nomination).await?),
            C::CustomersPage {
                engagement,
                tab,
                cursor,
                limit,
            } => A::CustomersPage(
                self.customers_page(call, &engagement, tab, cursor, limit)
                    .await?,
            ),
            C::Overview { filter } => A::Overview(self.overview(call, &filter).await?),
            C::Attention { limit } => A::Attention(self.attention(call, limit).await?),
            C::SendConsent { nomination, input } => {
                A::Nomination(Box::new(self.send_consent(call, &nomination, input).await?))
            }
            C::ResendConsent { nomination } => {
                A::Nomination(Box::new(self.resend_consent(call, &nomination).await?))
            }
            C::UpdateContacts { nomination, input } => A::Nomination(Box::new(
                self.update_contacts(call, &nomination, input).await?,
            )),
            C::AttachDocument {
                nomination,
                kind,
                document,
            } => A::Nomination(Box::new(
                self.attach_document(call, &nomination, kind, document)
                    .await?,
            )),
            C::SendSurvey { nomination, survey } => {
                A::Nomination(Box::new(self.send_survey(call, &nomination, survey).await?))
            }
            C::AddComment { nomination, text } => {
                A::Nomination(Box::new(self.add_comment(call, &nomination, text).await?))
            }
            C::Submit { nomination } => {
                A::Nomination(Box::new(self.submit(call, &nomination).await?))
            }
            C::Dispute { nomination, reason } => {
                A::Nomination(Box::new(self.dispute(call, &nomination, reason).await?))
            }
            C::Cancel { nomination } => {
                A::Nomination(Box::new(self.cancel(call, &nomination).await?))
            }
        })
    }

    /// Runs the reviewer command `command` for `call`'s reviewer, with
    /// `call`'s idempotency key, by the method of its name, and answers
    /// what that method returns; like [`Incentives::execute`], under the
    /// fingerprint the method gives it (R-REC-5).
    pub async fn execute_review(
        &self,
        call: impl Into<Call<ReviewerId>>,
        command: ReviewerCommand,
    ) -> Result<ReviewerAnswer> {
        use ReviewerAnswer as A;
        use ReviewerCommand as C;
        let call = call.into();
        Ok(match command {
            C::ReviewQueue { after, limit } => A::Queue(self.review_queue(after, limit).await?),
            C::ClaimForReview { nomination } => {
                A::Nomination(Box::new(self.claim_for_review(&nomination).await?))
            }
            C::StartReview { nomination, seen } => {
                A::Nomination(Box::new(self.start_review(call, &nomination, seen).await?))
            }
            C::RequestPartnerAction {
                nomination,
                seen,
                note,
            } => A::Nomination(Box::new(
                self.request_partner_action(call, &nomination, seen, note)
                    .await?,
            )),
            C::Approve { nomination, seen } => {
                A::Nomination(Box::new(self.approve(call, &nomination, seen).await?))
            }
            C::Reject {
                nomination,
                seen,
                reason,
            } => A::Nomination(Box::new(
                self.reject(call, &nomination, seen, reason).await?,
            )),
            C::RunPayout { limit } => A::PayoutRun(self.run_payout(call, limit).await?),
            C::PayoutBatch { batch } => A::PayoutBatch(self.payout_batch(&batch).await?),
            C::ReversePayment {
                batch,
                nomination,
                seen,
            } => A::PayoutBatch(Some(
                self.reverse_payment(call, &batch, &nomination, seen)
                    .await?,
            )),
        })
    }
}
