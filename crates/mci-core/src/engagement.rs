//! Engagements and the rules a nomination pins (R-ENG).
//!
//! An [`Engagement`] is a program offering with an availability window and a
//! set of [`EngagementRules`]: its timelines, pay model, accepted customer ID
//! types, active-nomination limit, proof items and reminder marks. The rules
//! carry a [`RuleVersion`]; a nomination keeps a copy of the rules in force
//! when it was created, so a later change never moves its deadlines or its
//! payout (R-ENG-8).
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use mci_core::{
//!     Availability, AvailabilityWindow, Currency, Days, Engagement, EngagementKind,
//!     EngagementRules, Money, PayModel,
//! };
//!
//! let eur: Currency = "EUR".parse().unwrap();
//! let rules = EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed(Money::new(500_000, eur)))
//!     .build()
//!     .unwrap();
//! assert_eq!(rules.timelines().obtain_consent, Days::new(30));
//! assert_eq!(rules.timelines().longest_claim_life(), Days::new(150));
//!
//! let window = AvailabilityWindow::new(
//!     Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
//!     Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
//! )
//! .unwrap();
//! let workshop = Engagement::new(
//!     "data-ai-workshop".parse().unwrap(),
//!     "Data & AI workshop".parse().unwrap(),
//!     "Data & AI".parse().unwrap(),
//!     window,
//!     rules,
//! );
//! assert_eq!(workshop.availability(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()), Availability::Active);
//! ```

use crate::invalid::{InvalidValue, Problem};
use crate::time::{Days, Instant, check_instant};
use crate::{EngagementId, FriendlyName, Hours, Money, SolutionArea};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// The type of an engagement, which sets its timeline row (R-ENG-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngagementKind {
    /// An assessment.
    Assessment,
    /// A workshop (the row of the seed article).
    Workshop,
    /// An XS or small project.
    SmallProject,
    /// A medium project.
    MediumProject,
    /// A large, XL or XXL project.
    LargeProject,
}

impl EngagementKind {
    /// Every kind, in the order of the published table.
    pub const ALL: [EngagementKind; 5] = [
        EngagementKind::Assessment,
        EngagementKind::Workshop,
        EngagementKind::SmallProject,
        EngagementKind::MediumProject,
        EngagementKind::LargeProject,
    ];
}

impl fmt::Display for EngagementKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EngagementKind::Assessment => "assessment",
            EngagementKind::Workshop => "workshop",
            EngagementKind::SmallProject => "XS and small project",
            EngagementKind::MediumProject => "medium project",
            EngagementKind::LargeProject => "large, XL and XXL project",
        })
    }
}

/// The windows of a nomination, in days (R-ENG-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Timelines {
    /// From creation (add or claim) to the consent deadline (R-CONSENT-1).
    pub obtain_consent: Days,
    /// From consent to the first submission of the claim (R-CLAIM-W-1).
    pub first_submit: Days,
    /// From consent to the end of the review (R-CLAIM-W-7).
    pub review_complete: Days,
    /// From a rejection to the end of the dispute window, and the length of
    /// the fresh window a dispute opens (R-CLAIM-W-8).
    pub dispute: Days,
}

impl Timelines {
    /// The published row for `kind` (R-ENG-4).
    pub const fn for_kind(kind: EngagementKind) -> Self {
        let (first_submit, review_complete) = match kind {
            EngagementKind::Assessment => (60, 90),
            EngagementKind::Workshop => (90, 120),
            EngagementKind::SmallProject => (120, 150),
            EngagementKind::MediumProject => (200, 230),
            EngagementKind::LargeProject => (260, 290),
        };
        Self {
            obtain_consent: Days::new(30),
            first_submit: Days::new(first_submit),
            review_complete: Days::new(review_complete),
            dispute: Days::new(30),
        }
    }

    /// The longest a claim can live after consent: review complete plus
    /// dispute, derived rather than stored (R-ENG-4).
    pub const fn longest_claim_life(&self) -> Days {
        self.review_complete.plus(self.dispute)
    }

