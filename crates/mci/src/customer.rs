//! The customer's side: consent and survey links (R-CONSENT-5, -6, -9,
//! R-CLAIM-W-3, R-TOKEN). The customer acts only through an unguessable
//! link; a wrong, voided or expired link fails with one error that does not
//! say which (R-TOKEN-3).

use crate::error::{Error, Result};
use crate::service::{Incentives, Target};
use mci_core::{ConsentInvitation, LinkToken, Nomination, Refusal};

impl Incentives {
    /// What the customer sees on opening a consent link: what, with whom,
    /// until when (R-ROLE-4).
    pub async fn open_consent(&self, token: &LinkToken) -> Result<ConsentInvitation> {
        let nomination = self.load(&Target::Link(token.hash())).await?;
        Ok(nomination.consent_invitation(self.now()?, token)?)
    }

    /// The customer accepts. When two partners race for one customer,
    /// exactly one acceptance succeeds; the other fails as consented to
    /// another partner (R-CONSENT-8). Accepting twice answers the same and
    /// writes nothing (R-CONSENT-9).
    pub async fn accept_consent(&self, token: &LinkToken) -> Result<Nomination> {
        self.change(Target::Link(token.hash()), None, |n, now| {
            n.accept_consent(now, token)
        })
        .await
    }

    /// The customer declines (R-CONSENT-6, R-CONSENT-9).
    pub async fn decline_consent(&self, token: &LinkToken) -> Result<Nomination> {
        self.change(Target::Link(token.hash()), None, |n, now| {
            n.decline_consent(now, token)
        })
        .await
    }

    /// A survey is completed through its link (R-CLAIM-W-3).
    pub async fn complete_survey(&self, token: &LinkToken) -> Result<Nomination> {
        self.change(Target::Link(token.hash()), None, |n, now| {
            n.complete_survey(now, token)
        })
        .await
        .map_err(|e| match e {
            Error::Refused(Refusal::NotFound) => Error::Refused(Refusal::InvalidLink),
            other => other,
        })
    }
}
