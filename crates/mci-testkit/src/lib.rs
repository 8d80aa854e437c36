//! Fixtures and a given/when/then helper for the tests and documentation
//! examples of the mci crates.
//!
//! Everything here builds from constants, so a failure to build a fixture is
//! a broken fixture: these functions panic rather than return errors, as test
//! code does.
//!
//! ```
//! use mci_testkit::*;
//! use mci_core::State;
//!
//! let s = Scenario::added()
//!     .then(|n, now| n.send_consent(now, &admin(), Default::default(), &link(1)))
//!     .wait_days(29)
//!     .then_step(|n, now| n.accept_consent(now, &token(1)));
//! assert_eq!(s.state(), State::Consented);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{TimeDelta, TimeZone, Utc};
use mci_core::*;

/// The instant scenarios start at: 2026-03-02 09:00 UTC.
pub fn t0() -> Instant {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

/// `minor` cents of euro.
pub fn eur(minor: i64) -> Money {
    Money::new(minor, "EUR".parse().unwrap())
}

/// A partner id, `p1` for partner 1.
pub fn partner(n: u32) -> PartnerId {
    format!("p{n}").parse().unwrap()
}

/// An Incentives admin of partner 1.
pub fn admin() -> PartnerUser {
    admin_of(1)
}

/// An Incentives admin of partner `n`.
pub fn admin_of(n: u32) -> PartnerUser {
    PartnerUser::new(
        partner(n),
        format!("admin{n}").parse().unwrap(),
        Role::IncentivesAdmin,
    )
}

/// An Incentives user (not admin) of partner 1: may act too (R-ROLE-1).
pub fn incentives_user() -> PartnerUser {
    PartnerUser::new(partner(1), "user1".parse().unwrap(), Role::IncentivesUser)
}

/// A user of partner 1 whose role may not act for the partner (R-ROLE-1).
pub fn account_admin() -> PartnerUser {
    PartnerUser::new(
        partner(1),
        "owner1".parse().unwrap(),
        Role::Other("Account admin".into()),
    )
}

/// A reviewer.
pub fn reviewer() -> ReviewerId {
    "reviewer-1".parse().unwrap()
}

/// A link token made of the byte `n`.
pub fn token(n: u8) -> LinkToken {
    LinkToken::from_bytes([n; 32])
}

/// The id of link `n`, made of the byte `n`.
pub fn link_id(n: u8) -> LinkId {
    LinkId::from_bytes([n; 16])
}

/// Link `n` about to be sent: [`link_id`]`(n)`, whose token is
/// [`token`]`(n)`.
pub fn link(n: u8) -> FreshLink {
    FreshLink::new(link_id(n), &token(n))
}

/// A comment.
pub fn comment(text: &str) -> Comment {
    text.parse().unwrap()
}

/// A document reference for proof.
pub fn document(name: &str) -> DocumentRef {
    DocumentRef::new(
        name.parse().unwrap(),
        "application/pdf".parse().unwrap(),
        48_213,
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
            .parse()
            .unwrap(),
    )
    .unwrap()
}

/// The tenant of `contoso.example`.
pub fn contoso_tenant() -> TenantId {
    "0b7d3f6e-1c2a-4e5f-8a9b-0c1d2e3f4a5b".parse().unwrap()
}

/// An engagement active from 30 days before [`t0`] for a year, of `kind`,
/// paid a fixed 7,500.00 EUR, with `limit` live nominations per customer.
pub fn engagement(id: &str, kind: EngagementKind, limit: u32) -> Engagement {
    Engagement::new(
        id.parse().unwrap(),
        format!("{kind} {id}").parse().unwrap(),
        "Data & AI".parse().unwrap(),
        AvailabilityWindow::new(t0() - TimeDelta::days(30), t0() + TimeDelta::days(335)).unwrap(),
        EngagementRules::builder(kind, PayModel::fixed(eur(750_000)))
            .active_nomination_limit(limit)
            .build()
            .unwrap(),
    )
}

/// An engagement like [`engagement`], under `rules`.
pub fn engagement_with_rules(id: &str, rules: EngagementRules) -> Engagement {
    Engagement::new(
        id.parse().unwrap(),
        format!("{} {id}", rules.kind()).parse().unwrap(),
        "Data & AI".parse().unwrap(),
        AvailabilityWindow::new(t0() - TimeDelta::days(30), t0() + TimeDelta::days(335)).unwrap(),
        rules,
    )
}

/// An assessment engagement (60 days to first submit, 90 to complete the
/// review, R-ENG-4), paid like the workshop.
pub fn assessment() -> Engagement {
    engagement("ai-assessment", EngagementKind::Assessment, 1)
}

/// The workshop engagement and the instant [`t0`].
pub fn workshop() -> (Engagement, Instant) {
    (engagement("ai-workshop", EngagementKind::Workshop, 1), t0())
}

/// A variable-pay medium project: 150.00 EUR an hour, capped at
/// 30,000.00 EUR, at most 400 hours.
pub fn variable_project() -> Engagement {
    Engagement::new(
        "migration-project".parse().unwrap(),
        "Migration project".parse().unwrap(),
        "Infrastructure".parse().unwrap(),
        AvailabilityWindow::new(t0() - TimeDelta::days(30), t0() + TimeDelta::days(335)).unwrap(),
        EngagementRules::builder(
            EngagementKind::MediumProject,
            PayModel::variable(eur(15_000), eur(3_000_000), Hours::new(400).unwrap()),
        )
        .build()
        .unwrap(),
    )
}

/// The customer Contoso, identified by its email domain.
pub fn contoso() -> Customer {
    identify_customer(
        CustomerIdInput::EmailOnly,
        "cio@contoso.example".parse().unwrap(),
        None,
        DirectoryFinding::TenantOfDomain(Some(contoso_tenant())),
    )
    .unwrap()
}

/// One contact.
pub fn contacts(name: &str, email: &str) -> Contacts {
    Contacts::one(name.parse().unwrap(), email.parse().unwrap())
}

/// A request to add Contoso from location 1234567.
pub fn nomination_request() -> NominationRequest {
    NominationRequest {
        friendly_name: "Contoso AI readiness".parse().unwrap(),
        location: "1234567".parse().unwrap(),
        customer: contoso(),
        customer_contacts: contacts("Carla Cio", "cio@contoso.example"),
        partner_contacts: contacts("Ada Admin", "ada@partner.example"),
        hours: None,
        origin: Origin::Added,
    }
}

/// Facts under which the customer is eligible.
pub fn eligible_facts() -> EligibilityFacts {
    EligibilityFacts {
        location: LocationStanding::Eligible,
        customer: CustomerStanding::Eligible,
        competitors: Vec::new(),
    }
}

/// Distinct, increasing UUID v7 nomination ids.
pub fn nomination_ids() -> impl Iterator<Item = NominationId> {
    (1u64..).map(nomination_id)
}

/// The `n`th fixture nomination id.
pub fn nomination_id(n: u64) -> NominationId {
    let millis = 1_770_000_000_000 + n;
    let uuid = uuid::Builder::from_unix_timestamp_millis(millis, &[n as u8; 10]).into_uuid();
    NominationId::from_uuid(uuid).unwrap()
}

/// The `n`th fixture payout batch id.
pub fn batch_id(n: u64) -> PayoutBatchId {
    PayoutBatchId::from_uuid(nomination_id(1_000 + n).as_uuid()).unwrap()
}

/// The hash of `nomination`'s last event, as a reviewer's decision cites
/// it (R-LIST-4).
pub fn seen(nomination: &Nomination) -> Sha256Digest {
    nomination
        .head()
        .expect("a nomination the core made has a head")
        .hash
}

/// A workshop nomination of Contoso by partner 1, added at [`t0`].
pub fn fresh_nomination() -> (Nomination, Instant) {
    let s = Scenario::added();
    (s.nomination, s.now)
}

/// The same, consent sent with [`token`]`(1)` and accepted a day later.
pub fn consented_nomination() -> (Nomination, Instant) {
    let s = Scenario::consented();
    (s.nomination, s.now)
}

/// The same, with every proof item provided and submitted.
pub fn submitted_nomination() -> (Nomination, Instant) {
    let s = Scenario::submitted();
    (s.nomination, s.now)
}

/// A nomination moving through time: given a starting point, when commands
/// are applied, then its state, events and messages are asserted.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The nomination as it stands.
    pub nomination: Nomination,
    /// The instant of the next command.
    pub now: Instant,
    /// Every event so far, in order.
    pub events: Vec<Event>,
    /// Every message queued so far, in order.
    pub messages: Vec<Message>,
    /// The partner user who added the nomination; the partner-side steps
    /// of the scenario act as this user.
    pub user: PartnerUser,
}