    fn validate(&self) -> Result<(), InvalidValue> {
        let windows = [
            ("timelines.obtain_consent", self.obtain_consent),
            ("timelines.first_submit", self.first_submit),
            ("timelines.review_complete", self.review_complete),
            ("timelines.dispute", self.dispute),
        ];
        for (field, days) in windows {
            if days.get() == 0 || days.get() > MAX_WINDOW_DAYS {
                return Err(out_of_range(field, days.get(), 1, MAX_WINDOW_DAYS));
            }
        }
        if self.review_complete < self.first_submit {
            return Err(InvalidValue::under(
                "R-ENG-4",
                "timelines.review_complete",
                Problem::Mismatch("review complete ends before first submit".into()),
            ));
        }
        Ok(())
    }
}

/// The longest window or reminder mark, in days: ten years. A deadline
/// derived from an instant in the accepted range then falls by 2210 at the
/// latest, and a reminder in 1960 at the earliest, both representable in
/// chrono and in every store; the rules refuse any longer window when they
/// are built or read back (R-ENG-4, R-INPUT).
const MAX_WINDOW_DAYS: u32 = 3650;

fn out_of_range(field: &str, actual: u32, min: u32, max: u32) -> InvalidValue {
    InvalidValue::under(
        "R-ENG-4",
        field,
        Problem::OutOfRange {
            min: i128::from(min),
            max: i128::from(max),
            actual: i128::from(actual),
        },
    )
}

/// Whether an engagement takes new nominations at an instant (R-ENG-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    /// Before its start.
    ComingSoon,
    /// From its start (inclusive) to its end (exclusive): the only state that
    /// accepts new nominations.
    Active,
    /// From its end on.
    Expired,
}

impl fmt::Display for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Availability::ComingSoon => "coming soon",
            Availability::Active => "active",
            Availability::Expired => "expired",
        })
    }
}

/// The instants an engagement is available between (R-ENG-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawWindow")]
pub struct AvailabilityWindow {
    starts: Instant,
    ends: Instant,
}

#[derive(Deserialize)]
struct RawWindow {
    starts: Instant,
    ends: Instant,
}

impl TryFrom<RawWindow> for AvailabilityWindow {
    type Error = InvalidValue;
    fn try_from(raw: RawWindow) -> Result<Self, InvalidValue> {
        AvailabilityWindow::new(raw.starts, raw.ends)
    }
}

impl AvailabilityWindow {
    /// A window from `starts` (inclusive) to `ends` (exclusive); `ends` must
    /// come after `starts`, and both lie in the accepted range (R-INPUT,
    /// [`check_instant`]). An engagement therefore ends by
    /// [`LATEST_INSTANT`](crate::LATEST_INSTANT) at the latest, and takes its
    /// last nomination a microsecond before.
    pub fn new(starts: Instant, ends: Instant) -> Result<Self, InvalidValue> {
        let starts = check_instant("availability.starts", starts)?;
        let ends = check_instant("availability.ends", ends)?;
        if ends <= starts {
            return Err(InvalidValue::under(
                "R-ENG-1",
                "availability.ends",
                Problem::Mismatch("the window ends before it starts".into()),
            ));
        }
        Ok(Self { starts, ends })
    }

    /// The first instant of availability.
    pub fn starts(&self) -> Instant {
        self.starts
    }

    /// The first instant after availability.
    pub fn ends(&self) -> Instant {
        self.ends
    }

    /// Availability at `now` (R-ENG-1).
    pub fn at(&self, now: Instant) -> Availability {
        if now < self.starts {
            Availability::ComingSoon
        } else if now < self.ends {
            Availability::Active
        } else {
            Availability::Expired
        }
    }
}

