//! The customer's side: consent and survey links (R-CONSENT-5, -6, -9,
//! R-CLAIM-W-3, R-TOKEN). The customer acts only through an unguessable
//! link; a wrong, voided or expired link fails with one error that does not
//! say which (R-TOKEN-3).

use crate::error::{Error, Result};
use crate::observability::{self, call_span, traced};
use crate::service::{Incentives, Target};
use mci_core::{ConsentInvitation, LinkToken, Nomination, NominationId, Refusal};
use mci_store::Commit;

impl Incentives {
    /// What the customer sees on opening a consent link: what, with whom,
    /// until when (R-ROLE-4).
    pub async fn open_consent(&self, token: &LinkToken) -> Result<ConsentInvitation> {
        traced("open_consent", call_span!("open_consent"), async move {
            let nomination = self.load(&Target::Link(token.hash())).await?;
            Ok(nomination.consent_invitation(self.now()?, token)?)
        })
        .await
    }

    /// The customer accepts. When two partners race for one customer,
    /// exactly one acceptance succeeds; the other fails as consented to
    /// another partner (R-CONSENT-8). Accepting twice answers the same and
    /// writes nothing (R-CONSENT-9).
    ///
    /// The acceptance is decided among every other nomination of the
    /// customer for the engagement ([`mci_store::Store::rivals`]): each
    /// other partner's that still asks for consent loses it in the same
    /// commit, and its partner is told (R-CONSENT-10). A rival created
    /// while the acceptance was decided fails the commit, which is then
    /// decided again with it, within the usual retries (R-REC-4). Once a
    /// nomination has lost, its links are void: a click on one answers as
    /// any voided link does (R-TOKEN-3).
    pub async fn accept_consent(&self, token: &LinkToken) -> Result<Nomination> {
        traced("accept_consent", call_span!("accept_consent"), async move {
            // The nomination the token opened on an earlier attempt.
            let mut opened: Option<NominationId> = None;
            for attempt in 0..=self.settings.retries {
                observability::attempt(attempt);
                let nomination = match (self.load(&Target::Link(token.hash())).await, opened) {
                    (Ok(nomination), _) => nomination,
                    (Err(Error::Refused(Refusal::InvalidLink)), Some(id)) => {
                        return Err(self.voided_since(&id).await);
                    }
                    (Err(error), _) => return Err(error),
                };
                observability::nomination(nomination.id());
                let now = self.now()?;
                let rivals = self
                    .store
                    .rivals(nomination.engagement(), nomination.customer().id())
                    .await?;
                let Some(acceptance) = nomination.accept_consent_among(now, token, &rivals)? else {
                    return Ok(nomination.at(now));
                };
                opened = Some(*nomination.id());
                let accepted = acceptance.winner.nomination.clone();
                let commit = Commit::of_all(now, acceptance.into_outcomes());
                if let Some(written) = self.write(commit, None, accepted).await? {
                    return Ok(written);
                }
            }
            Err(Error::Busy)
        })
        .await
    }

    /// Why the link that opened nomination `id` on an earlier attempt of an
    /// acceptance opens nothing now: another partner's acceptance, written
    /// in between, made it lose (R-CONSENT-8: consented to another partner,
    /// R-CONSENT-10), or the link was voided otherwise (R-TOKEN-3).
    async fn voided_since(&self, id: &NominationId) -> Error {
        match self.store.nomination_by_id(id).await {
            Ok(Some(nomination)) => match nomination.ineligibility() {
                Some(reason) => Error::Ineligible {
                    engagement: nomination.engagement().clone(),
                    reason,
                },
                None => Refusal::InvalidLink.into(),
            },
            Ok(None) => Refusal::InvalidLink.into(),
            Err(error) => error.into(),
        }
    }

    /// The customer declines (R-CONSENT-6, R-CONSENT-9).
    pub async fn decline_consent(&self, token: &LinkToken) -> Result<Nomination> {
        traced(
            "decline_consent",
            call_span!("decline_consent"),
            async move {
                self.change(Target::Link(token.hash()), None, |n, now| {
                    n.decline_consent(now, token)
                })
                .await
            },
        )
        .await
    }

    /// A survey is completed through its link (R-CLAIM-W-3).
    pub async fn complete_survey(&self, token: &LinkToken) -> Result<Nomination> {
        traced(
            "complete_survey",
            call_span!("complete_survey"),
            async move {
                self.change(Target::Link(token.hash()), None, |n, now| {
                    n.complete_survey(now, token)
                })
                .await
                .map_err(|e| match e {
                    Error::Refused(Refusal::NotFound) => Error::Refused(Refusal::InvalidLink),
                    other => other,
                })
            },
        )
        .await
    }
}
