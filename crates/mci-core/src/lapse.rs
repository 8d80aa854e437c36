//! Deadlines, lapsing and reminders (R-TIME, R-CONSENT-7, R-CLAIM-W-1/7/8,
//! R-REC-6).
//!
//! Every live state has at most one deadline; when it passes, the nomination
//! lapses into a terminal state. Lapsing is a transition like the others
//! ([`Nomination::lapse`]), and reading a nomination at an instant
//! ([`Nomination::at`]) applies that same transition, so lazy and swept expiry
//! agree by construction (R-TIME-4, R-PAGE-7). The sweep calls
//! [`Nomination::wake`] on what is due, which lapses or queues a reminder.
//!
//! ```
//! # use mci_testkit::*;
//! use mci_core::{DeadlineKind, State};
//!
//! let (nomination, added) = fresh_nomination();
//! let deadline = nomination.deadline().unwrap();
//! assert_eq!(deadline.kind, DeadlineKind::ObtainConsent);
//! assert_eq!(deadline.at, added + chrono::TimeDelta::days(30));
//!
//! assert_eq!(nomination.at(deadline.at).state(), State::ConsentExpired);
//! let swept = nomination.wake(deadline.at).unwrap().unwrap();
//! assert_eq!(swept.nomination, nomination.at(deadline.at));
//! ```

use crate::actor::Actor;
use crate::event::EventKind;
use crate::invalid::{InvalidValue, Problem};
use crate::message::MessageKind;
use crate::nomination::{Nomination, Outcome};
use crate::refusal::Refusal;
use crate::state::State;
use crate::time::{Days, Instant, days_left, is_past};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which window a deadline closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// Consent, counted from creation (R-CONSENT-1).
    ObtainConsent,
    /// The first submission, counted from consent (R-CLAIM-W-1).
    FirstSubmit,
    /// The end of the review, counted from consent (R-CLAIM-W-7).
    ReviewComplete,
    /// The window to dispute a rejection (R-CLAIM-W-8).
    Dispute,
    /// The fresh window a dispute opens for the review (R-CLAIM-W-8).
    DisputeReview,
}

impl DeadlineKind {
    /// The terminal state a nomination lapses into when this deadline passes.
    pub fn lapses_into(self) -> State {
        match self {
            DeadlineKind::ObtainConsent => State::ConsentExpired,
            DeadlineKind::FirstSubmit => State::NotSubmittedExpired,
            DeadlineKind::ReviewComplete => State::PostSubmissionExpired,
            DeadlineKind::Dispute => State::RejectedFinal,
            DeadlineKind::DisputeReview => State::DisputeExpired,
        }
    }
}

impl fmt::Display for DeadlineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeadlineKind::ObtainConsent => "to obtain consent",
            DeadlineKind::FirstSubmit => "to submit the workshop claim",
            DeadlineKind::ReviewComplete => "to complete the review",
            DeadlineKind::Dispute => "to dispute",
            DeadlineKind::DisputeReview => "to complete the dispute",
        })
    }
}

/// A deadline: which window, and the instant it closes (R-TIME-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deadline {
    /// The window.
    pub kind: DeadlineKind,
    /// The first instant that is late.
    pub at: Instant,
}

impl Deadline {
    /// Days left at `now`, rounded up, 0 once passed (R-TIME-3).
    pub fn days_left(&self, now: Instant) -> u32 {
        days_left(self.at, now)
    }

    /// Whether it has passed at `now` (R-TIME-2).
    pub fn is_past(&self, now: Instant) -> bool {
        is_past(self.at, now)
    }
}

/// A reminder already queued: before which deadline, how long before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReminderMark {
    /// The deadline reminded of.
    pub deadline: DeadlineKind,
    /// How long before it.
    pub before: Days,
}

