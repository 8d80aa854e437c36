//! The service's error: every case a caller can act on, sorted by what the
//! caller does about it ([`ErrorKind`]), with a stable machine code per
//! case and a problem object (RFC 9457) as its JSON form.

use crate::ports::PortError;
use mci_core::{
    EngagementId, EngagementRefusal, Ineligibility, InvalidValue, NominationId, Refusal,
};
use mci_store::{IdempotencyKey, StoreError};
use serde::ser::{SerializeMap, Serializer};

/// Why a call of the service failed. A failed call changed nothing.
///
/// # Kinds, HTTP statuses and what a caller does
///
/// | [`ErrorKind`] | status | the caller | cases (`code`) |
/// | --- | --- | --- | --- |
/// | `NotFound` | 404 | stops: there is nothing of that id it may see | `engagement_not_found`, `nomination_not_found` (R-ROLE-2), `link_not_valid` (R-TOKEN-3), `customer_not_known` (R-CLAIM-1) |
/// | `Forbidden` | 403 | acts as another user | `role_not_allowed` (R-ROLE-1) |
/// | `InvalidInput` | 422 | fixes the `field` the problem names, under its `rule` | `invalid_value` (R-INPUT...), `no_engagement_chosen`, `engagement_chosen_twice` (R-ADD-1), `no_tenant_for_domain` (R-ADD-3), `domain_mismatch` (R-ADD-4), `variable_pay_alone`, `hours_required`, `hours_over_maximum`, `hours_not_applicable` (R-ADD-8), `idempotency_key_mismatch` (R-REC-5) |
/// | `Refused` | 409 | does not repeat the call: a rule refuses it in the state things are in; `rule` names it | `not_choosable` (R-ADD-6), `ineligible`, `not_allowed_now`, `lapsed`, `already_answered`, `consented_to_another_partner`, `deal_size_frozen`, `contacts_frozen`, `missing_proof`, `already_disputed`, `not_submitted`, `survey_completed`, `stale_head` (R-LIST-4: read the claim again, field `seen`), `guard_violated`, `refused` |
/// | `Busy` | 503 | retries soon (`Retry-After: 1`): the nomination kept changing under the call | `busy` (R-REC-4), `conflict` |
/// | `Unavailable` | 503 | retries later, with backoff: a port or the store is down for a while | `port_unavailable`, `store_unavailable` |
/// | `Internal` | 500 | tells an operator; retrying does not help | `unreadable`, `port_failed`, `store_failed`, `invalid_commit`, `idempotency_key_used`, `replay_failed`, `directory_answer_mismatch` |
///
/// Why these statuses: 422 is what axum's own extractors answer for a body
/// that parses but does not validate, and what form-handling clients show
/// next to a field. A refusal by a rule is a conflict with the current
/// state of the nomination (RFC 9110, 409): not the input's fault, and not
/// worth repeating. Both kinds a retry can cure are 503, the status that
/// retrying clients (such as `reqwest-retry`'s default policy) retry and
/// that carries `Retry-After`; 409 they do not retry, which is right for a
/// refusal. Not found is 404 for every thing a caller names, whoever else
/// may hold it: another partner's nomination answers exactly like a
/// missing one (R-ROLE-2), and a link never says whether it was wrong,
/// voided or expired (R-TOKEN-3).
///
/// [`Error::is_retryable`] is [`ErrorKind::is_retryable`]: true for `Busy`
/// and `Unavailable` only.
///
/// # Mapping to HTTP
///
/// The error serialises as a problem object: `type` is left out (it is
/// `about:blank`), `title` is the status's phrase, `status`, `detail` (the
/// error's message), and the extension members `kind`, `code` (stable,
/// one per case), `rule` and `field` where there are some, `invalid` (what
/// is wrong with an input value) and `engagements` (each refused engagement
/// with its reasons, R-ADD-6). Send it as `application/problem+json` with
/// [`ErrorKind::http_status`]:
///
/// ```
/// use mci_engagements::{Error, ErrorKind};
/// use mci_core::Refusal;
///
/// /// What an HTTP handler answers for `error`: status, headers and body.
/// /// In axum, `impl IntoResponse for ApiError(Error)` returns
/// /// `(StatusCode::from_u16(status)?, headers, body).into_response()`.
/// fn respond(error: &Error) -> (u16, Vec<(&'static str, &'static str)>, String) {
///     let kind = error.kind();
///     let mut headers = vec![("content-type", "application/problem+json")];
///     if kind == ErrorKind::Busy {
///         headers.push(("retry-after", "1"));
///     }
///     let body = serde_json::to_string(error).unwrap_or_default();
///     (kind.http_status(), headers, body)
/// }
///
/// let (status, headers, body) = respond(&Error::from(Refusal::NotFound));
/// assert_eq!(status, 404);
/// assert_eq!(headers, [("content-type", "application/problem+json")]);
/// assert_eq!(
///     body,
///     r#"{"title":"Not Found","status":404,"detail":"no such nomination (R-ROLE-2)","kind":"not_found","code":"nomination_not_found","rule":"R-ROLE-2"}"#
/// );
/// ```
///
/// # Growth
///
/// `#[non_exhaustive]`: later versions add cases, so a match ends with a
/// wildcard arm; [`Error::kind`] sorts every case, those too, into what a
/// caller does. No variant repeats its source's words: a wrapped error is
/// either shown through (`Refused`, `Port`, `Store`, which forward both
/// message and source) or only its [`source()`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The rules refuse the command; the variant names the rule.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Another nomination stood in the way when the change was written: the
    /// customer consented to another partner (R-CONSENT-8), the partner
    /// already has a live nomination (R-ADD-7), or the limit of live
    /// nominations was reached (R-ENG-5). The reason never names the other
    /// partner (R-ROLE-3).
    #[error("{engagement}: {reason} ({})", reason.rule())]
    Ineligible {
        /// The engagement.
        engagement: EngagementId,
        /// Why.
        reason: Ineligibility,
    },
    /// No engagement has this id. The catalog is the same for every
    /// partner, so naming the id tells nothing about anyone.
    #[error("no engagement {0}")]
    UnknownEngagement(EngagementId),
    /// The nomination kept changing under the call: retry later (R-REC-4).
    #[error("the nomination kept changing; try again (R-REC-4)")]
    Busy,
    /// A port (directory, eligibility source, random source) failed;
    /// [`PortError::is_transient`] says whether a retry may help.
    #[error(transparent)]
    Port(#[from] PortError),
    /// The stored row of the nomination cannot be read back (corrupted,
    /// or written by a newer version): retrying does not help, an operator
    /// must repair or restore it. The reason is the decoder's words without
    /// any content of the row.
    #[error(
        "nomination {nomination} is stored but cannot be read back ({reason}); it needs an operator"
    )]
    Unreadable {
        /// The nomination.
        nomination: NominationId,
        /// Why, without any content of the row.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// A stored idempotent result could not be read back, or a result or
    /// command could not be serialised for its idempotency key. The
    /// decoder's words are the [`source()`](std::error::Error::source).
    #[error("the result stored for this idempotency key cannot be read")]
    Replay(#[source] serde_json::Error),
    /// The idempotency key was first used with another command, another
    /// nomination or another input. A key is bound to the command it was
    /// first used with: this call is refused, not answered with that
    /// command's result, and wrote nothing; give it a new key (R-REC-5).
    #[error(
        "the idempotency key {key} was first used with another command, nomination or input; use a new key (R-REC-5)"
    )]
    IdempotencyKeyMismatch {
        /// The key, within its scope.
        key: IdempotencyKey,
    },
}

