//! The engagements overview and the Customers page of an engagement
//! (R-ENG-7, R-PAGE).

use crate::call::Call;
use crate::error::Result;
use crate::observability::{self, call_span, traced};
use crate::service::Incentives;
use mci_core::{
    Availability, CustomerId, Deadline, DeadlineKind, Engagement, EngagementId, FriendlyName,
    Instant, InvalidValue, KnownCustomerRow, LocationId, LocationStanding, NominationId, PageRow,
    PartnerUser, Problem, SolutionArea, State, Tab,
};
use mci_store::{KnownQuery, PageQuery, StateQuery};

/// Where the next page of a tab starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageCursor {
    /// After this nomination.
    Nomination(NominationId),
    /// Among the known customers, after this one (`None`: from the first).
    KnownCustomer(Option<CustomerId>),
}

/// One row of the Customers page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerRow {
    /// A nomination of the partner (R-PAGE-2, -3, -5).
    Nomination(PageRow),
    /// A known customer not nominated for this engagement: claimable, or
    /// ineligible with its reasons (R-PAGE-2, -4).
    Known(KnownCustomerRow),
}

/// How many rows each tab holds (R-PAGE-1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageCounts {
    /// Eligible: live nominations and claimable known customers, checked
    /// or not.
    pub eligible: u64,
    /// Of the Eligible known customers, those with no trusted answer of the
    /// eligibility source yet: "eligibility not checked yet" (R-PAGE-9).
    pub not_checked: u64,
    /// Ineligible: known customers that cannot be nominated, and the
    /// partner's nominations that lost their customer to another partner
    /// (R-CONSENT-10).
    pub ineligible: u64,
    /// Complete: nominations in a terminal state after consent.
    pub complete: u64,
}

/// One page of one tab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomersPage {
    /// The tab.
    pub tab: Tab,
    /// The rows, nominations first, then known customers.
    pub rows: Vec<CustomerRow>,
    /// Where the next page starts, `None` on the last page.
    pub next: Option<PageCursor>,
    /// The count of every tab.
    pub counts: PageCounts,
    /// When the oldest answer of the eligibility source behind the known
    /// customers' rows and counts was given; `None` when none stands
    /// behind them (R-PAGE-9). The sweep asks again as answers age.
    pub answers_since: Option<Instant>,
    /// Nominations of this page whose stored rows cannot be read back:
    /// passed over, so the page is short by that many; they need an
    /// operator.
    pub unreadable: Vec<NominationId>,
}

/// One engagement in the overview (R-ENG-7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngagementSummary {
    /// The engagement.
    pub engagement: EngagementId,
    /// Its name.
    pub name: FriendlyName,
    /// Its solution area.
    pub solution_area: SolutionArea,
    /// Coming soon, active or expired.
    pub availability: Availability,
    /// How many of the partner's enrolled locations are eligible.
    pub eligible_locations: usize,
    /// How many of the partner's locations are enrolled.
    pub enrolled_locations: usize,
    /// The partner's live nominations for it (its Eligible tab).
    pub active_customers: u64,
}

/// Filters of the overview (R-ENG-7).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OverviewFilter {
    /// Only engagements this location is eligible for.
    pub location: Option<LocationId>,
    /// Only engagements in this availability.
    pub availability: Option<Availability>,
    /// Only this solution area.
    pub solution_area: Option<SolutionArea>,
}

/// Something due for the partner (R-ENG-7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionNeeded {
    /// The nomination.
    pub nomination: NominationId,
    /// Its engagement.
    pub engagement: EngagementId,
    /// Its friendly name.
    pub friendly_name: FriendlyName,
    /// What is due.
    pub due: Due,
}

/// What is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// The consent lapses at this deadline.
    ConsentLapsing(Deadline),
    /// The claim lapses at this deadline.
    ClaimLapsing(Deadline),
    /// The reviewer asked for more information.
    ReviewerWaiting,
}

/// The engagements overview of a partner (R-ENG-7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overview {
    /// The engagements, by solution area then id.
    pub engagements: Vec<EngagementSummary>,
    /// What is due soon, soonest first; then the reviewer's requests.
    pub action_needed: Vec<ActionNeeded>,
}