/// How a delivered engagement is paid (R-ENG-2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum PayModel {
    /// A fixed fee per delivered engagement.
    Fixed {
        /// The fee.
        fee: Money,
    },
    /// An hourly rate times the hours the partner declares, capped.
    Variable {
        /// The rate per hour.
        hourly_rate: Money,
        /// The most one nomination is paid.
        cap: Money,
        /// The most hours a partner may declare (R-ADD-8).
        max_hours: Hours,
    },
}

impl PayModel {
    /// A fixed-fee model.
    pub fn fixed(fee: Money) -> Self {
        PayModel::Fixed { fee }
    }

    /// A variable-pay model.
    pub fn variable(hourly_rate: Money, cap: Money, max_hours: Hours) -> Self {
        PayModel::Variable {
            hourly_rate,
            cap,
            max_hours,
        }
    }

    /// Whether this is variable pay.
    pub fn is_variable(&self) -> bool {
        matches!(self, PayModel::Variable { .. })
    }

    /// The payout for a nomination with `hours` declared: the fee, or the
    /// rate times the hours capped (R-ENG-2, R-ADD-8). `None` when variable
    /// pay is asked without hours.
    pub fn payout(&self, hours: Option<Hours>) -> Option<Money> {
        match self {
            PayModel::Fixed { fee } => Some(*fee),
            PayModel::Variable {
                hourly_rate, cap, ..
            } => {
                let hours = hours?;
                // The rate times hours can only overflow i64 far above any cap;
                // the cap then applies.
                Some(
                    hourly_rate
                        .checked_mul(hours.get())
                        .ok()
                        .and_then(|amount| amount.min(*cap).ok())
                        .unwrap_or(*cap),
                )
            }
        }
    }

    fn validate(&self) -> Result<(), InvalidValue> {
        let positive = |field: &str, money: &Money| {
            if money.is_positive() {
                Ok(())
            } else {
                Err(InvalidValue::under(
                    "R-ENG-2",
                    field,
                    Problem::OutOfRange {
                        min: 1,
                        max: i128::from(i64::MAX),
                        actual: i128::from(money.minor()),
                    },
                ))
            }
        };
        match self {
            PayModel::Fixed { fee } => positive("pay.fee", fee),
            PayModel::Variable {
                hourly_rate, cap, ..
            } => {
                positive("pay.hourly_rate", hourly_rate)?;
                positive("pay.cap", cap)?;
                if hourly_rate.currency() != cap.currency() {
                    return Err(InvalidValue::under(
                        "R-ENG-2",
                        "pay.cap",
                        Problem::Mismatch(
                            "the cap and the rate are in different currencies".into(),
                        ),
                    ));
                }
                Ok(())
            }
        }
    }
}

/// The kinds of customer identifier an engagement may accept (R-ENG-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerIdType {
    /// The customer's email domain, resolved to a tenant (R-ADD-3).
    Domain,
    /// A tenant id.
    TenantId,
    /// A top parent id.
    Tpid,
    /// An Azure subscription id.
    AzureSubscriptionId,
    /// An MSX opportunity id (variable pay only).
    MsxOpportunityId,
}

impl CustomerIdType {
    /// The types a fixed-pay engagement may accept.
    pub const FIXED_PAY: [CustomerIdType; 4] = [
        CustomerIdType::Domain,
        CustomerIdType::TenantId,
        CustomerIdType::Tpid,
        CustomerIdType::AzureSubscriptionId,
    ];
}

impl fmt::Display for CustomerIdType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CustomerIdType::Domain => "domain",
            CustomerIdType::TenantId => "tenant id",
            CustomerIdType::Tpid => "TPID",
            CustomerIdType::AzureSubscriptionId => "Azure subscription id",
            CustomerIdType::MsxOpportunityId => "MSX opportunity id",
        })
    }
}

/// An item of proof of execution (R-CLAIM-W-2, R-ENG-6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProofItem {
    /// The proof-of-execution document: discovery and recommendations.
    ProofOfExecution,
    /// The invoice to the customer.
    Invoice,
    /// The partner survey.
    PartnerSurvey,
    /// The customer survey.
    CustomerSurvey,
}