/// What a caller does about an [`Error`], and the HTTP status that says it
/// (see the [table on `Error`](Error)).
///
/// `#[non_exhaustive]`: a later version may tell more cases apart; a
/// caller's wildcard arm should answer 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// Nothing of that id the caller may see: an engagement, a nomination
    /// (another partner's answers the same, R-ROLE-2), a link (R-TOKEN-3),
    /// a known customer (R-CLAIM-1). 404.
    NotFound,
    /// The user's role may not make the call (R-ROLE-1). 403.
    Forbidden,
    /// An input is refused: [`Error::field`] names it and [`Error::rule`]
    /// the rule. Fix it and call again. 422.
    InvalidInput,
    /// A rule refuses the call in the state things are in
    /// ([`Error::rule`]); the same call is refused again. 409.
    Refused,
    /// The nomination kept changing under the call (R-REC-4): the same
    /// call may succeed soon. 503, with `Retry-After`.
    Busy,
    /// A port or the store is unavailable for a while: the same call may
    /// succeed later, with backoff. 503.
    Unavailable,
    /// A fault retrying does not cure: an unreadable stored row, a port
    /// that answers what it cannot, a store that fails for good. 500.
    Internal,
}

impl ErrorKind {
    /// The HTTP status to answer with: 404, 403, 422, 409, 503, 503, 500.
    ///
    /// ```
    /// use mci_engagements::ErrorKind;
    ///
    /// assert_eq!(ErrorKind::InvalidInput.http_status(), 422);
    /// assert_eq!(ErrorKind::Refused.http_status(), 409);
    /// assert_eq!(ErrorKind::Busy.http_status(), 503);
    /// ```
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::NotFound => 404,
            ErrorKind::Forbidden => 403,
            ErrorKind::InvalidInput => 422,
            ErrorKind::Refused => 409,
            ErrorKind::Busy | ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }

    /// The status's reason phrase (RFC 9110), the problem object's `title`.
    pub fn title(self) -> &'static str {
        match self.http_status() {
            404 => "Not Found",
            403 => "Forbidden",
            422 => "Unprocessable Content",
            409 => "Conflict",
            503 => "Service Unavailable",
            _ => "Internal Server Error",
        }
    }

    /// Whether the same call may succeed when made again: `Busy` and
    /// `Unavailable`.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Busy | ErrorKind::Unavailable)
    }

    /// The kind's name in the problem object: `not_found`,
    /// `invalid_input`...
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Refused => "refused",
            ErrorKind::Busy => "busy",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<InvalidValue> for Error {
    fn from(invalid: InvalidValue) -> Self {
        Error::Refused(Refusal::Invalid(invalid))
    }
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::IdempotencyKeyMismatch { key } => Error::IdempotencyKeyMismatch { key },
            StoreError::Unreadable { nomination, reason } => {
                Error::Unreadable { nomination, reason }
            }
            error => Error::Store(error),
        }
    }
}