impl Incentives {
    /// One page of a tab of an engagement's Customers page at the clock's
    /// now: rows with Type, days left and actions, and every tab's count
    /// (R-PAGE). Nominations come first in id order, then the known
    /// customers in customer order; pages are keyset, not offsets.
    ///
    /// A page costs the same for every partner (R-PAGE-9): it is two index
    /// walks of the store and the figures the store keeps, and it asks no
    /// port. Known customers show as the answers the store keeps of the
    /// eligibility source place them, which the sweep refreshes
    /// ([`Settings::eligibility_refresh`](crate::Settings)); one without
    /// a trusted answer shows on Eligible, not checked. An engagement that
    /// takes no nominations now (coming soon or expired, R-ENG-1) lists no
    /// known customers: none can be claimed for it.
    pub async fn customers_page(
        &self,
        call: impl Into<Call<PartnerUser>>,
        engagement: &EngagementId,
        tab: Tab,
        cursor: Option<PageCursor>,
        limit: usize,
    ) -> Result<CustomersPage> {
        traced("customers_page", call_span!("customers_page"), async move {
            let call = call.into();
            observability::partner(call.actor().partner());
            let user = call.actor().clone().authorize()?;
            // Shared with the catalog: a page copies no rules.
            let engagement = self.shared_engagement(engagement)?;
            let now = self.now()?;
            let limit = limit.max(1);
            let knows =
                tab != Tab::Complete && engagement.availability(now) == Availability::Active;
            self.seed_step(engagement.id(), now).await?;
            let mut rows = Vec::new();
            let mut next = None;
            let mut unreadable = Vec::new();
            let known_from = match cursor {
                Some(PageCursor::KnownCustomer(after)) => Some(after),
                cursor => {
                    let after = match cursor {
                        Some(PageCursor::Nomination(id)) => Some(id),
                        _ => None,
                    };
                    let page = self
                        .store
                        .page(&PageQuery {
                            partner: user.partner().clone(),
                            engagement: engagement.id().clone(),
                            tab,
                            now,
                            after,
                            limit,
                        })
                        .await?;
                    unreadable.extend(page.unreadable.iter().map(|u| u.id));
                    rows.extend(
                        page.rows
                            .iter()
                            .filter_map(|n| n.page_row(now))
                            .map(CustomerRow::Nomination),
                    );
                    match page.next {
                        Some(id) => {
                            next = Some(PageCursor::Nomination(id));
                            None
                        }
                        None => Some(None),
                    }
                }
            };
            if knows
                && let Some(after) = known_from
                && rows.len() < limit
            {
                let page = self
                    .store
                    .known_page(&KnownQuery {
                        partner: user.partner().clone(),
                        engagement: engagement.id().clone(),
                        tab,
                        now,
                        after,
                        limit: limit - rows.len(),
                    })
                    .await?;
                rows.extend(
                    page.rows
                        .into_iter()
                        .filter_map(|entry| KnownCustomerRow::placed(entry.known, &entry.placement))
                        .map(CustomerRow::Known),
                );
                next = page.next.map(|c| PageCursor::KnownCustomer(Some(c)));
            } else if knows && known_from.is_some() {
                // The page is full of nominations and the known customers are
                // still to come.
                next = Some(PageCursor::KnownCustomer(None));
            }
            let (counts, answers_since) = self.page_counts(&user, &engagement, now).await?;
            Ok(CustomersPage {
                tab,
                rows,
                next,
                counts,
                answers_since,
                unreadable,
            })
        })
        .await
    }

    /// Every tab's count, from the figures the store keeps (R-PAGE-9), and
    /// the instant of the oldest answer behind them.
    async fn page_counts(
        &self,
        user: &PartnerUser,
        engagement: &Engagement,
        now: Instant,
    ) -> Result<(PageCounts, Option<Instant>)> {
        let stored = self
            .store
            .count(user.partner(), engagement.id(), now)
            .await?;
        let mut counts = PageCounts {
            eligible: stored.eligible,
            not_checked: 0,
            ineligible: stored.ineligible,
            complete: stored.complete,
        };
        if engagement.availability(now) != Availability::Active {
            return Ok((counts, None));
        }
        let known = self
            .store
            .known_counts(user.partner(), engagement.id(), now)
            .await?;
        counts.eligible += known.eligible;
        counts.not_checked = known.not_checked;
        counts.ineligible += known.ineligible;
        Ok((counts, known.oldest_answer))
    }