impl Scenario {
    /// Given a workshop nomination added at [`t0`].
    pub fn added() -> Self {
        Self::added_to(&workshop().0)
    }

    /// Given a nomination of Contoso added to `engagement` at [`t0`].
    pub fn added_to(engagement: &Engagement) -> Self {
        Self::added_by(&admin(), engagement, nomination_id(1))
    }

    /// Given a nomination of Contoso added to `engagement` at [`t0`] by
    /// `user`, with the id `id`.
    pub fn added_by(user: &PartnerUser, engagement: &Engagement, id: NominationId) -> Self {
        let mut request = nomination_request();
        if engagement.rules().pay().is_variable() {
            request.hours = Some(Hours::new(40).unwrap());
            request.customer = identify_customer(
                CustomerIdInput::MsxOpportunityId("7-ABCDEF1234".parse().unwrap()),
                "cio@contoso.example".parse().unwrap(),
                None,
                DirectoryFinding::NotAsked,
            )
            .unwrap();
        }
        let candidates = [Candidate {
            engagement,
            facts: eligible_facts(),
        }];
        let outcome = nominate(t0(), user, request, &candidates, || id)
            .unwrap()
            .remove(0);
        Self {
            nomination: outcome.nomination,
            now: t0(),
            events: vec![outcome.event],
            messages: outcome.messages,
            user: user.clone(),
        }
    }