/// A refusal's kind, code and field.
fn refusal_case(refusal: &Refusal) -> (ErrorKind, &'static str, Option<&str>) {
    use ErrorKind::{Forbidden, Internal, InvalidInput, NotFound, Refused};
    match refusal {
        Refusal::RoleNotAllowed { .. } => (Forbidden, "role_not_allowed", None),
        Refusal::NotFound => (NotFound, "nomination_not_found", None),
        Refusal::InvalidLink => (NotFound, "link_not_valid", None),
        Refusal::CustomerNotKnown => (NotFound, "customer_not_known", Some("known_through")),
        Refusal::Invalid(invalid) => (InvalidInput, "invalid_value", Some(invalid.field())),
        Refusal::NoEngagementChosen => (InvalidInput, "no_engagement_chosen", Some("engagements")),
        Refusal::EngagementChosenTwice { .. } => {
            (InvalidInput, "engagement_chosen_twice", Some("engagements"))
        }
        Refusal::VariablePayAlone => (InvalidInput, "variable_pay_alone", Some("engagements")),
        Refusal::NoTenantForDomain { .. } => {
            (InvalidInput, "no_tenant_for_domain", Some("customer_email"))
        }
        Refusal::DomainMismatch { .. } => {
            (InvalidInput, "domain_mismatch", Some("mismatch_reason"))
        }
        Refusal::HoursRequired => (InvalidInput, "hours_required", Some("hours")),
        Refusal::HoursOverMaximum { .. } => (InvalidInput, "hours_over_maximum", Some("hours")),
        Refusal::HoursNotApplicable => (InvalidInput, "hours_not_applicable", Some("hours")),
        // The service asks the directory the question the input needs:
        // an answer that does not fit is the directory's fault.
        Refusal::DirectoryAnswerMismatch => (Internal, "directory_answer_mismatch", None),
        Refusal::NotChoosable { .. } => (Refused, "not_choosable", Some("engagements")),
        Refusal::NotAllowedNow { .. } => (Refused, "not_allowed_now", None),
        Refusal::Lapsed { .. } => (Refused, "lapsed", None),
        Refusal::ConsentedToAnotherPartner { .. } => {
            (Refused, "consented_to_another_partner", None)
        }
        Refusal::AlreadyAnswered { .. } => (Refused, "already_answered", None),
        Refusal::DealSizeFrozen => (Refused, "deal_size_frozen", None),
        Refusal::ContactsFrozen => (Refused, "contacts_frozen", None),
        Refusal::MissingProof { .. } => (Refused, "missing_proof", None),
        Refusal::AlreadyDisputed => (Refused, "already_disputed", None),
        Refusal::NotSubmitted => (Refused, "not_submitted", None),
        Refusal::SurveyCompleted => (Refused, "survey_completed", None),
        Refusal::StaleHead { .. } => (Refused, "stale_head", Some("seen")),
        // A refusal of a later version of the core: a rule refuses it.
        _ => (Refused, "refused", None),
    }
}