impl fmt::Display for ProofItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProofItem::ProofOfExecution => "proof of execution (discovery and recommendations)",
            ProofItem::Invoice => "invoice",
            ProofItem::PartnerSurvey => "partner survey",
            ProofItem::CustomerSurvey => "customer survey",
        })
    }
}

/// Whether a proof item must be present before submission (R-CLAIM-W-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Need {
    /// Submission is refused without it.
    Required,
    /// Shown to the partner, but not needed to submit.
    IfApplicable,
}

/// One proof item and whether it is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProofRequirement {
    /// The item.
    pub item: ProofItem,
    /// Required or "if applicable".
    pub need: Need,
}

/// The version of an engagement's rules (R-ENG-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RuleVersion(u32);

impl RuleVersion {
    /// Version `n`.
    pub const fn new(n: u32) -> Self {
        Self(n)
    }

    /// The number.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for RuleVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// The versioned rules of an engagement: what a nomination pins when it is
/// created (R-ENG-8). Build them with [`EngagementRules::builder`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawRules")]
pub struct EngagementRules {
    version: RuleVersion,
    kind: EngagementKind,
    timelines: Timelines,
    pay: PayModel,
    accepted_id_types: BTreeSet<CustomerIdType>,
    active_nomination_limit: u32,
    proof: Vec<ProofRequirement>,
    reminders: Vec<Days>,
}

#[derive(Deserialize)]
struct RawRules {
    version: RuleVersion,
    kind: EngagementKind,
    timelines: Timelines,
    pay: PayModel,
    accepted_id_types: BTreeSet<CustomerIdType>,
    active_nomination_limit: u32,
    proof: Vec<ProofRequirement>,
    reminders: Vec<Days>,
}

impl TryFrom<RawRules> for EngagementRules {
    type Error = InvalidValue;
    fn try_from(raw: RawRules) -> Result<Self, InvalidValue> {
        let rules = EngagementRules {
            version: raw.version,
            kind: raw.kind,
            timelines: raw.timelines,
            pay: raw.pay,
            accepted_id_types: raw.accepted_id_types,
            active_nomination_limit: raw.active_nomination_limit,
            proof: raw.proof,
            reminders: raw.reminders,
        };
        rules.validate()?;
        Ok(rules)
    }
}

impl EngagementRules {
    /// Rules for `kind` paid by `pay`, with the published defaults: the
    /// kind's timeline row, every ID type the pay model allows, a limit of 1
    /// active nomination per customer, the four proof items required, and
    /// reminders 7 days and 1 day before a deadline.
    pub fn builder(kind: EngagementKind, pay: PayModel) -> RulesBuilder {
        let accepted_id_types = if pay.is_variable() {
            BTreeSet::from([CustomerIdType::MsxOpportunityId])
        } else {
            CustomerIdType::FIXED_PAY.into_iter().collect()
        };
        RulesBuilder {
            rules: EngagementRules {
                version: RuleVersion::new(1),
                kind,
                timelines: Timelines::for_kind(kind),
                pay,
                accepted_id_types,
                active_nomination_limit: 1,
                proof: [
                    ProofItem::ProofOfExecution,
                    ProofItem::PartnerSurvey,
                    ProofItem::CustomerSurvey,
                    ProofItem::Invoice,
                ]
                .into_iter()
                .map(|item| ProofRequirement {
                    item,
                    need: Need::Required,
                })
                .collect(),
                reminders: vec![Days::new(7), Days::new(1)],
            },
        }
    }

    /// The version of these rules.
    pub fn version(&self) -> RuleVersion {
        self.version
    }

    /// The engagement type.
    pub fn kind(&self) -> EngagementKind {
        self.kind
    }

    /// The windows (R-ENG-4).
    pub fn timelines(&self) -> &Timelines {
        &self.timelines
    }

