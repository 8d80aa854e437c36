//! Adding and claiming customers, and the review step before (R-ADD,
//! R-CLAIM).
//!
//! [`review_nomination`] is the wizard's review step: it writes nothing and
//! answers which engagements can be chosen, why not the others, the deadlines
//! each nomination would get and the proposed payout (R-ADD-10).
//! [`nominate`] makes the nominations, all or none (R-ADD-6).
//!
//! ```
//! # use mci_testkit::*;
//! use mci_core::{nominate, review_nomination, Candidate, State};
//!
//! let (workshop, now) = workshop();
//! let request = nomination_request();
//! let candidates = [Candidate { engagement: &workshop, facts: eligible_facts() }];
//!
//! let review = review_nomination(now, &request, &candidates).unwrap();
//! assert_eq!(review.choosable.len(), 1);
//! assert_eq!(review.choosable[0].consent_deadline, now + chrono::TimeDelta::days(30));
//!
//! let mut ids = nomination_ids();
//! let created = nominate(now, &admin(), request, &candidates, || ids.next().unwrap()).unwrap();
//! assert_eq!(created[0].nomination.state(), State::CustomerClaimed);
//! ```

use crate::actor::PartnerUser;
use crate::customer::{Contacts, Customer};
use crate::eligibility::{EligibilityFacts, Ineligibility, assess};
use crate::engagement::{Engagement, PayModel, RuleVersion, Timelines};
use crate::nomination::{Draft, Nomination, Origin, Outcome};
use crate::refusal::{EngagementRefusal, Refusal};
use crate::time::{Instant, check_instant};
use crate::{EngagementId, FriendlyName, Hours, LocationId, Money, NominationId};
use crate::{InvalidValue, Problem};
use std::collections::BTreeSet;

/// What the partner asks for with *add customer* or *claim customer*
/// (R-ADD-1, R-CLAIM-2), the engagements aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NominationRequest {
    /// The friendly name.
    pub friendly_name: FriendlyName,
    /// The location delivering it (R-ADD-2).
    pub location: LocationId,
    /// The customer, identified (R-ADD-3, -4) or taken from an earlier
    /// nomination (R-CLAIM-2).
    pub customer: Customer,
    /// The customer's contacts.
    pub customer_contacts: Contacts,
    /// The partner's contacts.
    pub partner_contacts: Contacts,
    /// Hours, for variable pay only (R-ADD-8).
    pub hours: Option<Hours>,
    /// Added, or claimed from an earlier nomination.
    pub origin: Origin,
}

impl NominationRequest {
    /// A claim request for a customer known through `earlier`, which must be
    /// the partner's own nomination that received consent (R-CLAIM-1). The
    /// customer's identity comes from it; no tenant resolution is repeated
    /// (R-CLAIM-2).
    #[allow(clippy::too_many_arguments)]
    pub fn claim(
        user: &PartnerUser,
        earlier: &Nomination,
        friendly_name: FriendlyName,
        location: LocationId,
        customer_contacts: Option<Contacts>,
        partner_contacts: Option<Contacts>,
        hours: Option<Hours>,
    ) -> Result<Self, Refusal> {
        user.may_act()?;
        if earlier.partner() != user.partner() {
            return Err(Refusal::CustomerNotKnown);
        }
        if earlier.consented_at().is_none() {
            return Err(Refusal::CustomerNotKnown);
        }
        Ok(Self {
            friendly_name,
            location,
            customer: earlier.customer().clone(),
            customer_contacts: customer_contacts
                .unwrap_or_else(|| earlier.customer_contacts().clone()),
            partner_contacts: partner_contacts
                .unwrap_or_else(|| earlier.partner_contacts().clone()),
            hours,
            origin: Origin::Claimed {
                from: *earlier.id(),
            },
        })
    }
}

/// One chosen engagement with the facts its eligibility is decided on.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// The engagement, with the rules a new nomination pins.
    pub engagement: &'a Engagement,
    /// What the ports and the store said.
    pub facts: EligibilityFacts,
}

/// What a nomination for one engagement would get (R-ADD-10).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Proposal {
    /// The engagement.
    pub engagement: EngagementId,
    /// The version of its rules the nomination would pin (R-ENG-8).
    pub rules_version: RuleVersion,
    /// The consent deadline, counted from now (R-CONSENT-1).
    pub consent_deadline: Instant,
    /// The windows that start at consent (R-ENG-4).
    pub timelines: Timelines,
    /// The payout: the fee, or rate times hours capped (R-ADD-8).
    pub proposed_payout: Option<Money>,
}

/// The answer of the review step (R-ADD-10).
///
/// Its JSON form: each choosable engagement with what its nomination would
/// get, and each refused one with its reasons (R-ADD-6, never naming
/// another partner, R-ROLE-3).
///
/// ```json
/// {
///   "choosable": [{
///     "engagement": "ai-assessment",
///     "rules_version": 1,
///     "consent_deadline": "2026-04-01T09:00:00Z",
///     "timelines": {"obtain_consent": 30, "first_submit": 60, "review_complete": 90, "dispute": 30},
///     "proposed_payout": "3000.00 EUR"
///   }],
///   "refused": [{
///     "engagement": "ai-workshop",
///     "reasons": [{"kind": "customer_ineligible", "reason": "fewer than 50 licensed seats"}]
///   }]
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NominationReview {
    /// The engagements that can be chosen, with what each would get.
    pub choosable: Vec<Proposal>,
    /// The others, with every reason.
    pub refused: Vec<EngagementRefusal>,
    /// What the add would warn of without refusing it: the customer
    /// already nominated by the partner under another identifier the
    /// tenant directory links to it (R-LIST-5). Left out of the JSON when
    /// empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::AddWarning>,
}

