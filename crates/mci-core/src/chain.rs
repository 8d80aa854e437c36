//! A history anyone can check (R-LIST-4).
//!
//! Each [`Event`] carries the SHA-256 of the nomination's previous event
//! (`previous`, absent for version 1) and of its own canonical content
//! (`hash`): the SHA-256 of the RFC 8785 canonical form of the event's JSON
//! object without its `hash` member. A nomination's history is thus a hash
//! chain, and since the hash is taken over the canonical form, no store's
//! encoding (PostgreSQL's `jsonb` reorders keys) changes it.
//!
//! A chain alone cannot stop whoever holds the database from rewriting it
//! whole or cutting its tail, so its [`Head`] (version and last hash)
//! leaves the system: every answer about a nomination and every message to
//! its partner carries it, and a partner can keep them. [`verify_export`]
//! checks a history export (JSON Lines of [`ExportLine`]s) against its own
//! chain and against any heads kept, and names the first event changed,
//! removed, inserted or reordered, or a tail cut short of a head.
//!
//! ```
//! use mci_core::{ExportLine, verify_export};
//! use mci_testkit::Scenario;
//!
//! let history = Scenario::approved().events;
//! let export: String = history
//!     .iter()
//!     .map(|event| ExportLine::Event(event.clone()).to_json_line())
//!     .collect();
//! let heads = verify_export(&export, &[]).unwrap();
//! assert_eq!(heads[0], history.last().unwrap().head());
//!
//! // One event's time moved by a second: found and named.
//! let forged = export.replacen(":00:00Z", ":00:01Z", 1);
//! let broken = verify_export(&forged, &[]).unwrap_err();
//! assert_eq!(broken.to_string(), format!("line 1: event 1 of nomination {} was changed: its content does not match its hash (R-LIST-4)", history[0].nomination));
//! ```

use crate::{Event, NominationId, Sha256Digest};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The head of a nomination's history: its version and the hash of the
/// event that made it (R-LIST-4). A partner who keeps heads can later prove
/// that a history was rewritten or cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Head {
    /// The nomination.
    pub nomination: NominationId,
    /// Its version: the number of events in its history.
    pub version: u64,
    /// The hash of its last event.
    pub hash: Sha256Digest,
}

/// The hash of an event in its JSON form (R-LIST-4): the SHA-256 of the
/// RFC 8785 canonical form of the object without its `hash` member. Answers
/// `None` when `event` is not a JSON object.
pub fn event_hash(event: &Value) -> Option<Sha256Digest> {
    let mut content = event.as_object()?.clone();
    content.remove("hash");
    // Canonicalising a JSON value that came from JSON cannot fail: every
    // number is finite and every key is a string.
    let canonical = serde_json_canonicalizer::to_vec(&Value::Object(content)).ok()?;
    Some(Sha256Digest::from_bytes(Sha256::digest(&canonical).into()))
}

impl Event {
    /// The event with `previous` set and its hash computed over the rest
    /// (R-LIST-4). Every event the domain makes is sealed.
    pub(crate) fn sealed(mut self, previous: Option<Sha256Digest>) -> Event {
        self.previous = previous;
        if let Ok(json) = serde_json::to_value(&self)
            && let Some(hash) = event_hash(&json)
        {
            self.hash = hash;
        }
        self
    }

    /// The head of the history this event ends.
    pub fn head(&self) -> Head {
        Head {
            nomination: self.nomination,
            version: self.version,
            hash: self.hash,
        }
    }
}

/// Chains a history written before histories were chained (R-LIST-4), for
/// a store's migration: `docs` are the stored JSON documents of one
/// nomination's events in version order, and the answer is those events
/// chained, each to be stored again as it serialises. `None` when a
/// document does not read as an event: the store leaves that history as it
/// is, since reading it already fails as unreadable.
///
/// The hash covers an event as it serialises today, so that an export made
/// from the events a store reads back verifies. A field added to [`Event`]
/// or its kinds later must therefore be left out of the serialised form
/// when it has its default (`skip_serializing_if`), or old hashes would no
/// longer match.
pub fn chain_stored_history<S: AsRef<str>>(docs: &[S]) -> Option<Vec<Event>> {
    let mut previous = None;
    let mut chained = Vec::with_capacity(docs.len());
    for doc in docs {
        let mut json: Value = serde_json::from_str(doc.as_ref()).ok()?;
        let object = json.as_object_mut()?;
        object.insert(String::from("previous"), Value::Null);
        object.insert(String::from("hash"), Value::from("00".repeat(32)));
        let event: Event = serde_json::from_value(json).ok()?;
        let event = event.sealed(previous);
        previous = Some(event.hash);
        chained.push(event);
    }
    Some(chained)
}

