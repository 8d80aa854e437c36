//! Properties of the nomination state machine, checked on random sequences
//! of every partner, customer, reviewer and system command at random
//! increasing instants (only the successful ones are applied):
//!
//! 1. no sequence leaves SPEC's state table: every event's (from, to) pair
//!    is one SPEC allows, each state shows in the tab SPEC gives it, and
//!    terminal states stay terminal (only approved moves on, to paid);
//! 2. days left never grows as `now` grows, is never negative, and is 0
//!    exactly when the deadline has passed; an action at the deadline is late;
//! 3. a nomination read lazily at `t` equals the one the sweep writes at `t`;
//! 5. changing an engagement's rules after a nomination was created moves
//!    none of its deadlines or its payout (R-ENG-8);
//! 6. the placement a store keeps for the Attention required list says, at
//!    every instant, whether `attention` needs the partner (R-LIST-3).
//!
//! (Property 4, values round-tripping and parsers never panicking, lives in
//! `values_roundtrip.rs`.)
//!
//! The oracles below (allowed transitions, terminal states, tabs, deadlines)
//! are written from SPEC, not from the core's code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use chrono::TimeDelta;
use mci_core::{
    Contacts, ContactsUpdate, Days, DocumentKind, Engagement, EngagementKind, EngagementRules,
    Hours, Instant, Need, Nomination, Outcome, PartnerUser, PayModel, ProofItem, ProofRequirement,
    Refusal, RowType, RuleVersion, SendConsent, State, Step, SurveyKind, Tab, Timelines, days_left,
    payout_run,
};
use mci_testkit::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

// ---------------------------------------------------------------------------
// The oracle, from SPEC "The states" and the rules.

/// SPEC "The states", column "terminal".
fn spec_terminal(state: State) -> bool {
    use State::*;
    matches!(
        state,
        ConsentDeclined
            | ConsentExpired
            | Approved
            | Paid
            | RejectedFinal
            | NotSubmittedExpired
            | PostSubmissionExpired
            | DisputeExpired
            | Cancelled
    )
}

/// SPEC "The states", column "tab", with the Type column of R-PAGE-2:
/// `None` when the nomination does not show.
fn spec_row(state: State, consented: bool) -> Option<(Tab, RowType)> {
    use State::*;
    let kind = if consented {
        RowType::Active
    } else {
        RowType::NotStarted
    };
    match state {
        CustomerClaimed | AwaitingConsent => Some((Tab::Eligible, RowType::NotStarted)),
        ConsentDeclined | ConsentExpired => None,
        Consented | Submitted | UnderReview | PartnerActionRequired | Rejected | Disputed => {
            Some((Tab::Eligible, RowType::Active))
        }
        Approved
        | Paid
        | RejectedFinal
        | NotSubmittedExpired
        | PostSubmissionExpired
        | DisputeExpired => Some((Tab::Complete, kind)),
        Cancelled => consented.then_some((Tab::Complete, RowType::Active)),
    }
}

/// The moves between states that SPEC allows (R-CONSENT, R-CLAIM-W):
/// changes within a live state (contacts, proof, comments, reminders) and
/// these transitions. Nothing leaves a terminal state but approved, to paid.
fn spec_allows(from: State, to: State) -> bool {
    use State::*;
    if from == to {
        return !spec_terminal(from);
    }
    matches!(
        (from, to),
        // R-CONSENT-2, -6, -5, -7; R-CLAIM-W-10
        (CustomerClaimed, AwaitingConsent | ConsentExpired | Cancelled)
            | (
                AwaitingConsent,
                Consented | ConsentDeclined | ConsentExpired | Cancelled
            )
            // R-CLAIM-W-6, -1, -10
            | (Consented, Submitted | NotSubmittedExpired | Cancelled)
            // R-CLAIM-W-7 (after a dispute, R-CLAIM-W-8's fresh window)
            | (Submitted, UnderReview | PostSubmissionExpired | DisputeExpired)
            | (
                UnderReview,
                PartnerActionRequired
                    | Approved
                    | Rejected
                    | RejectedFinal
                    | PostSubmissionExpired
                    | DisputeExpired
            )
            | (
                PartnerActionRequired,
                Submitted | PostSubmissionExpired | DisputeExpired
            )
            // R-CLAIM-W-8
            | (Rejected, Disputed | RejectedFinal)
            | (Disputed, UnderReview | DisputeExpired)
            // R-CLAIM-W-9
            | (Approved, Paid)
    )
}