    /// The engagements overview: each engagement with its availability, how
    /// many of the partner's enrolled locations are eligible, and its live
    /// nominations; and what needs action soon (R-ENG-7).
    pub async fn overview(
        &self,
        call: impl Into<Call<PartnerUser>>,
        filter: &OverviewFilter,
    ) -> Result<Overview> {
        traced("overview", call_span!("overview"), async move {
            let call = call.into();
            observability::partner(call.actor().partner());
            let user = call.actor().clone().authorize()?;
            let now = self.now()?;
            let locations = self.partners.locations(user.partner()).await?;
            let enrolled: Vec<&LocationId> = locations
                .iter()
                .filter(|(_, e)| *e)
                .map(|(l, _)| l)
                .collect();
            let mut engagements = Vec::new();
            for engagement in self.engagements() {
                let availability = engagement.availability(now);
                if filter.availability.is_some_and(|a| a != availability)
                    || filter
                        .solution_area
                        .as_ref()
                        .is_some_and(|a| a != engagement.solution_area())
                {
                    continue;
                }
                let mut eligible_locations = 0;
                let mut location_matches = filter.location.is_none();
                for location in &enrolled {
                    let standing = self
                        .partners
                        .location_standing(user.partner(), location, engagement.id())
                        .await?;
                    if standing == LocationStanding::Eligible {
                        eligible_locations += 1;
                        location_matches |= filter.location.as_ref() == Some(*location);
                    }
                }
                if !location_matches {
                    continue;
                }
                let counts = self
                    .store
                    .count(user.partner(), engagement.id(), now)
                    .await?;
                engagements.push(EngagementSummary {
                    engagement: engagement.id().clone(),
                    name: engagement.name().clone(),
                    solution_area: engagement.solution_area().clone(),
                    availability,
                    eligible_locations,
                    enrolled_locations: enrolled.len(),
                    active_customers: counts.eligible,
                });
            }
            engagements.sort_by(|a, b| {
                a.solution_area
                    .cmp(&b.solution_area)
                    .then_with(|| a.engagement.cmp(&b.engagement))
            });
            let horizon = self
                .settings
                .action_horizon
                .checked_after(now)
                .ok_or_else(|| InvalidValue::new("action_horizon", Problem::Overflow))?;
            let mut action_needed = Vec::new();
            for n in self
                .store
                .lapsing(user.partner(), now, horizon, 200)
                .await?
            {
                let Some(deadline) = n.deadline() else {
                    continue;
                };
                // A nomination that lost its customer to another partner can no
                // longer obtain the consent whose deadline comes: nothing is due
                // but to cancel it or let it end (R-CONSENT-10).
                if n.lost_at().is_some() {
                    continue;
                }
                let due = if deadline.kind == DeadlineKind::ObtainConsent {
                    Due::ConsentLapsing(deadline)
                } else {
                    Due::ClaimLapsing(deadline)
                };
                action_needed.push(ActionNeeded {
                    nomination: *n.id(),
                    engagement: n.engagement().clone(),
                    friendly_name: n.friendly_name().clone(),
                    due,
                });
            }
            let waiting = self
                .store
                .by_state(&StateQuery {
                    states: vec![State::PartnerActionRequired],
                    partner: Some(user.partner().clone()),
                    now,
                    after: None,
                    limit: 200,
                })
                .await?;
            for n in waiting.rows {
                action_needed.push(ActionNeeded {
                    nomination: *n.id(),
                    engagement: n.engagement().clone(),
                    friendly_name: n.friendly_name().clone(),
                    due: Due::ReviewerWaiting,
                });
            }
            Ok(Overview {
                engagements,
                action_needed,
            })
        })
        .await
    }
}