    /// The pay model (R-ENG-2).
    pub fn pay(&self) -> &PayModel {
        &self.pay
    }

    /// The customer ID types accepted (R-ENG-3).
    pub fn accepted_id_types(&self) -> &BTreeSet<CustomerIdType> {
        &self.accepted_id_types
    }

    /// Whether `id_type` is accepted (R-ENG-3).
    pub fn accepts(&self, id_type: CustomerIdType) -> bool {
        self.accepted_id_types.contains(&id_type)
    }

    /// The most live nominations one customer may have for the engagement,
    /// across all partners (R-ENG-5).
    pub fn active_nomination_limit(&self) -> u32 {
        self.active_nomination_limit
    }

    /// The proof items and whether each is required (R-ENG-6).
    pub fn proof(&self) -> &[ProofRequirement] {
        &self.proof
    }

    /// The required proof items, in the order declared.
    pub fn required_proof(&self) -> impl Iterator<Item = ProofItem> + '_ {
        self.proof
            .iter()
            .filter(|p| p.need == Need::Required)
            .map(|p| p.item)
    }

    /// How long before a deadline the partner is reminded, longest first
    /// (R-REC-6).
    pub fn reminders(&self) -> &[Days] {
        &self.reminders
    }

    fn validate(&self) -> Result<(), InvalidValue> {
        self.timelines.validate()?;
        self.pay.validate()?;
        let eng3 = |problem: &str| {
            InvalidValue::under(
                "R-ENG-3",
                "accepted_id_types",
                Problem::Mismatch(problem.into()),
            )
        };
        if self.accepted_id_types.is_empty() {
            return Err(InvalidValue::under(
                "R-ENG-3",
                "accepted_id_types",
                Problem::Empty,
            ));
        }
        if self.pay.is_variable() {
            if self
                .accepted_id_types
                .iter()
                .any(|t| *t != CustomerIdType::MsxOpportunityId)
            {
                return Err(eng3("variable pay accepts only MSX opportunity ids"));
            }
        } else if self
            .accepted_id_types
            .contains(&CustomerIdType::MsxOpportunityId)
        {
            return Err(eng3("MSX opportunity ids are for variable pay only"));
        }
        if self.active_nomination_limit == 0 || self.active_nomination_limit > 1000 {
            return Err(InvalidValue::under(
                "R-ENG-5",
                "active_nomination_limit",
                Problem::OutOfRange {
                    min: 1,
                    max: 1000,
                    actual: i128::from(self.active_nomination_limit),
                },
            ));
        }
        let distinct: BTreeSet<ProofItem> = self.proof.iter().map(|p| p.item).collect();
        if distinct.len() != self.proof.len() {
            return Err(InvalidValue::under(
                "R-ENG-6",
                "proof",
                Problem::Mismatch("a proof item is listed twice".into()),
            ));
        }
        for days in &self.reminders {
            if days.get() == 0 || days.get() > MAX_WINDOW_DAYS {
                return Err(InvalidValue::under(
                    "R-REC-6",
                    "reminders",
                    Problem::OutOfRange {
                        min: 1,
                        max: i128::from(MAX_WINDOW_DAYS),
                        actual: i128::from(days.get()),
                    },
                ));
            }
        }
        Ok(())
    }
}

/// Builds [`EngagementRules`], starting from the published defaults.
#[derive(Debug, Clone)]
#[must_use]
pub struct RulesBuilder {
    rules: EngagementRules,
}

impl RulesBuilder {
    /// The version number of these rules (default 1).
    pub fn version(mut self, version: RuleVersion) -> Self {
        self.rules.version = version;
        self
    }

    /// Windows other than the kind's published row.
    pub fn timelines(mut self, timelines: Timelines) -> Self {
        self.rules.timelines = timelines;
        self
    }