    /// Given a workshop nomination whose consent was sent at [`t0`] with
    /// `token(1)` and accepted a day later.
    pub fn consented() -> Self {
        Self::added().consent_given()
    }

    /// Given a nomination of `engagement` whose consent was sent at [`t0`]
    /// with `token(1)` and accepted a day later.
    pub fn consented_to(engagement: &Engagement) -> Self {
        Self::added_to(engagement).consent_given()
    }

    /// Given a claim of `engagement` submitted a day after [`t0`], right
    /// after consent, with every proof item provided.
    pub fn submitted_to(engagement: &Engagement) -> Self {
        Self::consented_to(engagement).prove_everything().submit()
    }

    /// This scenario with consent sent now and accepted a day later.
    pub fn consent_given(self) -> Self {
        let user = self.owner();
        self.then(|n, now| n.send_consent(now, &user, SendConsent::default(), &link(1)))
            .wait_days(1)
            .then_step(|n, now| n.accept_consent(now, &token(1)))
    }

    /// Given a consented workshop nomination with every proof item provided.
    pub fn ready_to_submit() -> Self {
        Self::consented().prove_everything()
    }

    /// This scenario with documents attached and both surveys completed.
    pub fn prove_everything(self) -> Self {
        let user = self.owner();
        self.then(|n, now| {
            n.attach_document(
                now,
                &user,
                DocumentKind::ProofOfExecution,
                document("report.pdf"),
            )
        })
        .then(|n, now| {
            n.attach_document(now, &user, DocumentKind::Invoice, document("invoice.pdf"))
        })
        .then(|n, now| n.send_survey(now, &user, SurveyKind::Partner, &link(2)))
        .then(|n, now| n.send_survey(now, &user, SurveyKind::Customer, &link(3)))
        .then_step(|n, now| n.complete_survey(now, &token(2)))
        .then_step(|n, now| n.complete_survey(now, &token(3)))
    }