impl Nomination {
    /// The deadline of the current state, if it has one.
    ///
    /// A nomination whose instants the core accepted always has its deadline
    /// representable (R-INPUT). One read from a document holding a start so
    /// late that the deadline would fall after the last instant chrono
    /// represents has none: it never passes, as such a deadline would not at
    /// any instant chrono can give.
    pub fn deadline(&self) -> Option<Deadline> {
        let timelines = self.rules.timelines();
        let consented = self.consent.accepted_at;
        let disputed = self.claim.disputed_at;
        let (kind, start, window) = match self.state {
            State::CustomerClaimed | State::AwaitingConsent => (
                DeadlineKind::ObtainConsent,
                Some(self.created_at),
                timelines.obtain_consent,
            ),
            State::Consented => (DeadlineKind::FirstSubmit, consented, timelines.first_submit),
            State::Submitted | State::UnderReview | State::PartnerActionRequired => {
                match disputed {
                    Some(disputed) => (
                        DeadlineKind::DisputeReview,
                        Some(disputed),
                        timelines.dispute,
                    ),
                    None => (
                        DeadlineKind::ReviewComplete,
                        consented,
                        timelines.review_complete,
                    ),
                }
            }
            State::Rejected => (
                DeadlineKind::Dispute,
                self.claim.rejected_at,
                timelines.dispute,
            ),
            State::Disputed => (DeadlineKind::DisputeReview, disputed, timelines.dispute),
            _ => return None,
        };
        let at = window.checked_after(start?)?;
        Some(Deadline { kind, at })
    }

    /// The consent deadline, counted from creation (R-CONSENT-1); an
    /// overflow only for a creation instant the core did not accept
    /// (R-INPUT).
    pub(crate) fn consent_deadline(&self) -> Result<Instant, InvalidValue> {
        self.rules
            .timelines()
            .obtain_consent
            .checked_after(self.created_at)
            .ok_or_else(|| InvalidValue::new("created_at", Problem::Overflow))
    }

    /// The deadline, if it has passed at `now`.
    pub fn due_lapse(&self, now: Instant) -> Option<Deadline> {
        let now = self.not_before_last_change(now);
        self.deadline().filter(|d| d.is_past(now))
    }

    /// The lapse of the current deadline: the nomination in the terminal
    /// state the deadline leads to, as of the deadline itself, with its event
    /// and a notice to the partner. `None` when the state has no deadline.
    /// Whether it is due is the caller's question ([`Nomination::due_lapse`]).
    pub fn lapse(&self) -> Option<Outcome> {
        let deadline = self.deadline()?;
        let to = deadline.kind.lapses_into();
        let partner = self.partner_contacts.emails();
        Some(
            self.change(
                deadline.at,
                Actor::System,
                to,
                EventKind::Lapsed {
                    deadline: deadline.at,
                },
                |next| next.lapsed_at = Some(deadline.at),
            )
            .message(partner, MessageKind::Lapsed { state: to }),
        )
    }

    /// The nomination as it stands at `now`: if its deadline has passed, the
    /// lapsed nomination the sweep would write; otherwise itself (R-TIME-4).
    #[must_use]
    pub fn at(&self, now: Instant) -> Nomination {
        let now = self.not_before_last_change(now);
        match self.due_lapse(now).and_then(|_| self.lapse()) {
            Some(lapsed) => lapsed.nomination,
            None => self.clone(),
        }
    }

    /// The refusal for a command at `now` on a nomination whose deadline has
    /// passed, whether the sweep has written the lapse or not.
    pub(crate) fn lapse_refusal(&self, now: Instant) -> Option<Refusal> {
        if let Some(deadline) = self.due_lapse(now) {
            return Some(Refusal::Lapsed {
                state: deadline.kind.lapses_into(),
                at: deadline.at,
            });
        }
        self.lapsed_at.map(|at| Refusal::Lapsed {
            state: self.state,
            at,
        })
    }

