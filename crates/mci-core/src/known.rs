//! Where a customer the partner knows shows on an engagement's Customers
//! page, from what a store keeps (R-PAGE-2, R-PAGE-4, R-PAGE-9).
//!
//! A page must not walk a partner's known customers (R-PAGE-9), so a store
//! keeps, for each known customer and engagement, the last answer of the
//! customer eligibility port ([`KeptAnswer`]) and the row's
//! [`KnownPlacement`]: its tab, whether its eligibility was checked, its
//! reasons, and the instant it next changes on its own. The store derives
//! the placement with [`known_placement`] whenever a nomination of that
//! engagement and customer is written, or an answer is kept, from the
//! standings of every nomination of the engagement and customer; between
//! two writes the placement holds until its `changes_at`, and a read after
//! that instant derives it again. Which row shows where is decided here,
//! never by a store.
//!
//! ```
//! # use mci_testkit::*;
//! use mci_core::{known_placement, Ineligibility, KeptAnswer, Standing, Tab};
//!
//! let (workshop, now) = workshop();
//! let me = partner(1);
//! // Never asked: on Eligible, marked "eligibility not checked yet".
//! let fresh = known_placement(&me, None, &[], now);
//! assert_eq!((fresh.tab, fresh.checked), (Some(Tab::Eligible), false));
//!
//! // Asked and eligible, but another partner holds the consent (and, the
//! // workshop allowing one live nomination, the limit is reached).
//! let answer = KeptAnswer::eligible(&workshop, now, now + chrono::TimeDelta::days(1));
//! let rival = Standing { live: true, holds_consent: true, completed: false, asking: false, until: None };
//! let row = known_placement(&me, Some(&answer), &[(partner(2), rival)], now);
//! assert_eq!(row.tab, Some(Tab::Ineligible));
//! assert_eq!(
//!     row.reasons,
//!     vec![Ineligibility::ConsentedToAnotherPartner, Ineligibility::ActiveLimitReached { limit: 1 }]
//! );
//! // The answer is trusted for a day: then the row is unchecked again.
//! assert_eq!(row.changes_at, Some(answer.trusted_until));
//! ```

use crate::PartnerId;
use crate::eligibility::{Competitor, CustomerStanding, Ineligibility, competition};
use crate::engagement::{CustomerIdType, Engagement};
use crate::guard::Standing;
use crate::page::Tab;
use crate::time::Instant;
use serde::{Deserialize, Serialize};

/// An answer of the customer eligibility port about one known customer for
/// one engagement, kept by the store so that pages need not ask (R-PAGE-9),
/// with what the engagement's rules add to it when it was asked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeptAnswer {
    /// The reasons on the customer's own side: the port's (R-ADD-5) and an
    /// identifier type the engagement does not accept (R-ENG-3); empty when
    /// the customer meets the criteria.
    pub reasons: Vec<Ineligibility>,
    /// The engagement's live-nomination limit when it was asked (R-ENG-5).
    pub limit: u32,
    /// When the port answered.
    pub checked_at: Instant,
    /// The last instant before which the answer is trusted: `checked_at`
    /// plus the age the service is configured to trust answers for.
    pub trusted_until: Instant,
}

impl KeptAnswer {
    /// The kept form of the port's `answer` about a customer identified by
    /// `id_type`, for `engagement`, asked at `checked_at` and trusted until
    /// `trusted_until`.
    pub fn new(
        engagement: &Engagement,
        id_type: CustomerIdType,
        answer: &CustomerStanding,
        checked_at: Instant,
        trusted_until: Instant,
    ) -> Self {
        let rules = engagement.rules();
        let mut reasons = Vec::new();
        if !rules.accepts(id_type) {
            reasons.push(Ineligibility::IdTypeNotAccepted { id_type });
        }
        if let CustomerStanding::Ineligible(reason) = answer {
            reasons.push(Ineligibility::CustomerIneligible {
                reason: reason.clone(),
            });
        }
        Self {
            reasons,
            limit: rules.active_nomination_limit(),
            checked_at,
            trusted_until,
        }
    }

    /// An answer that the customer meets `engagement`'s criteria: for tests
    /// and examples.
    pub fn eligible(engagement: &Engagement, checked_at: Instant, trusted_until: Instant) -> Self {
        Self {
            reasons: Vec::new(),
            limit: engagement.rules().active_nomination_limit(),
            checked_at,
            trusted_until,
        }
    }

    /// Whether it is trusted at `now`.
    pub fn trusted_at(&self, now: Instant) -> bool {
        now < self.trusted_until
    }
}

/// Where a known customer's row shows on one engagement's page, as a store
/// keeps it beside the row (R-PAGE-2, -4, -9).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KnownPlacement {
    /// Eligible or Ineligible; `None` while the partner has a live
    /// nomination of the customer for the engagement, whose own row shows
    /// instead (R-PAGE-2).
    pub tab: Option<Tab>,
    /// Whether a trusted answer of the eligibility port stands behind the
    /// row; an Eligible row without one reads "eligibility not checked yet"
    /// (R-PAGE-9).
    pub checked: bool,
    /// Why the customer cannot be claimed; empty on Eligible.
    pub reasons: Vec<Ineligibility>,
    /// The first instant after the one it was derived at at which it is
    /// different (an answer stops being trusted, a nomination's deadline
    /// passes); `None` when nothing changes it but a write.
    pub changes_at: Option<Instant>,
}

impl KnownPlacement {
    /// Whether it still holds at `now`: before `changes_at`.
    pub fn holds_at(&self, now: Instant) -> bool {
        self.changes_at.is_none_or(|at| now < at)
    }
}