/// The deadline of a nomination in `state`, from its recorded instants and
/// the windows of `rules` (R-ENG-4, R-CONSENT-1, R-CLAIM-W-1, -7, -8).
fn spec_deadline(n: &Nomination, rules: &EngagementRules) -> Option<Instant> {
    use State::*;
    let t = rules.timelines();
    let after = |start: Option<Instant>, window: Days| {
        start.map(|s| s + TimeDelta::days(i64::from(window.get())))
    };
    let claim = n.claim();
    match n.state() {
        CustomerClaimed | AwaitingConsent => after(Some(n.created_at()), t.obtain_consent),
        Consented => after(n.consented_at(), t.first_submit),
        Submitted | UnderReview | PartnerActionRequired => match claim.disputed_at {
            Some(disputed) => after(Some(disputed), t.dispute),
            None => after(n.consented_at(), t.review_complete),
        },
        Rejected => after(claim.rejected_at, t.dispute),
        Disputed => after(claim.disputed_at, t.dispute),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Commands and their generation.

#[derive(Debug, Clone, Copy)]
enum Who {
    Admin,
    User,
    OtherRole,
    OtherPartner,
}

impl Who {
    fn user(self) -> PartnerUser {
        match self {
            Who::Admin => admin(),
            Who::User => incentives_user(),
            Who::OtherRole => account_admin(),
            Who::OtherPartner => admin_of(2),
        }
    }
}

/// Which token a link command presents.
#[derive(Debug, Clone, Copy)]
enum Pick {
    /// The last one sent for that purpose, if any.
    Recent,
    /// `token(n)`, which may or may not be a live link.
    Fixed(u8),
}

#[derive(Debug, Clone)]
enum Cmd {
    SendConsent {
        who: Who,
        customer: Option<usize>,
        partner: Option<usize>,
        deal: Option<i64>,
        token: u8,
    },
    ResendConsent {
        who: Who,
        token: u8,
    },
    UpdateContacts {
        who: Who,
        customer: Option<usize>,
        partner: Option<usize>,
    },
    Accept(Pick),
    Decline(Pick),
    Attach {
        who: Who,
        kind: DocumentKind,
    },
    SendSurvey {
        who: Who,
        kind: SurveyKind,
        token: u8,
    },
    CompleteSurvey {
        kind: SurveyKind,
        pick: Pick,
    },
    Comment(Who),
    Submit(Who),
    StartReview,
    RequestPartnerAction,
    Approve,
    Reject,
    Dispute(Who),
    Cancel(Who),
    PayoutRun,
    Wake,
    /// Whatever moves the nomination on from where it stands, so that runs
    /// get deep into the claim; the number chooses among several moves.
    Progress(u8),
}

fn customer_contacts(i: usize) -> Contacts {
    [
        contacts("Carla Cio", "cio@contoso.example"),
        contacts("Dana Buyer", "dana@contoso.example"),
        contacts("Eve Exec", "eve@contoso.example"),
    ][i % 3]
        .clone()
}

fn partner_contacts(i: usize) -> Contacts {
    [
        contacts("Ada Admin", "ada@partner.example"),
        contacts("Bo Seller", "bo@partner.example"),
    ][i % 2]
        .clone()
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        6 => Just(Who::Admin),
        2 => Just(Who::User),
        1 => Just(Who::OtherRole),
        1 => Just(Who::OtherPartner),
    ]
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![4 => Just(Pick::Recent), 1 => (1u8..=8).prop_map(Pick::Fixed)]
}

fn survey_kind() -> impl Strategy<Value = SurveyKind> {
    prop_oneof![Just(SurveyKind::Partner), Just(SurveyKind::Customer)]
}

fn cmd() -> impl Strategy<Value = Cmd> {
    let document = prop_oneof![
        Just(DocumentKind::ProofOfExecution),
        Just(DocumentKind::Invoice)
    ];
    prop_oneof![
        3 => (who(), proptest::option::weighted(0.2, 0..3usize), proptest::option::weighted(0.2, 0..2usize),
              proptest::option::weighted(0.3, -5i64..2_000_000), 1u8..=8)
            .prop_map(|(who, customer, partner, deal, token)| Cmd::SendConsent { who, customer, partner, deal, token }),
        1 => (who(), 1u8..=8).prop_map(|(who, token)| Cmd::ResendConsent { who, token }),
        1 => (who(), proptest::option::of(0..3usize), proptest::option::of(0..2usize))
            .prop_map(|(who, customer, partner)| Cmd::UpdateContacts { who, customer, partner }),
        3 => pick().prop_map(Cmd::Accept),
        1 => pick().prop_map(Cmd::Decline),
        3 => (who(), document).prop_map(|(who, kind)| Cmd::Attach { who, kind }),
        2 => (who(), survey_kind(), 1u8..=8).prop_map(|(who, kind, token)| Cmd::SendSurvey { who, kind, token }),
        3 => (survey_kind(), pick()).prop_map(|(kind, pick)| Cmd::CompleteSurvey { kind, pick }),
        1 => who().prop_map(Cmd::Comment),
        3 => who().prop_map(Cmd::Submit),
        3 => Just(Cmd::StartReview),
        1 => Just(Cmd::RequestPartnerAction),
        2 => Just(Cmd::Approve),
        2 => Just(Cmd::Reject),
        2 => who().prop_map(Cmd::Dispute),
        1 => who().prop_map(Cmd::Cancel),
        1 => Just(Cmd::PayoutRun),
        2 => Just(Cmd::Wake),
        25 => any::<u8>().prop_map(Cmd::Progress),
    ]
}

/// Time between two commands: often none or a few hours, sometimes days,
/// now and then long enough for a window to close.
fn delta() -> impl Strategy<Value = TimeDelta> {
    prop_oneof![
        4 => Just(TimeDelta::zero()),
        8 => (1i64..=6 * 3600).prop_map(TimeDelta::seconds),
        2 => (1i64..=5 * 86_400).prop_map(TimeDelta::seconds),
        1 => (10i64..=45).prop_map(TimeDelta::days),
    ]
}

/// A run's commands and the time before each. Each run has its tempo: in
/// some, time crawls and the claim goes far; in others, windows close.
fn steps(max: usize) -> impl Strategy<Value = Vec<(TimeDelta, Cmd)>> {
    (
        prop_oneof![Just(1), Just(3), Just(8)],
        proptest::collection::vec((delta(), cmd()), 0..max),
    )
        .prop_map(|(tempo, steps)| {
            steps
                .into_iter()
                .map(|(delta, cmd)| (delta * tempo, cmd))
                .collect()
        })
}

/// The engagements runs are made on: the workshop, an assessment, a
/// variable-pay project, and a workshop that needs only the proof of
/// execution (so that runs reach the review more often).
fn engagement_of(choice: u8) -> Engagement {
    match choice % 4 {
        0 => workshop().0,
        1 => assessment(),
        2 => variable_project(),
        _ => engagement_with_rules(
            "lean-workshop",
            EngagementRules::builder(EngagementKind::Workshop, PayModel::fixed(eur(250_000)))
                .proof([
                    ProofRequirement {
                        item: ProofItem::ProofOfExecution,
                        need: Need::Required,
                    },
                    ProofRequirement {
                        item: ProofItem::Invoice,
                        need: Need::IfApplicable,
                    },
                ])
                .build()
                .unwrap(),
        ),
    }
}

// ---------------------------------------------------------------------------
// Running a sequence.

/// A nomination driven by commands, remembering the last link sent for each
/// purpose so that the customer can click it.
#[derive(Debug, Clone)]
struct Run {
    nomination: Nomination,
    now: Instant,
    consent_link: Option<u8>,
    survey_links: [Option<u8>; 2],
}

/// What one command did.
enum Done {
    Refused(Refusal),
    Unchanged,
    Changed(Box<Outcome>),
}

fn survey_index(kind: SurveyKind) -> usize {
    match kind {
        SurveyKind::Partner => 0,
        SurveyKind::Customer => 1,
    }
}

impl Run {
    fn new(engagement: &Engagement) -> Self {
        let s = Scenario::added_to(engagement);
        Self {
            nomination: s.nomination,
            now: s.now,
            consent_link: None,
            survey_links: [None, None],
        }
    }

    fn presented(&self, pick: Pick, recent: Option<u8>) -> mci_core::LinkToken {
        match pick {
            Pick::Recent => token(recent.unwrap_or(0)),
            Pick::Fixed(n) => token(n),
        }
    }

    /// The command [`Cmd::Progress`] stands for here; any other as it is.
    fn resolve(&self, cmd: &Cmd) -> Cmd {
        let Cmd::Progress(n) = *cmd else {
            return cmd.clone();
        };
        let nomination = &self.nomination;
        let claim = nomination.claim();
        match nomination.state() {
            State::CustomerClaimed => Cmd::SendConsent {
                who: Who::Admin,
                customer: None,
                partner: None,
                deal: None,
                token: 1 + n % 8,
            },
            State::AwaitingConsent if n % 4 == 0 => Cmd::ResendConsent {
                who: Who::Admin,
                token: 1 + n % 8,
            },
            State::AwaitingConsent => Cmd::Accept(Pick::Recent),
            State::Consented | State::PartnerActionRequired => {
                let next = nomination.missing_proof().into_iter().next();
                let survey = |kind: SurveyKind| {
                    if claim.survey(kind).status == mci_core::SurveyStatus::Sent && n % 4 != 0 {
                        Cmd::CompleteSurvey {
                            kind,
                            pick: Pick::Recent,
                        }
                    } else {
                        Cmd::SendSurvey {
                            who: Who::Admin,
                            kind,
                            token: 1 + n % 8,
                        }
                    }
                };
                match next {
                    Some(ProofItem::ProofOfExecution) => Cmd::Attach {
                        who: Who::Admin,
                        kind: DocumentKind::ProofOfExecution,
                    },
                    Some(ProofItem::Invoice) => Cmd::Attach {
                        who: Who::Admin,
                        kind: DocumentKind::Invoice,
                    },
                    Some(ProofItem::PartnerSurvey) => survey(SurveyKind::Partner),
                    Some(ProofItem::CustomerSurvey) => survey(SurveyKind::Customer),
                    None => Cmd::Submit(Who::Admin),
                }
            }
            State::Submitted | State::Disputed => Cmd::StartReview,
            State::UnderReview => match n % 3 {
                0 => Cmd::Approve,
                1 => Cmd::Reject,
                _ => Cmd::RequestPartnerAction,
            },
            State::Rejected => Cmd::Dispute(Who::Admin),
            State::Approved => Cmd::PayoutRun,
            _ => Cmd::Wake,
        }
    }

    fn decide(&self, cmd: &Cmd) -> Done {
        let n = &self.nomination;
        let now = self.now;
        let outcome = |r: Result<Outcome, Refusal>| match r {
            Ok(o) => Done::Changed(Box::new(o)),
            Err(e) => Done::Refused(e),
        };
        let step = |r: Result<Step, Refusal>| match r {
            Ok(Step::Changed(o)) => Done::Changed(o),
            Ok(Step::Unchanged) => Done::Unchanged,
            Err(e) => Done::Refused(e),
        };
        match cmd {
            Cmd::SendConsent {
                who,
                customer,
                partner,
                deal,
                token: t,
            } => outcome(n.send_consent(
                now,
                &who.user(),
                SendConsent {
                    customer_contacts: customer.map(customer_contacts),
                    partner_contacts: partner.map(partner_contacts),
                    estimated_deal_size: deal.map(eur),
                },
                &link(*t),
            )),
            Cmd::ResendConsent { who, token: t } => {
                outcome(n.resend_consent(now, &who.user(), &link(*t)))
            }
            Cmd::UpdateContacts {
                who,
                customer,
                partner,
            } => outcome(n.update_contacts(
                now,
                &who.user(),
                ContactsUpdate {
                    customer: customer.map(customer_contacts),
                    partner: partner.map(partner_contacts),
                },
            )),
            Cmd::Accept(pick) => {
                step(n.accept_consent(now, &self.presented(*pick, self.consent_link)))
            }
            Cmd::Decline(pick) => {
                step(n.decline_consent(now, &self.presented(*pick, self.consent_link)))
            }
            Cmd::Attach { who, kind } => {
                outcome(n.attach_document(now, &who.user(), *kind, document("proof.pdf")))
            }
            Cmd::SendSurvey {
                who,
                kind,
                token: t,
            } => outcome(n.send_survey(now, &who.user(), *kind, &link(*t))),
            Cmd::CompleteSurvey { kind, pick } => step(n.complete_survey(
                now,
                &self.presented(*pick, self.survey_links[survey_index(*kind)]),
            )),
            Cmd::Comment(who) => outcome(n.add_comment(now, &who.user(), comment("A note"))),
            Cmd::Submit(who) => outcome(n.submit(now, &who.user())),
            Cmd::StartReview => outcome(n.start_review(now, &reviewer(), seen(n))),
            Cmd::RequestPartnerAction => {
                outcome(n.request_partner_action(now, &reviewer(), seen(n), comment("More please")))
            }
            Cmd::Approve => outcome(n.approve(now, &reviewer(), seen(n))),
            Cmd::Reject => outcome(n.reject(now, &reviewer(), seen(n), comment("Not enough"))),
            Cmd::Dispute(who) => outcome(n.dispute(now, &who.user(), comment("Please look again"))),
            Cmd::Cancel(who) => outcome(n.cancel(now, &who.user())),
            Cmd::PayoutRun => {
                let cycle = mci_core::PayoutCycle::containing(t0(), Days::new(45), now).unwrap();
                match payout_run(batch_id(1), cycle, now, std::slice::from_ref(n)) {
                    Ok((_, mut outcomes)) => match outcomes.pop() {
                        Some(o) => Done::Changed(Box::new(o)),
                        None => Done::Unchanged,
                    },
                    Err(e) => Done::Refused(e),
                }
            }
            Cmd::Wake => match n.wake(now).unwrap() {
                Some(o) => Done::Changed(Box::new(o)),
                None => Done::Unchanged,
            },
            Cmd::Progress(_) => self.decide(&self.resolve(cmd)),
        }
    }

    /// Moves time on, decides `cmd`, applies it if it succeeded, and hands
    /// what happened to `check` together with the nomination before.
    fn step(
        &mut self,
        delta: TimeDelta,
        cmd: &Cmd,
        check: &mut impl FnMut(&Run, &Cmd, &Done) -> Result<(), TestCaseError>,
    ) -> Result<(), TestCaseError> {
        self.now += delta;
        let cmd = &self.resolve(cmd);
        let done = self.decide(cmd);
        check(self, cmd, &done)?;
        if let Done::Changed(outcome) = done {
            match cmd {
                Cmd::SendConsent { token, .. } | Cmd::ResendConsent { token, .. } => {
                    self.consent_link = Some(*token);
                }
                Cmd::SendSurvey { kind, token, .. } => {
                    self.survey_links[survey_index(*kind)] = Some(*token);
                }
                _ => {}
            }
            self.nomination = outcome.nomination;
        }
        Ok(())
    }

    fn through(
        engagement: &Engagement,
        steps: &[(TimeDelta, Cmd)],
        mut check: impl FnMut(&Run, &Cmd, &Done) -> Result<(), TestCaseError>,
    ) -> Result<Run, TestCaseError> {
        let mut run = Run::new(engagement);
        for (delta, cmd) in steps {
            run.step(*delta, cmd, &mut check)?;
        }
        Ok(run)
    }
}

fn is_partner_command(cmd: &Cmd) -> Option<Who> {
    match cmd {
        Cmd::SendConsent { who, .. }
        | Cmd::ResendConsent { who, .. }
        | Cmd::UpdateContacts { who, .. }
        | Cmd::Attach { who, .. }
        | Cmd::SendSurvey { who, .. }
        | Cmd::Comment(who)
        | Cmd::Submit(who)
        | Cmd::Dispute(who)
        | Cmd::Cancel(who) => Some(*who),
        _ => None,
    }
}

/// The tab, Type and placement of `n` at `now` are those of SPEC's table for
/// the state it is in at `now`.
fn check_row(n: &Nomination, now: Instant) -> Result<(), TestCaseError> {
    let current = n.at(now);
    let expected = spec_row(current.state(), current.consented_at().is_some());
    let row = n.page_row(now);
    prop_assert_eq!(
        row.as_ref().map(|r| (r.tab, r.row_type)),
        expected,
        "row of {} at {}",
        current.state(),
        now
    );
    prop_assert_eq!(n.placement().tab_at(now), expected.map(|(tab, _)| tab));
    prop_assert_eq!(
        n.tab(),
        spec_row(n.state(), n.consented_at().is_some()).map(|(tab, _)| tab)
    );
    prop_assert_eq!(
        current.state().is_terminal(),
        spec_terminal(current.state())
    );
    if let Some(row) = row {
        prop_assert_eq!(row.status.state, current.state());
        match current.deadline() {
            Some(deadline) => {
                prop_assert_eq!(row.status.days_left, Some(deadline.days_left(now)));
                prop_assert!(row.status.days_left >= Some(1));
            }
            None => prop_assert_eq!(row.status.days_left, None),
        }
    }
    Ok(())
}

/// History-dependent parts of R-CLAIM-W-8 on a whole run's transitions.
#[derive(Default)]
struct History {
    disputes: usize,
    terminal: Option<State>,
}

impl History {
    fn check(&mut self, from: State, to: State) -> Result<(), TestCaseError> {
        if let Some(terminal) = self.terminal {
            prop_assert!(
                terminal == State::Approved && from == State::Approved && to == State::Paid,
                "{} moved to {} after reaching terminal {}",
                from,
                to,
                terminal
            );
        }
        if from != to && spec_terminal(to) {
            self.terminal = Some(to);
        }
        match to {
            State::Disputed if from != to => {
                self.disputes += 1;
                prop_assert!(self.disputes <= 1, "disputed twice");
            }
            State::Rejected if from == State::UnderReview => {
                prop_assert_eq!(self.disputes, 0, "a rejection after a dispute is final")
            }
            State::RejectedFinal if from == State::UnderReview => {
                prop_assert_eq!(self.disputes, 1, "final only after a dispute")
            }
            State::DisputeExpired => prop_assert_eq!(self.disputes, 1),
            State::PostSubmissionExpired => prop_assert_eq!(self.disputes, 0),
            _ => {}
        }
        Ok(())
    }
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------
// (1) No sequence of commands leaves SPEC's state table.

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn property_1_no_sequence_of_commands_leaves_the_state_table(
        choice in any::<u8>(),
        steps in steps(60),
    ) {
        let engagement = engagement_of(choice);
        let mut history = History::default();
        let start = Run::new(&engagement);
        check_row(&start.nomination, start.now)?;
        let end = Run::through(&engagement, &steps, |run, cmd, done| {
            let before = &run.nomination;
            let now = run.now;
            // Another partner's users and other roles never get anywhere
            // (R-ROLE-1, -2).
            match (is_partner_command(cmd), done) {
                (Some(Who::OtherPartner), d) => prop_assert!(
                    matches!(d, Done::Refused(Refusal::NotFound)),
                    "another partner's call was not answered with not found"
                ),
                (Some(Who::OtherRole), d) => prop_assert!(
                    matches!(d, Done::Refused(Refusal::RoleNotAllowed { .. })),
                    "a role other than the incentives roles was not refused"
                ),
                _ => {}
            }
            match done {
                Done::Changed(outcome) => {
                    let event = &outcome.event;
                    let lapse = before.due_lapse(now);
                    match cmd {
                        Cmd::Wake => {
                            if let Some(deadline) = lapse {
                                prop_assert_eq!(event.to, deadline.kind.lapses_into());
                                prop_assert_eq!(event.at, deadline.at);
                            }
                        }
                        // No command acts on a nomination whose deadline has
                        // passed, swept or not (R-TIME-4).
                        _ => prop_assert!(
                            lapse.is_none(),
                            "{:?} succeeded at {} after the {:?} deadline",
                            cmd, now, lapse.map(|d| d.kind)
                        ),
                    }
                    // One event per change, from the state before, with the
                    // next version, in time order (R-REC-1).
                    prop_assert_eq!(event.from, Some(before.state()));
                    prop_assert!(event.at >= before.updated_at(), "an event out of order");
                    prop_assert_eq!(event.nomination, *before.id());
                    for message in &outcome.messages {
                        prop_assert_eq!(message.nomination, *before.id());
                        prop_assert!(!message.to.is_empty());
                    }
                    prop_assert_eq!(event.to, outcome.nomination.state());
                    prop_assert_eq!(event.version, before.version() + 1);
                    prop_assert_eq!(outcome.nomination.version(), event.version);
                    prop_assert_eq!(outcome.expected_version(), before.version());
                    prop_assert!(
                        spec_allows(before.state(), event.to),
                        "{} -> {} is not in SPEC (by {:?})",
                        before.state(), event.to, cmd
                    );
                    history.check(before.state(), event.to)?;
                    check_row(&outcome.nomination, now)?;
                }
                Done::Unchanged => {
                    // A repeated click answers the same (R-CONSENT-9, R-CLAIM-W-3).
                    match cmd {
                        Cmd::Accept(_) => prop_assert!(before.consent().accepted_at.is_some()),
                        Cmd::Decline(_) => prop_assert!(before.consent().declined_at.is_some()),
                        Cmd::CompleteSurvey { .. } => prop_assert!(
                            [SurveyKind::Partner, SurveyKind::Customer]
                                .iter()
                                .any(|k| before.claim().survey(*k).is_completed())
                        ),
                        Cmd::Wake => prop_assert!(before.due_lapse(now).is_none()),
                        Cmd::PayoutRun => prop_assert_ne!(before.state(), State::Approved),
                        other => prop_assert!(false, "{:?} answered unchanged", other),
                    }
                    check_row(before, now)?;
                }
                Done::Refused(_) => check_row(before, now)?,
            }
            Ok(())
        })?;
        // However long one waits, what is terminal stays so.
        for days in [1, 30, 400] {
            let later = end.now + TimeDelta::days(days);
            let state = end.nomination.at(later).state();
            if spec_terminal(end.nomination.state()) {
                prop_assert_eq!(state, end.nomination.state());
            }
            check_row(&end.nomination, later)?;
        }
    }
}

/// The generator is good enough for property 1 to mean something: over a
/// fixed set of runs it reaches every state.
#[test]
fn property_1_the_generated_runs_reach_every_state() {
    let mut runner = TestRunner::deterministic();
    let strategy = (any::<u8>(), steps(60));
    let mut reached = BTreeSet::new();
    for _ in 0..300 {
        let (choice, steps) = strategy.new_tree(&mut runner).unwrap().current();
        let engagement = engagement_of(choice);
        let end = Run::through(&engagement, &steps, |run, _, _| {
            reached.insert(run.nomination.state());
            Ok(())
        })
        .unwrap();
        reached.insert(end.nomination.state());
        reached.insert(end.nomination.at(end.now + TimeDelta::days(400)).state());
    }
    let missing: Vec<State> = State::ALL
        .into_iter()
        .filter(|s| !reached.contains(s))
        .collect();
    assert!(missing.is_empty(), "never reached: {missing:?}");
}

// ---------------------------------------------------------------------------
// (2) Days left.

fn instant() -> impl Strategy<Value = Instant> {
    // 2000-01-01 to 2100-01-01, to the nanosecond.
    (946_684_800i64..4_102_444_800, 0u32..1_000_000_000)
        .prop_map(|(secs, nanos)| chrono::DateTime::from_timestamp(secs, nanos).unwrap())
}

fn offset() -> impl Strategy<Value = TimeDelta> {
    prop_oneof![
        (-3i64..=3).prop_map(TimeDelta::nanoseconds),
        (-400i64 * 86_400..=400 * 86_400).prop_map(TimeDelta::seconds),
        (-400i64..=400).prop_map(TimeDelta::days),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn property_2_days_left_never_grows_never_negative_zero_exactly_when_passed(
        deadline in instant(),
        a in offset(),
        b in offset(),
    ) {
        let (early, late) = if a <= b { (deadline + a, deadline + b) } else { (deadline + b, deadline + a) };
        let (left_early, left_late) = (days_left(deadline, early), days_left(deadline, late));
        prop_assert!(left_late <= left_early);
        for (now, left) in [(early, left_early), (late, left_late)] {
            // Never negative by type; 0 exactly from the deadline on.
            prop_assert_eq!(left == 0, now >= deadline);
            prop_assert_eq!(mci_core::is_past(deadline, now), now >= deadline);
            if now < deadline {
                // A ceiling of whole or partial days.
                let remaining = deadline - now;
                prop_assert!(TimeDelta::days(i64::from(left) - 1) < remaining);
                prop_assert!(remaining <= TimeDelta::days(i64::from(left)));
            }
        }
    }

    #[test]
    fn property_2_on_nominations_days_left_counts_down_and_the_deadline_is_late(
        choice in any::<u8>(),
        steps in steps(40),
        probes in proptest::collection::vec(0i64..200 * 86_400, 1..12),
    ) {
        let engagement = engagement_of(choice);
        let end = Run::through(&engagement, &steps, |_, _, _| Ok(()))?;
        let n = &end.nomination;
        let mut probes: Vec<Instant> = probes.into_iter().map(|s| end.now + TimeDelta::seconds(s)).collect();
        probes.sort();
        let deadline = n.deadline();
        let mut previous = u32::MAX;
        for now in probes {
            let left = n.page_row(now).and_then(|r| r.status.days_left).unwrap_or(0);
            prop_assert!(left <= previous, "days left grew");
            previous = left;
            let passed = deadline.is_none_or(|d| now >= d.at);
            prop_assert_eq!(left == 0, passed);
        }
        if let Some(deadline) = deadline {
            // The last nanosecond before the deadline is in time; the
            // deadline itself is late, for any command.
            let before = deadline.at - TimeDelta::nanoseconds(1);
            prop_assert_eq!(&n.at(before), n);
            prop_assert!(deadline.days_left(before) >= 1);
            prop_assert!(n.add_comment(before, &admin(), comment("in time")).is_ok());
            prop_assert_eq!(n.at(deadline.at).state(), deadline.kind.lapses_into());
            prop_assert_eq!(deadline.days_left(deadline.at), 0);
            let late = Refusal::Lapsed { state: deadline.kind.lapses_into(), at: deadline.at };
            prop_assert_eq!(n.add_comment(deadline.at, &admin(), comment("late")), Err(late.clone()));
            prop_assert_eq!(n.cancel(deadline.at, &admin()), Err(late.clone()));
            prop_assert_eq!(n.submit(deadline.at, &admin()).err(), Some(late.clone()));
            if n.state() == State::UnderReview {
                prop_assert_eq!(n.approve(deadline.at, &reviewer(), seen(n)), Err(late));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// (3) Lazy and swept expiry agree.

/// Runs the sweep at `now` until it has nothing left to do.
fn sweep(mut n: Nomination, now: Instant) -> Nomination {
    for _ in 0..10 {
        match n.wake(now).unwrap() {
            Some(outcome) => n = outcome.nomination,
            None => return n,
        }
    }
    panic!("the sweep at {now} never settles")
}

/// The nomination as a document, without what only the sweep's reminders
/// change (their marks, the version and the instant of the last change).
fn without_reminders(n: &Nomination) -> serde_json::Value {
    let mut value = serde_json::to_value(n).unwrap();
    let object = value.as_object_mut().unwrap();
    // The sweep's reminders are events of their own, so its history, and
    // the hash of its last event (R-LIST-4), differ from the lazy read's.
    for key in ["reminders_sent", "version", "updated_at", "last_hash"] {
        object.remove(key);
    }
    value
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn property_3_a_nomination_read_lazily_at_t_equals_the_one_swept_at_t(
        choice in any::<u8>(),
        steps in steps(40),
        probes in proptest::collection::vec(
            prop_oneof![
                (0i64..200 * 86_400).prop_map(TimeDelta::seconds),
                (0i64..=200).prop_map(TimeDelta::days),
            ],
            1..10,
        ),
    ) {
        let engagement = engagement_of(choice);
        let end = Run::through(&engagement, &steps, |_, _, _| Ok(()))?;
        let n = end.nomination;
        let mut probes: Vec<Instant> = probes.into_iter().map(|d| end.now + d).collect();
        // Probe exactly at the deadline too.
        if let Some(deadline) = n.deadline() {
            probes.push(deadline.at);
            probes.push(deadline.at - TimeDelta::nanoseconds(1));
        }
        probes.sort();

        // Swept at each probe in turn, as a sweep running now and then does.
        let mut swept = n.clone();
        for t in probes {
            let lazy = n.at(t);
            // The sweep's first move, when a lapse is due, is that lapse: the
            // very nomination the lazy read gives.
            if n.due_lapse(t).is_some() {
                prop_assert_eq!(&n.wake(t).unwrap().unwrap().nomination, &lazy);
            } else {
                prop_assert_eq!(&lazy, &n);
            }
            // The sweep's "what is due" query, by the placement's instant,
            // finds exactly the nominations that have something to do.
            for candidate in [&n, &swept] {
                prop_assert_eq!(
                    candidate.wake(t).unwrap().is_some(),
                    candidate.placement().wake_at.is_some_and(|w| w <= t),
                    "wake_at disagrees with wake at {}", t
                );
            }
            swept = sweep(swept, t);
            prop_assert_eq!(swept.state(), lazy.state());
            prop_assert_eq!(swept.lapsed_at(), lazy.lapsed_at());
            prop_assert_eq!(swept.standing(), lazy.standing());
            prop_assert_eq!(without_reminders(&swept), without_reminders(&lazy));
            prop_assert_eq!(swept.page_row(t), n.page_row(t));
            prop_assert_eq!(swept.page_row(t), lazy.page_row(t));
            let tab = n.page_row(t).map(|r| r.tab);
            prop_assert_eq!(n.placement().tab_at(t), tab);
            prop_assert_eq!(swept.placement().tab_at(t), tab);
            prop_assert_eq!(swept.placement().tab, tab);
            // Swept up to t, nothing is left due at t.
            prop_assert_eq!(swept.due_lapse(t), None);
            prop_assert!(swept.wake(t).unwrap().is_none());
        }
    }
}

// ---------------------------------------------------------------------------
// (4) Nominations, events and messages round-trip through serde (the values
// they are made of round-trip in `values_roundtrip.rs`).

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn property_4_nominations_events_and_messages_round_trip_through_serde(
        choice in any::<u8>(),
        steps in steps(40),
    ) {
        let engagement = engagement_of(choice);
        let end = Run::through(&engagement, &steps, |_, _, done| {
            if let Done::Changed(outcome) = done {
                let event: mci_core::Event =
                    serde_json::from_str(&serde_json::to_string(&outcome.event).unwrap()).unwrap();
                prop_assert_eq!(&event, &outcome.event);
                let messages: Vec<mci_core::Message> =
                    serde_json::from_str(&serde_json::to_string(&outcome.messages).unwrap()).unwrap();
                prop_assert_eq!(&messages, &outcome.messages);
            }
            Ok(())
        })?;
        let n = end.nomination;
        let json = serde_json::to_string(&n).unwrap();
        let back: Nomination = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &n);
        // What stores derive from it is the same too.
        prop_assert_eq!(back.placement(), n.placement());
        prop_assert_eq!(back.standing(), n.standing());
        prop_assert_eq!(back.page_row(end.now), n.page_row(end.now));
    }
}

// ---------------------------------------------------------------------------
// (5) A change of an engagement's rules moves no existing deadline or payout.

fn timelines() -> impl Strategy<Value = Timelines> {
    (1u32..=60, 1u32..=300, 0u32..=100, 1u32..=60).prop_map(|(consent, submit, extra, dispute)| {
        Timelines {
            obtain_consent: Days::new(consent),
            first_submit: Days::new(submit),
            review_complete: Days::new(submit + extra),
            dispute: Days::new(dispute),
        }
    })
}

fn pay() -> impl Strategy<Value = PayModel> {
    prop_oneof![
        (1i64..=100_000_000).prop_map(|fee| PayModel::fixed(eur(fee))),
        (1i64..=100_000, 1i64..=100_000_000, 40u32..=2_000).prop_map(|(rate, cap, max)| {
            PayModel::variable(eur(rate), eur(cap), Hours::new(max).unwrap())
        }),
    ]
}

fn rules(version: u32) -> impl Strategy<Value = EngagementRules> {
    (
        proptest::sample::select(EngagementKind::ALL.to_vec()),
        timelines(),
        pay(),
        1u32..=3,
    )
        .prop_map(move |(kind, timelines, pay, limit)| {
            EngagementRules::builder(kind, pay)
                .version(RuleVersion::new(version))
                .timelines(timelines)
                .active_nomination_limit(limit)
                .proof([ProofRequirement {
                    item: ProofItem::ProofOfExecution,
                    need: Need::Required,
                }])
                .build()
                .unwrap()
        })
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn property_5_changing_the_rules_moves_no_deadline_or_payout(
        old in rules(1),
        new in rules(2),
        steps in steps(50),
    ) {
        let engagement = engagement_with_rules("versioned", old.clone());
        let mut run = Run::new(&engagement);
        let pinned_payout = old.pay().payout(run.nomination.hours());
        prop_assert_eq!(run.nomination.proposed_payout(), pinned_payout);

        // The program changes the engagement after the nomination was made.
        let changed = engagement.clone().with_rules(new.clone());
        prop_assert_eq!(changed.rules(), &new);

        let mut check = |run: &Run, _: &Cmd, done: &Done| -> Result<(), TestCaseError> {
            let n = match done {
                Done::Changed(outcome) => &outcome.nomination,
                _ => &run.nomination,
            };
            prop_assert_eq!(n.rules(), &old);
            prop_assert_eq!(n.deadline().map(|d| d.at), spec_deadline(n, &old));
            prop_assert_eq!(n.proposed_payout(), pinned_payout);
            if n.state().is_completed() {
                prop_assert_eq!(n.claim().payout, pinned_payout);
            }
            // Whatever the windows, the sweep's instant is exact.
            prop_assert_eq!(
                n.wake(run.now).unwrap().is_some(),
                n.wake_at().is_some_and(|w| w <= run.now)
            );
            // Stored and read back, it still keeps them.
            let stored: Nomination = serde_json::from_value(serde_json::to_value(n).unwrap()).unwrap();
            prop_assert_eq!(stored.deadline(), n.deadline());
            Ok(())
        };
        for (delta, cmd) in &steps {
            run.step(*delta, cmd, &mut check)?;
        }

        // A nomination made after the change pins the new rules.
        let later = Run::new(&changed).nomination;
        prop_assert_eq!(later.rules().version(), RuleVersion::new(2));
        prop_assert_eq!(later.deadline().map(|d| d.at), spec_deadline(&later, &new));
        prop_assert_eq!(later.proposed_payout(), new.pay().payout(later.hours()));
    }
}

// ---------------------------------------------------------------------------
// (6) The Attention required list's placement says what attention says.

proptest! {
    #![proptest_config(config(96))]

    /// For every nomination a run reaches, read at any instant (before its
    /// last change too, as a server whose clock is behind reads it; at its
    /// deadline and the instant before; at the start of the window before
    /// it and the instant before), `attention` needs the partner exactly
    /// when the placement a store keeps says so (R-LIST-3).
    #[test]
    fn property_6_attention_agrees_with_its_placement_at_every_instant(
        choice in any::<u8>(),
        steps in steps(40),
        probes in proptest::collection::vec(
            prop_oneof![
                (-3i64..=3).prop_map(TimeDelta::nanoseconds),
                (-2i64 * 86_400..200 * 86_400).prop_map(TimeDelta::seconds),
                (-2i64..=200).prop_map(TimeDelta::days),
            ],
            1..8,
        ),
    ) {
        let engagement = engagement_of(choice);
        let check = |n: &Nomination, at: &[Instant]| -> Result<(), TestCaseError> {
            let placement = n.attention_placement();
            prop_assert_eq!(placement.lapse_at, n.placement().lapse_at);
            prop_assert_eq!(placement.class.is_some(), placement.class.and(placement.lapse_at).is_some());
            let mut at = at.to_vec();
            if let Some(deadline) = n.deadline() {
                let opens = deadline.at - TimeDelta::days(7);
                for edge in [deadline.at, opens] {
                    at.extend([edge, edge - TimeDelta::nanoseconds(1), edge - TimeDelta::microseconds(1)]);
                }
            }
            for now in at {
                let entry = n.attention(now);
                prop_assert_eq!(
                    entry.is_some(),
                    placement.needs_at(now),
                    "{} at {}: {:?}", n.state(), now, entry
                );
            }
            Ok(())
        };
        let end = Run::through(&engagement, &steps, |run, _, done| {
            let n = match done {
                Done::Changed(outcome) => &outcome.nomination,
                _ => &run.nomination,
            };
            let at: Vec<Instant> = probes.iter().map(|d| run.now + *d).collect();
            check(n, &at)
        })?;
        let at: Vec<Instant> = probes.iter().map(|d| end.now + *d).collect();
        check(&end.nomination, &at)?;
    }
}