    /// The reminder due at `now`, if any: the most urgent mark passed and not
    /// yet sent, before a consent or first-submit deadline still ahead
    /// (R-REC-6). None for a nomination that lost the customer to another
    /// partner (R-CONSENT-10).
    pub fn due_reminder(&self, now: Instant) -> Option<ReminderMark> {
        let now = self.not_before_last_change(now);
        let deadline = self.reminded_deadline()?;
        if deadline.is_past(now) {
            return None;
        }
        self.rules
            .reminders()
            .iter()
            .filter(|before| {
                before
                    .checked_before(deadline.at)
                    .is_some_and(|at| at <= now)
            })
            .min()
            .map(|before| ReminderMark {
                deadline: deadline.kind,
                before: *before,
            })
            .filter(|mark| !self.reminders_sent.contains(mark))
    }

    /// When the next reminder falls due, if one is still to come (R-REC-6).
    /// A mark that would fall before the first instant chrono represents is
    /// never due (only a deadline the core did not derive can have one).
    pub fn next_reminder_at(&self) -> Option<Instant> {
        let deadline = self.reminded_deadline()?;
        self.rules
            .reminders()
            .iter()
            .filter(|before| {
                !self.reminders_sent.contains(&ReminderMark {
                    deadline: deadline.kind,
                    before: **before,
                })
            })
            .filter_map(|before| before.checked_before(deadline.at))
            .min()
    }

    /// The deadline reminders are sent before: consent and first submit;
    /// none for a nomination that lost the customer to another partner,
    /// which asks for nothing more (R-CONSENT-10).
    fn reminded_deadline(&self) -> Option<Deadline> {
        if self.consent.lost_at.is_some() {
            return None;
        }
        self.deadline().filter(|d| {
            matches!(
                d.kind,
                DeadlineKind::ObtainConsent | DeadlineKind::FirstSubmit
            )
        })
    }

    /// The next instant the sweep should look at this nomination: its next
    /// reminder or its deadline, whichever is first (for a nomination that
    /// lost the customer to another partner, its consent deadline alone,
    /// R-CONSENT-10).
    pub fn wake_at(&self) -> Option<Instant> {
        match (self.next_reminder_at(), self.deadline().map(|d| d.at)) {
            (Some(reminder), Some(deadline)) => Some(reminder.min(deadline)),
            (reminder, deadline) => reminder.or(deadline),
        }
    }

    /// What the sweep does at `now`: lapse the nomination if its deadline has
    /// passed, else queue the reminder that is due, else nothing (R-TIME-4,
    /// R-REC-6). After a reminder, every longer mark before the same deadline
    /// counts as sent, so each reminder goes out at most once. A `now`
    /// outside the accepted range is refused and nothing changes (R-INPUT).
    pub fn wake(&self, now: Instant) -> Result<Option<Outcome>, InvalidValue> {
        let now = self.command_at(now)?;
        if self.due_lapse(now).is_some() {
            return Ok(self.lapse());
        }
        let Some(mark) = self.due_reminder(now) else {
            return Ok(None);
        };
        let Some(deadline) = self.deadline() else {
            return Ok(None);
        };
        let skipped: Vec<ReminderMark> = self
            .rules
            .reminders()
            .iter()
            .filter(|before| **before >= mark.before)
            .map(|before| ReminderMark {
                deadline: mark.deadline,
                before: *before,
            })
            .collect();
        let partner = self.partner_contacts.emails();
        Ok(Some(
            self.change(
                now,
                Actor::System,
                self.state,
                EventKind::Reminded {
                    deadline: deadline.at,
                    before: mark.before,
                },
                |next| {
                    for mark in skipped {
                        if !next.reminders_sent.contains(&mark) {
                            next.reminders_sent.push(mark);
                        }
                    }
                },
            )
            .message(
                partner,
                MessageKind::DeadlineApproaching {
                    deadline: deadline.at,
                    before: mark.before,
                },
            ),
        ))
    }
}
