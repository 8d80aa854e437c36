//! The partner's side: add, claim, consent and the workshop claim (R-ADD,
//! R-CLAIM, R-CONSENT, R-CLAIM-W). Every call needs the role Incentives
//! admin or Incentives user (R-ROLE-1) and sees only the partner's own
//! nominations (R-ROLE-2).

use crate::call::Call;
use crate::error::{Error, Result};
use crate::observability::{self, call_span, traced};
use crate::service::{Command, Incentives, Keyed, Target, changed, partner_key};
use mci_core::{
    AddWarning, Candidate, Comment, Competitor, Contacts, ContactsUpdate, CustomerIdInput,
    DirectoryFinding, DirectoryQuestion, DocumentKind, DocumentRef, EligibilityFacts, EmailAddress,
    Engagement, EngagementId, Event, FriendlyName, Hours, Instant, LocationId, Nomination,
    NominationId, NominationRequest, NominationReview, Origin, PartnerUser, SendConsent,
    SurveyKind, identify_customer, nominate, review_nomination,
};
use mci_store::{AnswerWrite, Commit, Write};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The candidates of a decision: each engagement with the facts gathered
/// for it, moved in rather than copied.
fn decided_on(engagements: &[Arc<Engagement>], facts: Vec<EligibilityFacts>) -> Vec<Candidate<'_>> {
    engagements
        .iter()
        .zip(facts)
        .map(|(engagement, facts)| Candidate {
            engagement: engagement.as_ref(),
            facts,
        })
        .collect()
}

/// The *add customer* form (R-ADD-1). Serialised as the input an
/// idempotency key is bound to (R-REC-5).
///
/// Its JSON form, as a client sends it: every value goes through its own
/// validation as it is read (R-INPUT), so the form holds only valid
/// values, and an unknown member is refused. `customer_id` is
/// `{"type": "email_only"}` or a typed id such as
/// `{"type": "tenant_id", "value": "0b7d3f6e-…"}`; `mismatch_reason` and
/// `hours` may be left out.
///
/// ```
/// use mci_engagements::AddCustomer;
///
/// let json = r#"{
///     "friendly_name": "Contoso AI readiness",
///     "location": "1234567",
///     "customer_id": {"type": "email_only"},
///     "customer_email": "cio@contoso.example",
///     "engagements": ["ai-workshop"],
///     "customer_contacts": [{"name": "Carla", "email": "cio@contoso.example"}],
///     "partner_contacts": [{"name": "Ada", "email": "ada@partner.example"}]
/// }"#;
/// let form: AddCustomer = serde_json::from_str(json).unwrap();
/// assert_eq!(form.customer_email.as_str(), "cio@contoso.example");
/// assert_eq!(form.hours, None);
///
/// // A value its type refuses is refused as the JSON is read.
/// let bidi = json.replace("Contoso AI readiness", "Contoso\\u202e AI");
/// assert!(serde_json::from_str::<AddCustomer>(&bidi).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddCustomer {
    /// The friendly name.
    pub friendly_name: FriendlyName,
    /// The partner's location (R-ADD-2).
    pub location: LocationId,
    /// How the customer is identified (R-ADD-3, R-ADD-4).
    pub customer_id: CustomerIdInput,
    /// The customer's email.
    pub customer_email: EmailAddress,
    /// Why the email's domain does not belong to the given tenant (R-ADD-4).
    pub mismatch_reason: Option<Comment>,
    /// The engagements to add the customer to, all or none (R-ADD-6).
    pub engagements: Vec<EngagementId>,
    /// The customer's contacts.
    pub customer_contacts: Contacts,
    /// The partner's contacts.
    pub partner_contacts: Contacts,
    /// Hours, for variable pay only (R-ADD-8).
    pub hours: Option<Hours>,
}