/// A stored nomination document with the hash of its history's last event
/// (R-LIST-4), for a store's migration after [`chain_stored_history`]; `None`
/// when the document is not a JSON object.
pub fn with_last_hash(nomination_doc: &str, last: &Event) -> Option<String> {
    let mut json: Value = serde_json::from_str(nomination_doc).ok()?;
    json.as_object_mut()?.insert(
        String::from("last_hash"),
        Value::from(last.hash.to_string()),
    );
    Some(json.to_string())
}

/// One line of a history export (R-LIST-4): JSON Lines, every event of a
/// nomination in version order, then its head.
///
/// ```text
/// {"event":{"nomination":"…","version":1,…,"previous":null,"hash":"…"}}
/// {"head":{"nomination":"…","version":7,"hash":"…"}}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
// A line is written or read one at a time, never kept in bulk: boxing the
// event would only cost an allocation per line.
#[allow(clippy::large_enum_variant)]
pub enum ExportLine {
    /// An event as the store keeps it.
    Event(Event),
    /// The head of a nomination's history when it was exported.
    Head(Head),
}

impl ExportLine {
    /// The line's JSON and its newline.
    pub fn to_json_line(&self) -> String {
        // Serialising these types cannot fail: no map has non-string keys.
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }
}

/// The history export of one nomination (R-LIST-4): every event of
/// `history` as a line, in the order given, then the head of the last one.
/// An export of many nominations is theirs one after another, each with
/// its head; [`verify_export`] checks both. Empty for an empty history.
///
/// ```
/// use mci_core::{history_export, verify_export};
/// use mci_testkit::Scenario;
///
/// let history = Scenario::approved().events;
/// let export = history_export(&history);
/// assert_eq!(export.lines().count(), history.len() + 1);
/// assert!(export.lines().last().unwrap().starts_with(r#"{"head":"#));
/// assert_eq!(verify_export(&export, &[]).unwrap(), [history.last().unwrap().head()]);
/// ```
pub fn history_export(history: &[Event]) -> String {
    let mut export = String::new();
    for event in history {
        export.push_str(&ExportLine::Event(event.clone()).to_json_line());
    }
    if let Some(last) = history.last() {
        export.push_str(&ExportLine::Head(last.head()).to_json_line());
    }
    export
}

/// What [`verify_export`] found wrong, naming the first event or head at
/// fault and the line of the export it is on (from 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainBreak {
    /// A line is not an event or a head.
    #[error("line {line}: not an event or a head of a history export: {reason} (R-LIST-4)")]
    Unreadable {
        /// The line.
        line: usize,
        /// Why, in the JSON reader's words.
        reason: String,
    },
    /// An event's content does not match its own hash.
    #[error(
        "line {line}: event {version} of nomination {nomination} was changed: its content does not match its hash (R-LIST-4)"
    )]
    Changed {
        /// The line.
        line: usize,
        /// The nomination.
        nomination: NominationId,
        /// The event's version.
        version: u64,
    },
    /// An event does not cite the hash of the event before it: one of
    /// them was changed and its hash computed again, or an event was put
    /// between them.
    #[error(
        "line {line}: event {version} of nomination {nomination} does not follow event {}: one of them was changed and hashed again, or an event was put between them (R-LIST-4)",
        version - 1
    )]
    Unlinked {
        /// The line.
        line: usize,
        /// The nomination.
        nomination: NominationId,
        /// The event's version.
        version: u64,
    },
    /// An event of the history is missing.
    #[error("line {line}: event {version} of nomination {nomination} was removed (R-LIST-4)")]
    Removed {
        /// The line where it was expected.
        line: usize,
        /// The nomination.
        nomination: NominationId,
        /// The missing event's version.
        version: u64,
    },
    /// An event appears again, or a second event claims its version.
    #[error(
        "line {line}: event {version} of nomination {nomination} was inserted: the history already has an event {version} (R-LIST-4)"
    )]
    Inserted {
        /// The line.
        line: usize,
        /// The nomination.
        nomination: NominationId,
        /// The version claimed twice.
        version: u64,
    },
    /// Events are out of order: the expected event comes later.
    #[error(
        "line {line}: event {version} of nomination {nomination} was moved: it comes after a later event (R-LIST-4)"
    )]
    Reordered {
        /// The line where it was expected.
        line: usize,
        /// The nomination.
        nomination: NominationId,
        /// The version out of place.
        version: u64,
    },
    /// A head (kept by the partner, or the export's own) names a hash that
    /// the history's event of that version does not have: the history was
    /// rewritten.
    #[error(
        "event {} of nomination {} was rewritten: the head kept names another hash (R-LIST-4)",
        head.version, head.nomination
    )]
    Rewritten {
        /// The head that does not match.
        head: Head,
    },
    /// A head names a version the history does not reach: its tail was cut.
    #[error(
        "the history of nomination {} was cut at version {found}: a head kept names version {} (R-LIST-4)",
        head.nomination, head.version
    )]
    TailCut {
        /// The head beyond the history.
        head: Head,
        /// The last version the history has (0 when it has none).
        found: u64,
    },
}