    /// The partner user the partner-side steps act as.
    pub fn owner(&self) -> PartnerUser {
        self.user.clone()
    }

    /// The partner submits the claim now.
    pub fn submit(self) -> Self {
        let user = self.owner();
        self.then(|n, now| n.submit(now, &user))
    }

    /// The reviewer takes the claim into review now.
    pub fn start_review(self) -> Self {
        self.then(|n, now| n.start_review(now, &reviewer(), seen(n)))
    }

    /// The reviewer rejects the claim now.
    pub fn reject(self) -> Self {
        self.then(|n, now| n.reject(now, &reviewer(), seen(n), comment("Invoice unreadable")))
    }

    /// The reviewer approves the claim now.
    pub fn approve(self) -> Self {
        self.then(|n, now| n.approve(now, &reviewer(), seen(n)))
    }

    /// The reviewer asks the partner for more now.
    pub fn request_partner_action(self) -> Self {
        self.then(|n, now| {
            n.request_partner_action(now, &reviewer(), seen(n), comment("Add the agenda"))
        })
    }

    /// The partner disputes the rejection now.
    pub fn dispute(self) -> Self {
        let user = self.owner();
        self.then(|n, now| n.dispute(now, &user, comment("The invoice is attached again")))
    }

    /// The partner cancels now.
    pub fn cancel(self) -> Self {
        let user = self.owner();
        self.then(|n, now| n.cancel(now, &user))
    }

    /// Given a submitted workshop claim.
    pub fn submitted() -> Self {
        Self::ready_to_submit().then(|n, now| n.submit(now, &admin()))
    }

    /// Given a claim under review.
    pub fn under_review() -> Self {
        Self::submitted().start_review()
    }

    /// Given a rejected claim (dispute window open).
    pub fn rejected() -> Self {
        Self::under_review().reject()
    }

    /// Given an approved claim.
    pub fn approved() -> Self {
        Self::under_review().approve()
    }

    /// One workshop scenario in each state of SPEC "The states", each with
    /// its state persisted (lapses swept), named for messages. Cancelled
    /// comes twice (before and after consent), and so does rejected final
    /// (after a dispute, and by the dispute window closing).
    pub fn in_every_state() -> Vec<(&'static str, Scenario)> {
        let sent = || {
            Self::added()
                .then(|n, now| n.send_consent(now, &admin(), SendConsent::default(), &link(1)))
        };
        let lapsed = |s: Scenario| {
            let deadline = s.nomination.deadline().expect("a deadline").at;
            s.at(deadline).sweep()
        };
        vec![
            ("customer claimed", Self::added()),
            ("awaiting consent", sent()),
            (
                "consent declined",
                sent().then_step(|n, now| n.decline_consent(now, &token(1))),
            ),
            ("consent expired", lapsed(sent())),
            ("consented", Self::consented()),
            ("submitted", Self::submitted()),
            ("under review", Self::under_review()),
            (
                "partner action required",
                Self::under_review().request_partner_action(),
            ),
            ("rejected", Self::rejected()),
            ("disputed", Self::rejected().dispute()),
            ("approved", Self::approved()),
            (
                "paid",
                Self::approved().then(|n, now| n.mark_paid(now, batch_id(1))),
            ),
            (
                "rejected final after a dispute",
                Self::rejected().dispute().start_review().reject(),
            ),
            ("rejected final, not disputed", lapsed(Self::rejected())),
            ("not submitted expired", lapsed(Self::consented())),
            ("post-submission expired", lapsed(Self::under_review())),
            ("dispute expired", lapsed(Self::rejected().dispute())),
            ("cancelled before consent", sent().cancel()),
            ("cancelled after consent", Self::consented().cancel()),
        ]
    }

    /// Time passes.
    pub fn wait(mut self, delta: TimeDelta) -> Self {
        self.now += delta;
        self
    }