/// The *claim customer* form (R-CLAIM-2): the customer comes from an
/// earlier nomination the customer consented to. Serialised as the input an
/// idempotency key is bound to (R-REC-5).
///
/// Its JSON form, validated as it is read like [`AddCustomer`]'s:
///
/// ```
/// use mci_engagements::ClaimCustomer;
///
/// let form: ClaimCustomer = serde_json::from_str(r#"{
///     "known_through": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
///     "friendly_name": "Contoso, second workshop",
///     "location": "1234567",
///     "engagements": ["ai-workshop"]
/// }"#).unwrap();
/// assert!(form.customer_contacts.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimCustomer {
    /// The partner's earlier nomination the customer is known through.
    pub known_through: NominationId,
    /// The friendly name.
    pub friendly_name: FriendlyName,
    /// The partner's location.
    pub location: LocationId,
    /// The engagements, all or none.
    pub engagements: Vec<EngagementId>,
    /// New customer contacts; the earlier nomination's by default.
    pub customer_contacts: Option<Contacts>,
    /// New partner contacts; the earlier nomination's by default.
    pub partner_contacts: Option<Contacts>,
    /// Hours, for variable pay only.
    pub hours: Option<Hours>,
}

/// The input of `attach_document` an idempotency key is bound to (R-REC-5).
#[derive(Serialize)]
struct AttachDocumentInput<'a> {
    kind: DocumentKind,
    document: &'a DocumentRef,
}

/// The nominations an add or claim created, in the order of the
/// engagements asked for (R-ADD-9).
///
/// Its JSON form, each nomination as [`Nomination`]'s serde form (the
/// form a store keeps it in):
///
/// ```json
/// {"nominations": [{"id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "partner": "4711",
///                   "engagement": "ai-workshop", "state": "customer_claimed", "…": "…"}],
///  "warnings": [{"warning": "nominated_under_another_id", "engagement": "ai-workshop",
///                "customer": "tpid:7001"}]}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Added {
    /// The new nominations.
    pub nominations: Vec<Nomination>,
    /// What the add warns of without refusing it: the partner already
    /// nominated the customer for an engagement under another identifier
    /// the tenant directory links to it (R-LIST-5). Left out of the JSON
    /// when empty; absent from answers kept before it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<AddWarning>,
}

impl Incentives {
    fn partner_user(&self, call: &Call<PartnerUser>) -> Result<PartnerUser> {
        observability::partner(call.actor().partner());
        Ok(call.actor().clone().authorize()?)
    }

    /// The request of an add form: who the customer is, asked of the tenant
    /// directory (R-ADD-3, R-ADD-4).
    async fn add_request(&self, form: &AddCustomer) -> Result<NominationRequest> {
        let domain = form.customer_email.domain();
        let finding = match form.customer_id.directory_question() {
            DirectoryQuestion::TenantOfDomain => {
                DirectoryFinding::TenantOfDomain(self.tenants.tenant_of(domain).await?)
            }
            DirectoryQuestion::TenantOwnsDomain(tenant) => {
                DirectoryFinding::OwnsDomain(self.tenants.tenant_owns(&tenant, domain).await?)
            }
            DirectoryQuestion::TpidOwnsDomain(tpid) => {
                DirectoryFinding::OwnsDomain(self.tenants.tpid_owns(&tpid, domain).await?)
            }
            DirectoryQuestion::None => DirectoryFinding::NotAsked,
        };
        let customer = identify_customer(
            form.customer_id,
            form.customer_email.clone(),
            form.mismatch_reason.clone(),
            finding,
        )?;
        Ok(NominationRequest {
            friendly_name: form.friendly_name.clone(),
            location: form.location.clone(),
            customer,
            customer_contacts: form.customer_contacts.clone(),
            partner_contacts: form.partner_contacts.clone(),
            hours: form.hours,
            origin: Origin::Added,
        })
    }

