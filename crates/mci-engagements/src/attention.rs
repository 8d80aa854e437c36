//! Attention required (R-LIST-3): one bounded call per partner listing
//! what needs the partner now.

use crate::call::Call;
use crate::error::Result;
use crate::observability::{self, call_span, traced};
use crate::service::Incentives;
use mci_core::{AttentionEntry, InvalidValue, NominationId, PartnerUser, Problem, attention_list};
use mci_store::AttentionQuery;

/// The Attention required list of a partner (R-LIST-3): soonest deadline
/// first, at most the limit asked for.
///
/// Its JSON form, each entry as [`AttentionEntry`]'s:
///
/// ```
/// use mci_engagements::Attention;
///
/// let empty = Attention { entries: vec![], more: false, unreadable: vec![] };
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
    /// Nominations the list came to whose stored rows cannot be read back:
    /// passed over, and the list is short by them; they need an operator.
    /// Left out of the JSON when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<NominationId>,
}

impl Incentives {
    /// What needs the partner now (R-LIST-3): consents and claims whose
    /// deadline is within 7 days, claims where the reviewer asked for more
    /// information, rejections that can still be disputed, and nominations
    /// whose customer consented to another partner (R-CONSENT-10); each
    /// with its deadline and action, soonest first (then by id), at most
    /// `limit`, and whether more need the partner.
    ///
    /// Bounded and exact: one read of the store
    /// ([`Store::attention`](mci_store::Store::attention)), two index walks
    /// by partner, attention class and lapse instant, each at most `limit`
    /// and one rows long: the rows that need the partner until their
    /// deadline, and those whose deadline falls within the 7 days. Which
    /// nomination needs the partner, and how, is
    /// [`mci_core::Nomination::attention`]'s rule, and the placement the
    /// store walks by says the same at every instant, so the answer is the
    /// soonest `limit` entries of all the partner's nominations, however
    /// many. A row the store cannot read back is passed over and named in
    /// [`Attention::unreadable`], and the list is short by it.
    pub async fn attention(
        &self,
        call: impl Into<Call<PartnerUser>>,
        limit: usize,
    ) -> Result<Attention> {
        traced("attention", call_span!("attention"), async move {
            let call = call.into();
            observability::partner(call.actor().partner());
            let user = call.actor().clone().authorize()?;
            let now = self.now()?;
            let query = AttentionQuery::at(user.partner().clone(), now, limit)
                .ok_or_else(|| InvalidValue::new("now", Problem::Overflow))?;
            let candidates = self.store.attention(&query).await?;
            let (entries, cut) = attention_list(now, candidates.rows, limit);
            Ok(Attention {
                entries,
                more: candidates.more || cut,
                unreadable: candidates.unreadable.iter().map(|u| u.id).collect(),
            })
        })
        .await
    }
}