    /// The accepted customer ID types (R-ENG-3).
    pub fn accepted_id_types(mut self, types: impl IntoIterator<Item = CustomerIdType>) -> Self {
        self.rules.accepted_id_types = types.into_iter().collect();
        self
    }

    /// The per-customer limit of live nominations across partners (R-ENG-5).
    pub fn active_nomination_limit(mut self, limit: u32) -> Self {
        self.rules.active_nomination_limit = limit;
        self
    }

    /// The proof items (R-ENG-6).
    pub fn proof(mut self, proof: impl IntoIterator<Item = ProofRequirement>) -> Self {
        self.rules.proof = proof.into_iter().collect();
        self
    }

    /// How long before each deadline the partner is reminded (R-REC-6).
    pub fn reminders(mut self, reminders: impl IntoIterator<Item = Days>) -> Self {
        let mut reminders: Vec<Days> = reminders.into_iter().collect();
        reminders.sort_unstable_by(|a, b| b.cmp(a));
        reminders.dedup();
        self.rules.reminders = reminders;
        self
    }

    /// The rules, or the first field that breaks a rule of R-ENG.
    pub fn build(self) -> Result<EngagementRules, InvalidValue> {
        self.rules.validate()?;
        Ok(self.rules)
    }
}

/// An engagement: the offering the Customers page exists for (R-ENG).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engagement {
    id: EngagementId,
    name: FriendlyName,
    solution_area: SolutionArea,
    window: AvailabilityWindow,
    rules: EngagementRules,
}

impl Engagement {
    /// An engagement with its current rules.
    pub fn new(
        id: EngagementId,
        name: FriendlyName,
        solution_area: SolutionArea,
        window: AvailabilityWindow,
        rules: EngagementRules,
    ) -> Self {
        Self {
            id,
            name,
            solution_area,
            window,
            rules,
        }
    }

    /// Its id.
    pub fn id(&self) -> &EngagementId {
        &self.id
    }

    /// Its display name.
    pub fn name(&self) -> &FriendlyName {
        &self.name
    }

    /// The solution area it is listed under (R-ENG-7).
    pub fn solution_area(&self) -> &SolutionArea {
        &self.solution_area
    }

    /// Its availability window.
    pub fn window(&self) -> &AvailabilityWindow {
        &self.window
    }

    /// Availability at `now` (R-ENG-1).
    pub fn availability(&self, now: Instant) -> Availability {
        self.window.at(now)
    }

    /// The rules in force now; new nominations pin a copy (R-ENG-8).
    pub fn rules(&self) -> &EngagementRules {
        &self.rules
    }