    /// What an add of `customer` to `engagements` by `user` warns of at
    /// `now` (R-LIST-5): the tenant directory is asked once for the
    /// customer's other identifiers, and the store, per engagement and
    /// identifier, for the nominations of that customer (an index walk by
    /// engagement and customer); the partner's own decide the warnings
    /// ([`mci_core::linked_nomination_warnings`]).
    async fn linked_warnings(
        &self,
        user: &PartnerUser,
        customer: &mci_core::CustomerId,
        engagements: &[EngagementId],
        now: Instant,
    ) -> Result<Vec<AddWarning>> {
        let linked = self.tenants.linked_ids(customer).await?;
        let mut findings = Vec::new();
        for engagement in engagements {
            for other in linked.iter().filter(|other| *other != customer) {
                for (partner, standing) in self.store.standings(engagement, other).await? {
                    if &partner == user.partner() {
                        findings.push((engagement.clone(), *other, standing));
                    }
                }
            }
        }
        Ok(mci_core::linked_nomination_warnings(now, findings))
    }

    /// The engagements asked for and what their eligibility is decided on:
    /// the partner directory, the eligibility source and the other
    /// nominations of the customer (R-ADD-2, R-ADD-5, R-PAGE-4).
    async fn candidates(
        &self,
        user: &PartnerUser,
        request: &NominationRequest,
        ids: &[EngagementId],
    ) -> Result<Vec<(Arc<Engagement>, EligibilityFacts)>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let engagement = self.shared_engagement(id)?;
            let location = self
                .partners
                .location_standing(user.partner(), &request.location, id)
                .await?;
            let customer = self.eligibility.standing(id, request.customer.id()).await?;
            let competitors = self
                .store
                .standings(id, request.customer.id())
                .await?
                .into_iter()
                .map(|(partner, standing)| Competitor {
                    same_partner: &partner == user.partner(),
                    standing,
                })
                .collect();
            out.push((
                engagement,
                EligibilityFacts {
                    location,
                    customer,
                    competitors,
                },
            ));
        }
        Ok(out)
    }

    /// The wizard's review step: which engagements can be chosen, why not
    /// the others, the deadlines and the proposed payout, and a warning
    /// where the partner already nominated the customer for an engagement
    /// under another identifier the tenant directory links to it
    /// (R-LIST-5). Writes nothing (R-ADD-10).
    pub async fn review_add(
        &self,
        call: impl Into<Call<PartnerUser>>,
        form: &AddCustomer,
    ) -> Result<NominationReview> {
        traced("review_add", call_span!("review_add"), async move {
            let call = call.into();
            let user = self.partner_user(&call)?;
            let request = self.add_request(form).await?;
            let candidates = self.candidates(&user, &request, &form.engagements).await?;
            let now = self.now()?;
            let answers = self.answers_to_keep(&user, &request, &candidates, now)?;
            let (chosen, facts): (Vec<_>, Vec<_>) = candidates.into_iter().unzip();
            let mut review = review_nomination(now, &request, &decided_on(&chosen, facts))?;
            review.warnings = self
                .linked_warnings(&user, request.customer.id(), &form.engagements, now)
                .await?;
            // The source was asked: its answers replace the ones the partner's
            // Customers page shows, if the customer is known to the partner
            // (R-PAGE-9). Nothing of the program is written.
            if !answers.is_empty() {
                self.store
                    .commit(Commit {
                        answers,
                        ..Commit::at(now)
                    })
                    .await?;
            }
            Ok(review)
        })
        .await
    }

    /// The answers of the eligibility source in `candidates`, to keep for
    /// the partner's Customers page (R-PAGE-9); a store keeps those about a
    /// customer the partner knows.
    fn answers_to_keep(
        &self,
        user: &PartnerUser,
        request: &NominationRequest,
        candidates: &[(Arc<Engagement>, EligibilityFacts)],
        now: Instant,
    ) -> Result<Vec<AnswerWrite>> {
        candidates
            .iter()
            .map(|(engagement, facts)| {
                Ok(AnswerWrite {
                    partner: user.partner().clone(),
                    engagement: engagement.id().clone(),
                    customer: *request.customer.id(),
                    answer: self.kept_answer(
                        engagement,
                        request.customer.id_type(),
                        &facts.customer,
                        now,
                    )?,
                })
            })
            .collect()
    }

    /// Adds a customer to one or several engagements, all or none (R-ADD).
    /// The answer warns when the partner already nominated the customer
    /// for an engagement under another identifier the tenant directory
    /// links to it (R-LIST-5).
    pub async fn add_customer(
        &self,
        call: impl Into<Call<PartnerUser>>,
        form: &AddCustomer,
    ) -> Result<Added> {
        traced("add_customer", call_span!("add_customer"), async move {
            let (user, key) = call.into().into_parts();
            observability::partner(user.partner());
            let user = user.authorize()?;
            let command = Command {
                name: "add_customer",
                target: None,
                input: form,
            };
            let key = partner_key(user.partner(), key.as_deref(), command)?;
            if let Some(first) = self.replay(key.as_ref()).await? {
                return Ok(first);
            }
            let request = self.add_request(form).await?;
            let warnings = self
                .linked_warnings(&user, request.customer.id(), &form.engagements, self.now()?)
                .await?;
            self.nominate(&user, request, &form.engagements, key, warnings)
                .await
        })
        .await
    }

    /// Claims a customer known through an earlier consented nomination for
    /// one or several engagements, all or none (R-CLAIM). The answer warns,
    /// as an add's does, when the partner already nominated the customer
    /// for an engagement under another identifier the tenant directory
    /// links to it (R-LIST-5).
    pub async fn claim_customer(
        &self,
        call: impl Into<Call<PartnerUser>>,
        form: &ClaimCustomer,
    ) -> Result<Added> {
        traced("claim_customer", call_span!("claim_customer"), async move {
            let (user, key) = call.into().into_parts();
            observability::partner(user.partner());
            let user = user.authorize()?;
            let command = Command {
                name: "claim_customer",
                target: None,
                input: form,
            };
            let key = partner_key(user.partner(), key.as_deref(), command)?;
            if let Some(first) = self.replay(key.as_ref()).await? {
                return Ok(first);
            }
            let earlier = self
                .load(&Target::Partner(user.partner(), &form.known_through))
                .await
                .map_err(|e| match e {
                    Error::Refused(mci_core::Refusal::NotFound) => {
                        Error::Refused(mci_core::Refusal::CustomerNotKnown)
                    }
                    other => other,
                })?;
            let request = NominationRequest::claim(
                &user,
                &earlier,
                form.friendly_name.clone(),
                form.location.clone(),
                form.customer_contacts.clone(),
                form.partner_contacts.clone(),
                form.hours,
            )?;
            let warnings = self
                .linked_warnings(&user, request.customer.id(), &form.engagements, self.now()?)
                .await?;
            self.nominate(&user, request, &form.engagements, key, warnings)
                .await
        })
        .await
    }

    async fn nominate(
        &self,
        user: &PartnerUser,
        request: NominationRequest,
        engagements: &[EngagementId],
        key: Option<Keyed>,
        warnings: Vec<AddWarning>,
    ) -> Result<Added> {
        for attempt in 0..=self.settings.retries {
            observability::attempt(attempt);
            let candidates = self.candidates(user, &request, engagements).await?;
            let now = self.now()?;
            let answers = self.answers_to_keep(user, &request, &candidates, now)?;
            let (chosen, facts): (Vec<_>, Vec<_>) = candidates.into_iter().unzip();
            let candidates = decided_on(&chosen, facts);
            let mut ids = Vec::with_capacity(candidates.len());
            for _ in &candidates {
                ids.push(self.ids.next(now)?);
            }
            let mut ids = ids.into_iter();
            let outcomes = match nominate(now, user, request.clone(), &candidates, || {
                ids.next()
                    .unwrap_or_else(|| NominationId::new_v7(0, [0; 10]))
            }) {
                Ok(outcomes) => outcomes,
                Err(refusal) => return self.unless_done(key.as_ref(), refusal.into()).await,
            };
            if let Some(first) = outcomes.first() {
                observability::nomination(first.nomination.id());
            }
            let added = Added {
                nominations: outcomes.iter().map(|o| o.nomination.clone()).collect(),
                warnings: warnings.clone(),
            };
            // Collected, not pushed one by one: a write is a kilobyte, and
            // a vector grown by pushes starts with room for four.
            let commit = Commit {
                writes: outcomes.into_iter().map(Write::from).collect(),
                answers,
                ..Commit::at(now)
            };
            if let Some(written) = self.write(commit, key.as_ref(), added).await? {
                return Ok(written);
            }
        }
        Err(Error::Busy)
    }

    /// One of the partner's nominations (R-ROLE-2), as it stands at the
    /// clock's now: a deadline that has passed reads as lapsed whether or
    /// not the sweep has written it (R-TIME-4).
    pub async fn nomination(
        &self,
        call: impl Into<Call<PartnerUser>>,
        id: &NominationId,
    ) -> Result<Nomination> {
        traced("nomination", call_span!("nomination", id), async move {
            let user = self.partner_user(&call.into())?;
            let nomination = self.load(&Target::Partner(user.partner(), id)).await?;
            Ok(nomination.at(self.now()?))
        })
        .await
    }

    /// A nomination's history, in order (R-REC-1). A lapse that is due but
    /// not yet swept ends it, as the sweep would write it (R-TIME-4).
    pub async fn history(
        &self,
        call: impl Into<Call<PartnerUser>>,
        id: &NominationId,
    ) -> Result<Vec<Event>> {
        traced("history", call_span!("history", id), async move {
            let user = self.partner_user(&call.into())?;
            let nomination = self.load(&Target::Partner(user.partner(), id)).await?;
            let events = self.store.history(id).await?;
            Ok(crate::export::with_due_lapse(
                &nomination,
                events,
                self.now()?,
            ))
        })
        .await
    }

    /// Runs the partner command `command` on the partner's nomination `id`
    /// (R-ROLE-2), its key bound to `command` with `input` (R-REC-5).
    async fn partner_change<I: Serialize + ?Sized>(
        &self,
        call: Call<PartnerUser>,
        id: &NominationId,
        (command, input): (&'static str, &I),
        decide: impl Fn(
            &Nomination,
            Instant,
            &PartnerUser,
        ) -> std::result::Result<mci_core::Step, mci_core::Refusal>
        + Send
        + Sync,
    ) -> Result<Nomination> {
        let user = self.partner_user(&call)?;
        let command = Command {
            name: command,
            target: Some(id),
            input,
        };
        let key = partner_key(user.partner(), call.key(), command)?;
        self.change(Target::Partner(user.partner(), id), key, |n, now| {
            decide(n, now, &user)
        })
        .await
    }

    /// Sends the consent email, after any contact and deal-size changes
    /// (R-CONSENT-2, R-CONSENT-4).
    pub async fn send_consent(
        &self,
        call: impl Into<Call<PartnerUser>>,
        id: &NominationId,
        details: SendConsent,
    ) -> Result<Nomination> {
        traced("send_consent", call_span!("send_consent", id), async move {
            let link = self.fresh_link()?;
            let command = ("send_consent", &details);
            self.partner_change(call.into(), id, command, |n, now, user| {
                changed(n.send_consent(now, user, details.clone(), &link))
            })
            .await
        })
        .await
    }

    /// Re-sends the consent email with a link (R-CONSENT-3).
    pub async fn resend_consent(
        &self,
        call: impl Into<Call<PartnerUser>>,
        id: &NominationId,
    ) -> Result<Nomination> {
        traced(
            "resend_consent",
            call_span!("resend_consent", id),
            async move {
                let link = self.fresh_link()?;
                let command = ("resend_consent", &());
                self.partner_change(call.into(), id, command, |n, now, user| {
                    changed(n.resend_consent(now, user, &link))
                })
                .await
            },
        )
        .await
    }

    /// Changes contacts (R-CONSENT-4, R-CLAIM-W-4).
    pub async fn update_contacts(
        &self,
        call: impl Into<Call<PartnerUser>>,
        id: &NominationId,
        update: ContactsUpdate,
    ) -> Result<Nomination> {
        traced(
            "update_contacts",
            call_span!("update_contacts", id),
            async move {
                let command = ("update_contacts", &update);
                self.partner_change(call.into(), id, command, |n, now, user| {
                    changed(n.update_contacts(now, user, update.clone()))
                })
                .await
            },
        )
        .await
    }

    /// Attaches a proof document, by reference (R-CLAIM-W-2).
    pub async fn attach_document(
        &self,
        call: impl Into<Call<PartnerUser>>,
        id: &NominationId,
        kind: DocumentKind,
        document: DocumentRef,
    ) -> Result<Nomination> {
        traced(
            "attach_document",
            call_span!("attach_document", id),
            async move {
                let input = AttachDocumentInput {
                    kind,
                    document: &document,
                };
                let command = ("attach_document", &input);
                self.partner_change(call.into(), id, command, |n, now, user| {
                    changed(n.attach_document(now, user, kind, document.clone()))
                })
                .await
            },
        )
        .await
    }

    /// Sends or re-sends a survey (R-CLAIM-W-3).
    pub async fn send_survey(
        &self,
        call: impl Into<Call<PartnerUser>>,
        id: &NominationId,
        survey: SurveyKind,
    ) -> Result<Nomination> {
        traced("send_survey", call_span!("send_survey", id), async move {
            let link = self.fresh_link()?;
            let command = ("send_survey", &survey);
            self.partner_change(call.into(), id, command, |n, now, user| {
                changed(n.send_survey(now, user, survey, &link))
            })
            .await
        })
        .await
    }

    /// Adds a comment for the reviewer (R-CLAIM-W-5).
    pub async fn add_comment(
        &self,
        call: impl Into<Call<PartnerUser>>,
        id: &NominationId,
        text: Comment,
    ) -> Result<Nomination> {
        traced("add_comment", call_span!("add_comment", id), async move {
            let command = ("add_comment", &text);
            self.partner_change(call.into(), id, command, |n, now, user| {
                changed(n.add_comment(now, user, text.clone()))
            })
            .await
        })
        .await
    }

    /// Submits the claim, or answers the reviewer by resubmitting
    /// (R-CLAIM-W-6, R-CLAIM-W-7).
    pub async fn submit(
        &self,
        call: impl Into<Call<PartnerUser>>,
        id: &NominationId,
    ) -> Result<Nomination> {
        traced("submit", call_span!("submit", id), async move {
            let command = ("submit", &());
            self.partner_change(call.into(), id, command, |n, now, user| {
                changed(n.submit(now, user))
            })
            .await
        })
        .await
    }

    /// Disputes a rejection, once (R-CLAIM-W-8).
    pub async fn dispute(
        &self,
        call: impl Into<Call<PartnerUser>>,
        id: &NominationId,
        reason: Comment,
    ) -> Result<Nomination> {
        traced("dispute", call_span!("dispute", id), async move {
            let command = ("dispute", &reason);
            self.partner_change(call.into(), id, command, |n, now, user| {
                changed(n.dispute(now, user, reason.clone()))
            })
            .await
        })
        .await
    }

    /// Cancels before the first submission (R-CLAIM-W-10).
    pub async fn cancel(
        &self,
        call: impl Into<Call<PartnerUser>>,
        id: &NominationId,
    ) -> Result<Nomination> {
        traced("cancel", call_span!("cancel", id), async move {
            let command = ("cancel", &());
            self.partner_change(call.into(), id, command, |n, now, user| {
                changed(n.cancel(now, user))
            })
            .await
        })
        .await
    }
}