/// Checks a history export (R-LIST-4): every event's hash against its
/// content, every event's `previous` against the event before it, versions
/// from 1 without gap, repeat or reordering, and the export's own heads and
/// the heads in `kept` against the chain. Answers the verified head of
/// every nomination in the export, in the order they first appear, or the
/// first break found.
pub fn verify_export(export: &str, kept: &[Head]) -> Result<Vec<Head>, ChainBreak> {
    let mut chains: BTreeMap<NominationId, Chain> = BTreeMap::new();
    let mut order = Vec::new();
    let mut heads = Vec::new();
    for (index, text) in export.lines().enumerate() {
        let line = index + 1;
        if text.trim().is_empty() {
            continue;
        }
        let unreadable = |reason: String| ChainBreak::Unreadable { line, reason };
        let value: Value = serde_json::from_str(text).map_err(|e| unreadable(e.to_string()))?;
        if let Some(head) = value.get("head") {
            let head: Head =
                serde_json::from_value(head.clone()).map_err(|e| unreadable(e.to_string()))?;
            heads.push(head);
            continue;
        }
        let Some(json) = value.get("event") else {
            return Err(unreadable(String::from("neither \"event\" nor \"head\"")));
        };
        let event = Link::read(json).map_err(unreadable)?;
        let chain = chains.entry(event.nomination).or_insert_with(|| {
            order.push(event.nomination);
            Chain::default()
        });
        chain.links.push((line, event));
    }
    let mut verified = Vec::with_capacity(order.len());
    let mut first: Option<(usize, ChainBreak)> = None;
    for nomination in &order {
        let chain = &chains[nomination];
        match chain.check(*nomination) {
            Ok(head) => verified.push(head),
            Err((line, broken)) => {
                if first.as_ref().is_none_or(|(at, _)| line < *at) {
                    first = Some((line, broken));
                }
            }
        }
    }
    if let Some((_, broken)) = first {
        return Err(broken);
    }
    for head in heads.iter().chain(kept) {
        let chain = chains.get(&head.nomination);
        let found = chain.map_or(0, |c| c.links.len() as u64);
        if head.version > found {
            return Err(ChainBreak::TailCut { head: *head, found });
        }
        let matches = chain
            .and_then(|c| c.links.get(head.version.checked_sub(1)? as usize))
            .is_some_and(|(_, link)| link.hash == head.hash);
        if !matches {
            return Err(ChainBreak::Rewritten { head: *head });
        }
    }
    Ok(verified)
}

/// The events of one nomination in the order of the export, with the line
/// each is on.
#[derive(Default)]
struct Chain {
    links: Vec<(usize, Link)>,
}

/// What the verifier reads of an event: its place in the chain, and its
/// hash as stored and as computed.
struct Link {
    nomination: NominationId,
    version: u64,
    previous: Option<Sha256Digest>,
    hash: Sha256Digest,
    computed: Option<Sha256Digest>,
}

impl Link {
    fn read(json: &Value) -> Result<Link, String> {
        #[derive(Deserialize)]
        struct Place {
            nomination: NominationId,
            version: u64,
            #[serde(default)]
            previous: Option<Sha256Digest>,
            hash: Sha256Digest,
        }
        let place: Place = serde_json::from_value(json.clone()).map_err(|e| e.to_string())?;
        Ok(Link {
            nomination: place.nomination,
            version: place.version,
            previous: place.previous,
            hash: place.hash,
            computed: event_hash(json),
        })
    }
}

impl Chain {
    fn check(&self, nomination: NominationId) -> Result<Head, (usize, ChainBreak)> {
        let mut previous: Option<Sha256Digest> = None;
        for (position, (line, link)) in self.links.iter().enumerate() {
            let line = *line;
            let expected = position as u64 + 1;
            let version = link.version;
            if link.computed != Some(link.hash) {
                return Err((
                    line,
                    ChainBreak::Changed {
                        line,
                        nomination,
                        version,
                    },
                ));
            }
            if version < expected {
                return Err((
                    line,
                    ChainBreak::Inserted {
                        line,
                        nomination,
                        version,
                    },
                ));
            }
            if version > expected {
                let later = self.links[position..]
                    .iter()
                    .any(|(_, l)| l.version == expected);
                let broken = if later {
                    ChainBreak::Reordered {
                        line,
                        nomination,
                        version: expected,
                    }
                } else {
                    ChainBreak::Removed {
                        line,
                        nomination,
                        version: expected,
                    }
                };
                return Err((line, broken));
            }
            if link.previous != previous {
                return Err((
                    line,
                    ChainBreak::Unlinked {
                        line,
                        nomination,
                        version,
                    },
                ));
            }
            previous = Some(link.hash);
        }
        let (_, last) = self.links.last().ok_or((
            0,
            ChainBreak::Removed {
                line: 0,
                nomination,
                version: 1,
            },
        ))?;
        Ok(Head {
            nomination,
            version: last.version,
            hash: last.hash,
        })
    }
}