/// Where `partner`'s known customer shows at `now` on an engagement's page,
/// from the kept answer of the eligibility port (if any) and the partner and
/// standing of every nomination of the engagement and customer (R-PAGE-2,
/// -4, -9).
///
/// - The partner's own live nomination shows instead: no row.
/// - Without an answer trusted at `now`: Eligible, not checked.
/// - Otherwise the answer's reasons and the other nominations' (completed
///   by anyone, consented to another partner, the live-nomination limit):
///   Ineligible with them, or Eligible when there are none.
pub fn known_placement(
    partner: &PartnerId,
    answer: Option<&KeptAnswer>,
    standings: &[(PartnerId, Standing)],
    now: Instant,
) -> KnownPlacement {
    let (tab, checked, reasons) = placed_at(partner, answer, standings, now);
    // The placement is a step function of time that can only step where
    // an answer stops being trusted or a standing's flags stop holding.
    let mut steps: Vec<Instant> = standings
        .iter()
        .filter_map(|(_, s)| s.until)
        .chain(answer.map(|a| a.trusted_until))
        .filter(|at| *at > now)
        .collect();
    steps.sort_unstable();
    steps.dedup();
    let changes_at = steps.into_iter().find(|at| {
        let (t, c, r) = placed_at(partner, answer, standings, *at);
        t != tab || c != checked || r != reasons
    });
    KnownPlacement {
        tab,
        checked,
        reasons,
        changes_at,
    }
}

fn placed_at(
    partner: &PartnerId,
    answer: Option<&KeptAnswer>,
    standings: &[(PartnerId, Standing)],
    now: Instant,
) -> (Option<Tab>, bool, Vec<Ineligibility>) {
    let competitors: Vec<Competitor> = standings
        .iter()
        .map(|(p, standing)| Competitor {
            same_partner: p == partner,
            standing: *standing,
        })
        .collect();
    if competitors
        .iter()
        .any(|c| c.same_partner && c.standing.live_at(now))
    {
        return (None, false, Vec::new());
    }
    let Some(answer) = answer.filter(|a| a.trusted_at(now)) else {
        return (Some(Tab::Eligible), false, Vec::new());
    };
    let mut reasons = answer.reasons.clone();
    reasons.extend(competition(&competitors, answer.limit, now));
    let tab = if reasons.is_empty() {
        Tab::Eligible
    } else {
        Tab::Ineligible
    };
    (Some(tab), true, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone, Utc};

    fn at(day: u32) -> Instant {
        Utc.with_ymd_and_hms(2026, 5, day, 0, 0, 0).unwrap()
    }

    fn answer(limit: u32) -> KeptAnswer {
        KeptAnswer {
            reasons: Vec::new(),
            limit,
            checked_at: at(1),
            trusted_until: at(20),
        }
    }

    fn live_until(day: u32) -> Standing {
        Standing {
            live: true,
            holds_consent: false,
            completed: false,
            asking: true,
            until: Some(at(day)),
        }
    }

    #[test]
    fn r_page_2_the_partners_own_live_nomination_hides_the_row_until_it_lapses() {
        let me: PartnerId = "p1".parse().unwrap();
        let row = known_placement(&me, Some(&answer(2)), &[(me.clone(), live_until(5))], at(2));
        assert_eq!(row.tab, None);
        assert_eq!(row.changes_at, Some(at(5)));
        let later = known_placement(&me, Some(&answer(2)), &[(me.clone(), live_until(5))], at(5));
        assert_eq!((later.tab, later.checked), (Some(Tab::Eligible), true));
        assert_eq!(later.changes_at, Some(at(20)));
    }

    #[test]
    fn r_page_4_the_limit_of_live_nominations_holds_until_a_rival_lapses() {
        let me: PartnerId = "p1".parse().unwrap();
        let rival: PartnerId = "p2".parse().unwrap();
        let row = known_placement(&me, Some(&answer(1)), &[(rival, live_until(5))], at(2));
        assert_eq!(row.tab, Some(Tab::Ineligible));
        assert_eq!(
            row.reasons,
            vec![Ineligibility::ActiveLimitReached { limit: 1 }]
        );
        assert_eq!(row.changes_at, Some(at(5)));
    }

    #[test]
    fn r_page_9_an_answer_past_its_age_leaves_the_row_unchecked_on_eligible() {
        let me: PartnerId = "p1".parse().unwrap();
        let mut ineligible = answer(1);
        ineligible.reasons.push(Ineligibility::CustomerIneligible {
            reason: "too small".into(),
        });
        let row = known_placement(&me, Some(&ineligible), &[], at(2));
        assert_eq!((row.tab, row.checked), (Some(Tab::Ineligible), true));
        assert_eq!(row.changes_at, Some(at(20)));
        let stale = known_placement(&me, Some(&ineligible), &[], at(20));
        assert_eq!((stale.tab, stale.checked), (Some(Tab::Eligible), false));
        assert_eq!(stale.changes_at, None);
        assert!(row.holds_at(at(20) - TimeDelta::microseconds(1)));
        assert!(!row.holds_at(at(20)));
    }

    #[test]
    fn a_step_that_changes_nothing_is_not_a_change() {
        let me: PartnerId = "p1".parse().unwrap();
        let rival: PartnerId = "p2".parse().unwrap();
        // Without an answer, a rival's lapse changes nothing on the row.
        let row = known_placement(&me, None, &[(rival, live_until(5))], at(2));
        assert_eq!(row.changes_at, None);
    }
}
