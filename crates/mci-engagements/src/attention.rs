//! Attention required (R-LIST-3): one bounded call per partner listing
//! what needs the partner now.

use crate::call::Call;
use crate::error::Result;
use crate::observability::{self, call_span, traced};
use crate::service::Incentives;
use mci_core::{
    ATTENTION_WINDOW, AttentionEntry, InvalidValue, PartnerUser, Problem, State, Tab,
    attention_list,
};
use mci_store::{PageQuery, StateQuery};

/// The Attention required list of a partner (R-LIST-3): soonest deadline
/// first, at most the limit asked for.
///
/// Its JSON form, each entry as [`AttentionEntry`]'s:
///
/// ```
/// use mci_engagements::Attention;
///
/// let empty = Attention { entries: vec![], more: false };
/// assert_eq!(
///     serde_json::to_value(&empty).unwrap(),
///     serde_json::json!({"entries": [], "more": false}),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attention {
    /// What needs the partner, each with its deadline and action.
    pub entries: Vec<AttentionEntry>,
    /// Whether more needed the partner than the limit let in.
    pub more: bool,
}

impl Incentives {
    /// What needs the partner now (R-LIST-3): consents and claims whose
    /// deadline is within 7 days, claims where the reviewer asked for more
    /// information, rejections that can still be disputed, and nominations
    /// whose customer consented to another partner (R-CONSENT-10); each
    /// with its deadline and action, soonest first, at most `limit`.
    ///
    /// Bounded: it reads the partner's nominations lapsing within the
    /// window (an index walk by partner and lapse instant), those waiting
    /// on the partner after a review (by partner, state and id), and each
    /// engagement's Ineligible tab (by partner, engagement and tab), each
    /// read at most `limit` rows; which of them need the partner, and how,
    /// is [`mci_core::attention_list`]'s rule.
    pub async fn attention(
        &self,
        call: impl Into<Call<PartnerUser>>,
        limit: usize,
    ) -> Result<Attention> {
        traced("attention", call_span!("attention"), async move {
            let call = call.into();
            observability::partner(call.actor().partner());
            let user = call.actor().clone().authorize()?;
            let partner = user.partner();
            let now = self.now()?;
            let until = ATTENTION_WINDOW
                .checked_after(now)
                .ok_or_else(|| InvalidValue::new("now", Problem::Overflow))?;
            let mut candidates = self.store.lapsing(partner, now, until, limit).await?;
            let mut more = candidates.len() >= limit;
            let waiting = self
                .store
                .by_state(&StateQuery {
                    states: vec![State::PartnerActionRequired, State::Rejected],
                    partner: Some(partner.clone()),
                    now,
                    after: None,
                    limit,
                })
                .await?;
            more |= waiting.next.is_some();
            candidates.extend(waiting.rows);
            for engagement in self.engagements() {
                let lost = self
                    .store
                    .page(&PageQuery {
                        partner: partner.clone(),
                        engagement: engagement.id().clone(),
                        tab: Tab::Ineligible,
                        now,
                        after: None,
                        limit,
                    })
                    .await?;
                more |= lost.next.is_some();
                candidates.extend(lost.rows);
            }
            let (entries, cut) = attention_list(now, candidates, limit);
            Ok(Attention {
                entries,
                more: more || cut,
            })
        })
        .await
    }
}