/// A store error's kind and code.
fn store_case(error: &StoreError) -> (ErrorKind, &'static str) {
    use ErrorKind::{Busy, Internal, Refused, Unavailable};
    match error {
        error if error.is_conflict() => (Busy, "conflict"),
        StoreError::GuardViolated { .. } => (Refused, "guard_violated"),
        StoreError::Unavailable(_) => (Unavailable, "store_unavailable"),
        StoreError::InvalidCommit(_) => (Internal, "invalid_commit"),
        // The service answers a used key with its first result: one that
        // reaches a caller is a fault of the service.
        StoreError::IdempotencyKeyUsed => (Internal, "idempotency_key_used"),
        StoreError::IdempotencyKeyMismatch { .. } => {
            (ErrorKind::InvalidInput, "idempotency_key_mismatch")
        }
        StoreError::Unreadable { .. } => (Internal, "unreadable"),
        _ => (Internal, "store_failed"),
    }
}

impl Error {
    /// What the caller does about the error; see the
    /// [table on `Error`](Error).
    ///
    /// ```
    /// use mci_engagements::{Error, ErrorKind};
    /// use mci_core::Refusal;
    ///
    /// assert_eq!(Error::from(Refusal::InvalidLink).kind(), ErrorKind::NotFound);
    /// assert_eq!(Error::from(Refusal::HoursRequired).kind(), ErrorKind::InvalidInput);
    /// assert_eq!(Error::from(Refusal::AlreadyDisputed).kind(), ErrorKind::Refused);
    /// assert_eq!(Error::Busy.kind(), ErrorKind::Busy);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.case().0
    }

    /// The stable machine code of the case, such as `not_choosable` or
    /// `hours_over_maximum`: the problem object's `code`. Codes are never
    /// renamed; later versions add some.
    pub fn code(&self) -> &'static str {
        self.case().1
    }

    /// The input field the error is about, where there is one: the field
    /// an [`InvalidValue`] names, `hours`, `engagements`,
    /// `customer_email`, `idempotency_key`...
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Refused(refusal) => refusal_case(refusal).2,
            Error::IdempotencyKeyMismatch { .. } => Some("idempotency_key"),
            _ => None,
        }
    }

    fn case(&self) -> (ErrorKind, &'static str) {
        use ErrorKind::{Busy, Internal, InvalidInput, NotFound, Refused, Unavailable};
        match self {
            Error::Refused(refusal) => {
                let (kind, code, _) = refusal_case(refusal);
                (kind, code)
            }
            Error::Ineligible { .. } => (Refused, "ineligible"),
            Error::UnknownEngagement(_) => (NotFound, "engagement_not_found"),
            Error::Busy => (Busy, "busy"),
            Error::Port(port) if port.is_transient() => (Unavailable, "port_unavailable"),
            Error::Port(_) => (Internal, "port_failed"),
            Error::Unreadable { .. } => (Internal, "unreadable"),
            Error::Store(error) => store_case(error),
            Error::Replay(_) => (Internal, "replay_failed"),
            Error::IdempotencyKeyMismatch { .. } => (InvalidInput, "idempotency_key_mismatch"),
        }
    }

    /// The SPEC rule behind the error, where there is one.
    pub fn rule(&self) -> Option<&str> {
        match self {
            Error::Refused(refusal) => Some(refusal.rule()),
            Error::Ineligible { reason, .. } => Some(reason.rule()),
            Error::Busy => Some("R-REC-4"),
            Error::IdempotencyKeyMismatch { .. } => Some("R-REC-5"),
            Error::Store(error) => error.rule(),
            _ => None,
        }
    }

    /// Whether the same call may succeed when made again:
    /// [`ErrorKind::Busy`] (the nomination kept changing, R-REC-4; a
    /// store conflict) and [`ErrorKind::Unavailable`] (a port whose
    /// failure [is transient](PortError::is_transient), a store that is
    /// [unavailable](StoreError::Unavailable), such as a commit group that
    /// failed and wrote nothing). Never a refusal, an input error or a
    /// fault an operator must fix.
    pub fn is_retryable(&self) -> bool {
        self.kind().is_retryable()
    }

    /// The engagements refused, with their reasons: each one an add or
    /// claim refused (R-ADD-6), or the one an ineligible write was for.
    fn refused_engagements(&self) -> Option<Vec<RefusedJson<'_>>> {
        fn one<'a>(engagement: &'a EngagementId, reasons: &'a [Ineligibility]) -> RefusedJson<'a> {
            RefusedJson {
                engagement,
                reasons: reasons.iter().map(ReasonJson::of).collect(),
            }
        }
        match self {
            Error::Refused(Refusal::NotChoosable { refused }) => Some(
                refused
                    .iter()
                    .map(
                        |EngagementRefusal {
                             engagement,
                             reasons,
                         }| one(engagement, reasons),
                    )
                    .collect(),
            ),
            Error::Ineligible { engagement, reason } => {
                Some(vec![one(engagement, std::slice::from_ref(reason))])
            }
            _ => None,
        }
    }
}