/// The review step: which of the candidate engagements can be chosen and
/// what each nomination would get. Writes nothing (R-ADD-10). Refuses only
/// what is wrong with the request as a whole (R-ADD-1, R-ADD-8), and a
/// `now` outside the accepted range (R-INPUT).
pub fn review_nomination(
    now: Instant,
    request: &NominationRequest,
    candidates: &[Candidate<'_>],
) -> Result<NominationReview, Refusal> {
    let now = check_instant("now", now)?;
    check_request(request, candidates)?;
    let mut review = NominationReview {
        choosable: Vec::new(),
        refused: Vec::new(),
        warnings: Vec::new(),
    };
    for candidate in candidates {
        let engagement = candidate.engagement;
        let reasons = reasons(now, request, candidate);
        if reasons.is_empty() {
            let rules = engagement.rules();
            review.choosable.push(Proposal {
                engagement: engagement.id().clone(),
                rules_version: rules.version(),
                consent_deadline: rules
                    .timelines()
                    .obtain_consent
                    .checked_after(now)
                    .ok_or_else(|| InvalidValue::new("now", Problem::Overflow))?,
                timelines: *rules.timelines(),
                proposed_payout: rules.pay().payout(request.hours),
            });
        } else {
            review.refused.push(EngagementRefusal {
                engagement: engagement.id().clone(),
                reasons,
            });
        }
    }
    Ok(review)
}

/// Makes one nomination per candidate engagement, all or none: if any
/// engagement cannot be chosen, the whole call is refused with the reasons
/// per engagement (R-ADD-6, R-CLAIM-3). Each outcome carries the guards the
/// store checks as it writes (R-ADD-7, R-ENG-5, R-CONSENT-8); write them in
/// one commit. A `now` outside the accepted range is refused (R-INPUT).
pub fn nominate(
    now: Instant,
    user: &PartnerUser,
    request: NominationRequest,
    candidates: &[Candidate<'_>],
    mut new_id: impl FnMut() -> NominationId,
) -> Result<Vec<Outcome>, Refusal> {
    user.may_act()?;
    let now = check_instant("now", now)?;
    // The refusals of the review step, without making the proposals it
    // would show for the others.
    check_request(&request, candidates)?;
    let refused: Vec<EngagementRefusal> = candidates
        .iter()
        .filter_map(|candidate| {
            let reasons = reasons(now, &request, candidate);
            (!reasons.is_empty()).then(|| EngagementRefusal {
                engagement: candidate.engagement.id().clone(),
                reasons,
            })
        })
        .collect();
    if !refused.is_empty() {
        return Err(Refusal::NotChoosable { refused });
    }
    let create = |candidate: &Candidate<'_>, draft: Draft| {
        let engagement = candidate.engagement;
        Nomination::create(
            now,
            user,
            engagement.id().clone(),
            engagement.rules().clone(),
            draft,
        )
    };
    // Every nomination but the last copies the request; the last takes it.
    let Some((last, others)) = candidates.split_last() else {
        return Ok(Vec::new());
    };
    let mut outcomes = Vec::with_capacity(candidates.len());
    for candidate in others {
        outcomes.push(create(candidate, draft(new_id(), request.clone())));
    }
    outcomes.push(create(last, draft(new_id(), request)));
    Ok(outcomes)
}

/// Why a candidate engagement cannot be chosen; none if it can.
fn reasons(
    now: Instant,
    request: &NominationRequest,
    candidate: &Candidate<'_>,
) -> Vec<Ineligibility> {
    assess(
        candidate.engagement,
        now,
        request.customer.id_type(),
        &candidate.facts,
    )
}

/// The draft of the nomination `id` for `request`.
fn draft(id: NominationId, request: NominationRequest) -> Draft {
    Draft {
        id,
        friendly_name: request.friendly_name,
        location: request.location,
        customer: request.customer,
        customer_contacts: request.customer_contacts,
        partner_contacts: request.partner_contacts,
        hours: request.hours,
        origin: request.origin,
    }
}

/// What is wrong with the request as a whole (R-ADD-1, R-ADD-8).
fn check_request(request: &NominationRequest, candidates: &[Candidate<'_>]) -> Result<(), Refusal> {
    if candidates.is_empty() {
        return Err(Refusal::NoEngagementChosen);
    }
    let mut seen = BTreeSet::new();
    for candidate in candidates {
        if !seen.insert(candidate.engagement.id()) {
            return Err(Refusal::EngagementChosenTwice {
                engagement: candidate.engagement.id().clone(),
            });
        }
    }
    let variable = candidates
        .iter()
        .filter(|c| c.engagement.rules().pay().is_variable())
        .count();
    if variable > 0 && candidates.len() > 1 {
        return Err(Refusal::VariablePayAlone);
    }
    for candidate in candidates {
        match (candidate.engagement.rules().pay(), request.hours) {
            (PayModel::Variable { .. }, None) => return Err(Refusal::HoursRequired),
            (PayModel::Variable { max_hours, .. }, Some(hours)) if hours > *max_hours => {
                return Err(Refusal::HoursOverMaximum {
                    hours,
                    max: *max_hours,
                });
            }
            (PayModel::Fixed { .. }, Some(_)) => return Err(Refusal::HoursNotApplicable),
            _ => {}
        }
    }
    Ok(())
}