    /// `days` days pass.
    pub fn wait_days(self, days: i64) -> Self {
        self.wait(TimeDelta::days(days))
    }

    /// Time moves to `instant`.
    pub fn at(mut self, instant: Instant) -> Self {
        self.now = instant;
        self
    }

    /// When `command` runs at `now`, it succeeds; its outcome is applied.
    #[track_caller]
    pub fn then(
        self,
        command: impl FnOnce(&Nomination, Instant) -> Result<Outcome, Refusal>,
    ) -> Self {
        let outcome = command(&self.nomination, self.now)
            .unwrap_or_else(|refusal| panic!("refused at {}: {refusal}", self.now));
        self.apply(outcome)
    }

    /// When a repeatable command runs at `now`, it succeeds with a change.
    #[track_caller]
    pub fn then_step(
        self,
        command: impl FnOnce(&Nomination, Instant) -> Result<Step, Refusal>,
    ) -> Self {
        match command(&self.nomination, self.now) {
            Ok(Step::Changed(outcome)) => self.apply(*outcome),
            Ok(Step::Unchanged) => panic!("expected a change at {}, got none", self.now),
            Err(refusal) => panic!("refused at {}: {refusal}", self.now),
        }
    }

    /// When `command` runs at `now`, it is refused; the refusal.
    #[track_caller]
    pub fn refusal<T: std::fmt::Debug>(
        &self,
        command: impl FnOnce(&Nomination, Instant) -> Result<T, Refusal>,
    ) -> Refusal {
        match command(&self.nomination, self.now) {
            Ok(done) => panic!("expected a refusal at {}, got {done:?}", self.now),
            Err(refusal) => refusal,
        }
    }

    /// The sweep runs at `now`: it lapses or reminds if due.
    pub fn sweep(self) -> Self {
        match self.nomination.wake(self.now) {
            Ok(Some(outcome)) => self.apply(outcome).sweep(),
            Ok(None) => self,
            Err(invalid) => panic!("the sweep at {} was refused: {invalid}", self.now),
        }
    }

    fn apply(mut self, outcome: Outcome) -> Self {
        assert_eq!(outcome.event.version, outcome.nomination.version());
        self.events.push(outcome.event);
        self.messages.extend(outcome.messages);
        self.nomination = outcome.nomination;
        self
    }

    /// The state at `now` (lapses applied).
    pub fn state(&self) -> State {
        self.nomination.at(self.now).state()
    }

    /// The page row at `now`.
    pub fn row(&self) -> Option<PageRow> {
        self.nomination.page_row(self.now)
    }

    /// The instant the customer consented.
    pub fn consented_at(&self) -> Instant {
        self.nomination
            .consented_at()
            .expect("the scenario has consent")
    }

    /// The last event.
    pub fn last_event(&self) -> &Event {
        self.events.last().expect("a scenario starts with an event")
    }
}

/// Every form in which `token` could leak into text or bytes: its 32 raw
/// bytes, lower- and upper-case hex, standard and URL-safe base64 with and
/// without padding, and its bytes as a list of numbers (`Debug` of an
/// array and JSON). A test that must find no token searches for each
/// (R-TOKEN-4).
pub fn token_encodings(token: &LinkToken) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let hex = token.to_string();
    let raw: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let numbers: Vec<String> = raw.iter().map(u8::to_string).collect();
    let mut forms = vec![
        raw.clone(),
        hex.clone().into_bytes(),
        hex.to_uppercase().into_bytes(),
        numbers.join(", ").into_bytes(),
        numbers.join(",").into_bytes(),
    ];
    for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
        forms.push(engine.encode(&raw).into_bytes());
    }
    forms
}

/// Whether `haystack` holds any of [`token_encodings`]`(token)`.
pub fn holds_token(haystack: &[u8], token: &LinkToken) -> bool {
    token_encodings(token)
        .iter()
        .any(|form| haystack.windows(form.len()).any(|w| w == form.as_slice()))
}