/// An engagement refused, in the problem object.
#[derive(serde::Serialize)]
struct RefusedJson<'a> {
    engagement: &'a EngagementId,
    reasons: Vec<ReasonJson<'a>>,
}

/// A reason an engagement is refused, in the problem object: the
/// [`Ineligibility`] as it serialises (`kind` and its fields), its rule and
/// its words.
#[derive(serde::Serialize)]
struct ReasonJson<'a> {
    #[serde(flatten)]
    reason: &'a Ineligibility,
    rule: &'static str,
    detail: String,
}

impl<'a> ReasonJson<'a> {
    fn of(reason: &'a Ineligibility) -> Self {
        Self {
            reason,
            rule: reason.rule(),
            detail: reason.to_string(),
        }
    }
}

/// The problem object (RFC 9457): `title`, `status`, `detail`, and the
/// members `kind`, `code`, `rule`, `field`, `invalid` and `engagements`
/// where they apply; see [`Error`].
impl serde::Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let kind = self.kind();
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("title", kind.title())?;
        map.serialize_entry("status", &kind.http_status())?;
        map.serialize_entry("detail", &self.to_string())?;
        map.serialize_entry("kind", &kind)?;
        map.serialize_entry("code", self.code())?;
        if let Some(rule) = self.rule() {
            map.serialize_entry("rule", rule)?;
        }
        if let Some(field) = self.field() {
            map.serialize_entry("field", field)?;
        }
        if let Error::Refused(Refusal::Invalid(invalid)) = self {
            map.serialize_entry("invalid", invalid.problem())?;
        }
        if let Some(engagements) = self.refused_engagements() {
            map.serialize_entry("engagements", &engagements)?;
        }
        map.end()
    }
}

/// `error`'s message followed by those of its sources, each once: what a
/// report of a failure that is not returned (a sweep's) keeps.
pub(crate) fn with_sources(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The result of a call of the service.
pub type Result<T, E = Error> = std::result::Result<T, E>;