    /// The same engagement under new rules. Existing nominations keep the
    /// rules they pinned (R-ENG-8).
    #[must_use]
    pub fn with_rules(mut self, rules: EngagementRules) -> Self {
        self.rules = rules;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Currency;
    use chrono::TimeZone;
    use chrono::Utc;

    fn eur(minor: i64) -> Money {
        Money::new(minor, "EUR".parse::<Currency>().unwrap())
    }

    #[test]
    fn r_eng_4_every_published_row() {
        let rows = [
            (EngagementKind::Assessment, 30, 60, 90, 30, 120),
            (EngagementKind::Workshop, 30, 90, 120, 30, 150),
            (EngagementKind::SmallProject, 30, 120, 150, 30, 180),
            (EngagementKind::MediumProject, 30, 200, 230, 30, 260),
            (EngagementKind::LargeProject, 30, 260, 290, 30, 320),
        ];
        for (kind, consent, submit, review, dispute, longest) in rows {
            let t = Timelines::for_kind(kind);
            assert_eq!(t.obtain_consent.get(), consent, "{kind}");
            assert_eq!(t.first_submit.get(), submit, "{kind}");
            assert_eq!(t.review_complete.get(), review, "{kind}");
            assert_eq!(t.dispute.get(), dispute, "{kind}");
            // Derived, so it cannot disagree with its own columns (the
            // published table says 310 for large projects).
            assert_eq!(t.longest_claim_life().get(), longest, "{kind}");
        }
    }

    #[test]
    fn r_eng_1_availability_from_the_window() {
        let starts = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let ends = Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap();
        let window = AvailabilityWindow::new(starts, ends).unwrap();
        assert_eq!(
            window.at(starts - chrono::TimeDelta::seconds(1)),
            Availability::ComingSoon
        );
        assert_eq!(window.at(starts), Availability::Active);
        assert_eq!(
            window.at(ends - chrono::TimeDelta::seconds(1)),
            Availability::Active
        );
        assert_eq!(window.at(ends), Availability::Expired);
        assert!(AvailabilityWindow::new(ends, starts).is_err());
    }

    #[test]
    fn r_eng_3_variable_pay_accepts_only_msx_opportunity_ids() {
        let variable = PayModel::variable(eur(10_000), eur(1_000_000), Hours::new(200).unwrap());
        let rules = EngagementRules::builder(EngagementKind::MediumProject, variable.clone())
            .build()
            .unwrap();
        assert_eq!(
            rules
                .accepted_id_types()
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            vec![CustomerIdType::MsxOpportunityId]
        );
        let err = EngagementRules::builder(EngagementKind::MediumProject, variable)
            .accepted_id_types([CustomerIdType::TenantId])
            .build()
            .unwrap_err();
        assert_eq!(err.rule(), "R-ENG-3");
        assert_eq!(err.field(), "accepted_id_types");
    }

    #[test]
    fn r_eng_3_fixed_pay_refuses_msx_opportunity_ids() {
        let err = EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed(eur(100)))
            .accepted_id_types([CustomerIdType::MsxOpportunityId])
            .build()
            .unwrap_err();
        assert_eq!(err.rule(), "R-ENG-3");
    }

    #[test]
    fn r_eng_2_variable_payout_is_rate_times_hours_capped() {
        let pay = PayModel::variable(eur(10_000), eur(500_000), Hours::new(100).unwrap());
        assert_eq!(
            pay.payout(Some(Hours::new(20).unwrap())),
            Some(eur(200_000))
        );
        assert_eq!(
            pay.payout(Some(Hours::new(80).unwrap())),
            Some(eur(500_000))
        );
        assert_eq!(pay.payout(None), None);
        assert_eq!(PayModel::fixed(eur(42)).payout(None), Some(eur(42)));
    }

    #[test]
    fn r_eng_2_fees_must_be_positive() {
        let err = EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed(eur(0)))
            .build()
            .unwrap_err();
        assert_eq!(err.field(), "pay.fee");
    }

    #[test]
    fn r_eng_5_and_r_eng_6_defaults() {
        let rules = EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed(eur(1)))
            .build()
            .unwrap();
        assert_eq!(rules.active_nomination_limit(), 1);
        assert_eq!(
            rules.required_proof().collect::<Vec<_>>(),
            vec![
                ProofItem::ProofOfExecution,
                ProofItem::PartnerSurvey,
                ProofItem::CustomerSurvey,
                ProofItem::Invoice
            ]
        );
        assert_eq!(rules.reminders(), &[Days::new(7), Days::new(1)]);
        let err = EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed(eur(1)))
            .active_nomination_limit(0)
            .build()
            .unwrap_err();
        assert_eq!(err.rule(), "R-ENG-5");
    }

    #[test]
    fn r_eng_8_rules_round_trip_through_serde_and_stay_validated() {
        let rules = EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed(eur(1)))
            .version(RuleVersion::new(3))
            .build()
            .unwrap();
        let json = serde_json::to_string(&rules).unwrap();
        assert_eq!(
            serde_json::from_str::<EngagementRules>(&json).unwrap(),
            rules
        );
        let broken = json.replace(
            "\"active_nomination_limit\":1",
            "\"active_nomination_limit\":0",
        );
        assert!(serde_json::from_str::<EngagementRules>(&broken).is_err());
    }
}
