//! R-LIST-4: a nomination's history is a hash chain, and its export is
//! checked offline: any single change to an exported history is found,
//! and a whole-chain rewrite is found against a head the partner kept.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mci_core::{ChainBreak, Event, ExportLine, Head, event_hash, verify_export};
use mci_testkit::Scenario;
use proptest::prelude::*;
use serde_json::Value;

/// Two nominations' histories, interleaved as a partner's export may have
/// them, as JSON values of their events.
fn histories() -> (Vec<Event>, Vec<Event>) {
    let first = Scenario::approved().events;
    let user = mci_testkit::admin();
    let second = Scenario::added_by(
        &user,
        &mci_testkit::workshop().0,
        mci_testkit::nomination_id(2),
    )
    .consent_given()
    .prove_everything()
    .submit()
    .events;
    (first, second)
}

fn lines_of(events: &[Event]) -> Vec<Value> {
    events
        .iter()
        .map(|e| serde_json::to_value(ExportLine::Event(e.clone())).unwrap())
        .collect()
}

fn export_of(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn r_list_4_every_event_cites_the_hash_of_the_one_before_and_of_its_own_content() {
    let (history, _) = histories();
    assert!(history.len() >= 8, "{}", history.len());
    assert_eq!(history[0].previous, None);
    for pair in history.windows(2) {
        assert_eq!(pair[1].previous, Some(pair[0].hash));
        assert_eq!(pair[1].version, pair[0].version + 1);
    }
    for event in &history {
        let json = serde_json::to_value(event).unwrap();
        assert_eq!(event_hash(&json), Some(event.hash));
    }
    // The nomination's head is its last event's.
    let scenario = Scenario::approved();
    assert_eq!(
        scenario.nomination.head(),
        Some(scenario.events.last().unwrap().head())
    );
    // Every message names the head of the change that queued it.
    for message in &scenario.messages {
        let head = message.head.unwrap();
        assert_eq!(scenario.events[head.version as usize - 1].head(), head);
    }
}

#[test]
fn r_list_4_the_hash_is_of_the_canonical_form_whatever_the_encoding() {
    let (history, _) = histories();
    let event = &history[3];
    let json = serde_json::to_value(event).unwrap();
    // Keys in another order and spaces, as jsonb or another store may give
    // them back: the same hash.
    let Value::Object(map) = &json else { panic!() };
    let reordered: String = {
        let members: Vec<String> = map
            .iter()
            .rev()
            .map(|(k, v)| format!("  {} :  {}", Value::from(k.as_str()), v))
            .collect();
        format!("{{ {} }}", members.join(" ,\n"))
    };
    let reread: Value = serde_json::from_str(&reordered).unwrap();
    assert_eq!(event_hash(&reread), Some(event.hash));
    // The hash does not cover itself: another value in `hash` changes
    // nothing of the content's hash.
    let mut other = json.clone();
    other["hash"] = Value::from("00".repeat(32));
    assert_eq!(event_hash(&other), Some(event.hash));
}

#[test]
fn r_list_4_an_untouched_export_verifies_with_its_heads_and_the_heads_kept() {
    let (first, second) = histories();
    let mut lines = lines_of(&first);
    lines.extend(lines_of(&second));
    for history in [&first, &second] {
        let head = history.last().unwrap().head();
        lines.push(serde_json::to_value(ExportLine::Head(head)).unwrap());
    }
    let kept: Vec<Head> = first.iter().chain(&second).map(Event::head).collect();
    let heads = verify_export(&export_of(&lines), &kept).unwrap();
    assert_eq!(
        heads,
        vec![first.last().unwrap().head(), second.last().unwrap().head()]
    );
}

#[test]
fn r_list_4_a_cut_tail_is_found_against_a_head_kept() {
    let (history, _) = histories();
    let lines = lines_of(&history[..history.len() - 2]);
    let export = export_of(&lines);
    // Alone, a shorter chain is a valid chain ...
    verify_export(&export, &[]).unwrap();
    // ... but not against the head the partner kept.
    let kept = history.last().unwrap().head();
    assert_eq!(
        verify_export(&export, &[kept]),
        Err(ChainBreak::TailCut {
            head: kept,
            found: kept.version - 2
        })
    );
    // A nomination whose whole history is gone.
    assert_eq!(
        verify_export("", &[kept]),
        Err(ChainBreak::TailCut {
            head: kept,
            found: 0
        })
    );
}

/// Every leaf of a JSON value, as a path of keys and indexes.
fn leaves(value: &Value, path: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                path.push(Value::from(k.as_str()));
                leaves(v, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(Value::from(i));
                leaves(v, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn at<'a>(value: &'a mut Value, path: &[Value]) -> &'a mut Value {
    path.iter().fold(value, |v, key| match key {
        Value::String(k) => &mut v[k.as_str()],
        Value::Number(i) => &mut v[i.as_u64().unwrap() as usize],
        _ => unreachable!(),
    })
}

/// A different value of the same JSON kind.
fn other(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::from(format!("{s}x")),
        Value::Number(n) => Value::from(n.as_u64().map_or(1, |n| n + 1)),
        Value::Bool(b) => Value::from(!b),
        Value::Null => Value::from("set"),
        _ => unreachable!("leaves only"),
    }
}

/// One change to an export.
#[derive(Debug, Clone)]
enum Change {
    /// A leaf of an event changed, and with `rehash` its hash computed again.
    Edit {
        line: usize,
        leaf: usize,
        rehash: bool,
    },
    Remove {
        line: usize,
    },
    Duplicate {
        line: usize,
        to: usize,
    },
    Swap {
        line: usize,
    },
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (any::<usize>(), any::<usize>(), any::<bool>())
            .prop_map(|(line, leaf, rehash)| { Change::Edit { line, leaf, rehash } }),
        any::<usize>().prop_map(|line| Change::Remove { line }),
        (any::<usize>(), any::<usize>()).prop_map(|(line, to)| Change::Duplicate { line, to }),
        any::<usize>().prop_map(|line| Change::Swap { line }),
    ]
}

/// Computes an event line's hash again after its content changed, as a
/// forger who knows the scheme would.
fn rehash(line: &mut Value) {
    let hash = event_hash(&line["event"]).unwrap();
    line["event"]["hash"] = Value::from(hash.to_string());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// R-LIST-4: any single change to an exported history (an edited
    /// field, with or without its hash computed again, a removed,
    /// duplicated or moved event) is found, either by the chain itself or
    /// against the heads the partner kept of every change; the export's
    /// own head lines are left out, as a forger would drop them.
    #[test]
    fn r_list_4_any_single_change_to_an_export_is_found(change in change()) {
        let (first, second) = histories();
        let mut lines = lines_of(&first);
        lines.extend(lines_of(&second));
        let kept: Vec<Head> = first.iter().chain(&second).map(Event::head).collect();
        let n = lines.len();
        let changed = match change.clone() {
            Change::Edit { line, leaf, rehash: again } => {
                let line = line % n;
                let mut paths = Vec::new();
                leaves(&lines[line]["event"], &mut Vec::new(), &mut paths);
                paths.retain(|p| p != &[Value::from("hash")]);
                let path = &paths[leaf % paths.len()];
                let target = at(&mut lines[line]["event"], path);
                *target = other(target);
                if again {
                    rehash(&mut lines[line]);
                }
                true
            }
            Change::Remove { line } => {
                lines.remove(line % n);
                true
            }
            Change::Duplicate { line, to } => {
                let copy = lines[line % n].clone();
                lines.insert(to % (n + 1), copy);
                true
            }
            Change::Swap { line } => {
                let line = line % (n - 1);
                let same = lines[line]["event"]["nomination"] == lines[line + 1]["event"]["nomination"];
                lines.swap(line, line + 1);
                // Two nominations' events side by side may change places:
                // each history keeps its order.
                same
            }
        };
        let verdict = verify_export(&export_of(&lines), &kept);
        prop_assert_eq!(verdict.is_err(), changed, "{:?}: {:?}", change, verdict);
    }

    /// R-LIST-4: a whole-chain rewrite (one event changed and every hash
    /// after it computed again) is a valid chain on its own, and is found
    /// against a head the partner kept.
    #[test]
    fn r_list_4_a_rewritten_chain_is_found_against_a_kept_head(line in 0usize..8, leaf in any::<usize>()) {
        let (history, _) = histories();
        let mut lines = lines_of(&history);
        let mut paths = Vec::new();
        leaves(&lines[line]["event"], &mut Vec::new(), &mut paths);
        paths.retain(|p| p != &[Value::from("hash")] && p != &[Value::from("previous")] && p != &[Value::from("version")] && p != &[Value::from("nomination")]);
        let path = paths[leaf % paths.len()].clone();
        let target = at(&mut lines[line]["event"], &path);
        *target = other(target);
        for i in line..lines.len() {
            if i > line {
                let previous = lines[i - 1]["event"]["hash"].clone();
                lines[i]["event"]["previous"] = previous;
            }
            rehash(&mut lines[i]);
        }
        let export = export_of(&lines);
        prop_assert!(verify_export(&export, &[]).is_ok());
        let kept = history.last().unwrap().head();
        prop_assert_eq!(verify_export(&export, &[kept]), Err(ChainBreak::Rewritten { head: kept }));
    }
}

#[test]
fn r_list_4_each_break_is_named_with_its_line_and_event() {
    let (history, _) = histories();
    let id = history[0].nomination;
    let lines = lines_of(&history);

    let mut removed = lines.clone();
    removed.remove(2);
    assert_eq!(
        verify_export(&export_of(&removed), &[]),
        Err(ChainBreak::Removed {
            line: 3,
            nomination: id,
            version: 3
        })
    );

    let mut swapped = lines.clone();
    swapped.swap(2, 3);
    assert_eq!(
        verify_export(&export_of(&swapped), &[]),
        Err(ChainBreak::Reordered {
            line: 3,
            nomination: id,
            version: 3
        })
    );

    let mut doubled = lines.clone();
    doubled.insert(3, lines[2].clone());
    assert_eq!(
        verify_export(&export_of(&doubled), &[]),
        Err(ChainBreak::Inserted {
            line: 4,
            nomination: id,
            version: 3
        })
    );

    let mut edited = lines.clone();
    edited[4]["event"]["at"] = Value::from("2020-01-01T00:00:00Z");
    assert_eq!(
        verify_export(&export_of(&edited), &[]),
        Err(ChainBreak::Changed {
            line: 5,
            nomination: id,
            version: 5
        })
    );
    rehash(&mut edited[4]);
    assert_eq!(
        verify_export(&export_of(&edited), &[]),
        Err(ChainBreak::Unlinked {
            line: 6,
            nomination: id,
            version: 6
        })
    );

    let garbage = format!("{}not json\n", export_of(&lines[..2]));
    assert!(matches!(
        verify_export(&garbage, &[]),
        Err(ChainBreak::Unreadable { line: 3, .. })
    ));
}

#[test]
fn r_list_4_a_history_stored_before_chaining_is_chained_as_the_domain_chains_it() {
    let (history, _) = histories();
    let unchained: Vec<String> = history
        .iter()
        .map(|event| {
            let mut json = serde_json::to_value(event).unwrap();
            let object = json.as_object_mut().unwrap();
            object.remove("previous");
            object.remove("hash");
            json.to_string()
        })
        .collect();
    assert_eq!(
        mci_core::chain_stored_history(&unchained),
        Some(history.clone())
    );
    // Chaining again changes nothing.
    let chained: Vec<String> = history
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    assert_eq!(mci_core::chain_stored_history(&chained), Some(history));
    assert_eq!(
        mci_core::chain_stored_history(&["{\"not\":\"an event\"}"]),
        None
    );
}

/// `count` nominations of one partner, each with its own history: what a
/// partner-wide export holds (R-LIST-4).
fn partner_histories(count: u64) -> Vec<Vec<Event>> {
    let user = mci_testkit::admin();
    let workshop = mci_testkit::workshop().0;
    (1..=count)
        .map(|n| {
            let scenario =
                Scenario::added_by(&user, &workshop, mci_testkit::nomination_id(100 + n));
            // Histories of different lengths, so that no two breaks share a line.
            match n % 3 {
                0 => scenario.events,
                1 => scenario.consent_given().events,
                _ => scenario.consent_given().prove_everything().submit().events,
            }
        })
        .collect()
}

#[test]
fn r_list_4_a_partner_export_of_many_nominations_verifies_with_each_head() {
    let histories = partner_histories(6);
    let export: String = histories
        .iter()
        .map(|h| mci_core::history_export(h))
        .collect();
    let heads = verify_export(&export, &[]).unwrap();
    let expected: Vec<Head> = histories.iter().map(|h| h.last().unwrap().head()).collect();
    assert_eq!(
        heads, expected,
        "every nomination's head, in the export's order"
    );
    // Against every head the partner kept of every change: still verified.
    let kept: Vec<Head> = histories.iter().flatten().map(Event::head).collect();
    assert_eq!(verify_export(&export, &kept).unwrap(), expected);
}

#[test]
fn r_list_4_the_first_break_of_a_partner_export_is_named_by_nomination_and_event() {
    let histories = partner_histories(5);
    let mut lines: Vec<Value> = Vec::new();
    for history in &histories {
        lines.extend(lines_of(history));
        let head = history.last().unwrap().head();
        lines.push(serde_json::to_value(ExportLine::Head(head)).unwrap());
    }
    let line_of = |nomination: usize, version: usize| {
        histories[..nomination]
            .iter()
            .map(|h| h.len() + 1)
            .sum::<usize>()
            + version
    };
    // Two forgeries, in the fourth nomination and then in the second: the
    // one on the earlier line is named, with its nomination and event.
    let (late, early) = ((3, 2), (1, 3));
    for (nomination, version) in [late, early] {
        let line = line_of(nomination, version) - 1;
        lines[line]["event"]["at"] = Value::from("2020-01-01T00:00:00Z");
    }
    let broken = verify_export(&export_of(&lines), &[]).unwrap_err();
    let id = histories[early.0][0].nomination;
    assert_eq!(
        broken,
        ChainBreak::Changed {
            line: line_of(early.0, early.1),
            nomination: id,
            version: early.1 as u64,
        }
    );
    let text = broken.to_string();
    assert!(
        text.contains(&id.to_string()) && text.contains("event 3"),
        "{text}"
    );
}

#[test]
fn r_list_4_a_nomination_left_out_of_a_partner_export_is_found_against_its_kept_head() {
    let histories = partner_histories(4);
    let kept: Vec<Head> = histories.iter().map(|h| h.last().unwrap().head()).collect();
    // The third nomination's events and head are gone: the rest is a valid
    // export on its own ...
    let export: String = histories
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .map(|(_, h)| mci_core::history_export(h))
        .collect();
    assert_eq!(verify_export(&export, &[]).unwrap().len(), 3);
    // ... but the head the partner kept of it finds it missing, by name.
    let broken = verify_export(&export, &kept).unwrap_err();
    assert_eq!(
        broken,
        ChainBreak::TailCut {
            head: kept[2],
            found: 0
        }
    );
    assert!(broken.to_string().contains(&kept[2].nomination.to_string()));
}

#[test]
fn r_list_4_a_head_of_a_partner_export_that_does_not_match_its_chain_is_found() {
    let histories = partner_histories(3);
    let export: String = histories
        .iter()
        .map(|h| mci_core::history_export(h))
        .collect();
    let head = histories[1].last().unwrap().head();
    let line = serde_json::to_string(&ExportLine::Head(head)).unwrap();
    // A head claiming one event more than the export holds.
    let longer = Head {
        version: head.version + 1,
        ..head
    };
    let forged = export.replace(
        &line,
        &serde_json::to_string(&ExportLine::Head(longer)).unwrap(),
    );
    assert_eq!(
        verify_export(&forged, &[]),
        Err(ChainBreak::TailCut {
            head: longer,
            found: head.version
        })
    );
    // A head naming another hash.
    let other = Head {
        hash: histories[0][0].hash,
        ..head
    };
    let forged = export.replace(
        &line,
        &serde_json::to_string(&ExportLine::Head(other)).unwrap(),
    );
    assert_eq!(
        verify_export(&forged, &[]),
        Err(ChainBreak::Rewritten { head: other })
    );
}

// A reviewer's decision cites the hash of the last event it saw.

/// Each decision of the reviewer on `s`'s claim, citing `seen`.
type Decision = fn(
    &mci_core::Nomination,
    mci_core::Instant,
    mci_core::Sha256Digest,
) -> Result<mci_core::Outcome, mci_core::Refusal>;

fn decisions() -> Vec<(&'static str, Scenario, Decision)> {
    use mci_testkit::{comment, reviewer};
    vec![
        ("start_review", Scenario::submitted(), |n, now, seen| {
            n.start_review(now, &reviewer(), seen)
        }),
        (
            "request_partner_action",
            Scenario::under_review(),
            |n, now, seen| {
                n.request_partner_action(now, &reviewer(), seen, comment("Add the agenda"))
            },
        ),
        ("approve", Scenario::under_review(), |n, now, seen| {
            n.approve(now, &reviewer(), seen)
        }),
        ("reject", Scenario::under_review(), |n, now, seen| {
            n.reject(now, &reviewer(), seen, comment("Invoice unreadable"))
        }),
    ]
}

#[test]
fn r_list_4_a_decision_records_the_hash_it_cites_and_the_chain_still_verifies() {
    for (name, s, decide) in decisions() {
        let seen = mci_testkit::seen(&s.nomination);
        let outcome = decide(&s.nomination, s.now, seen).unwrap();
        assert_eq!(outcome.event.seen, Some(seen), "{name}");
        assert_eq!(outcome.event.previous, Some(seen), "{name}");
        assert_eq!(
            outcome.nomination.head(),
            Some(outcome.event.head()),
            "{name}"
        );
        for message in &outcome.messages {
            assert_eq!(message.head, Some(outcome.event.head()), "{name}");
        }
        let json = serde_json::to_value(&outcome.event).unwrap();
        assert_eq!(json["seen"], Value::from(seen.to_string()), "{name}");
        assert_eq!(event_hash(&json), Some(outcome.event.hash), "{name}");
        let mut events = s.events.clone();
        events.push(outcome.event.clone());
        let heads = verify_export(&export_of(&lines_of(&events)), &[]).unwrap();
        assert_eq!(heads, vec![outcome.event.head()], "{name}");
    }
}

#[test]
fn r_list_4_a_decision_citing_a_head_the_claim_has_moved_on_from_is_refused() {
    for (name, s, decide) in decisions() {
        // The reviewer read the claim; the partner then commented on it.
        let read = mci_testkit::seen(&s.nomination);
        let user = s.owner();
        let moved = s.then(|n, now| n.add_comment(now, &user, mci_testkit::comment("Agenda")));
        let refusal = moved.refusal(|n, now| decide(n, now, read));
        assert_eq!(
            refusal,
            mci_core::Refusal::StaleHead {
                seen: read,
                version: moved.nomination.version(),
            },
            "{name}"
        );
        assert_eq!(refusal.rule(), "R-LIST-4");
        assert!(
            refusal.to_string().starts_with("seen: "),
            "{name}: {refusal}"
        );
        // A hash of no event of this claim is refused the same way.
        let stranger = mci_core::Sha256Digest::from_bytes([7; 32]);
        assert!(matches!(
            moved.refusal(|n, now| decide(n, now, stranger)),
            mci_core::Refusal::StaleHead { .. }
        ));
        // The head read now is accepted.
        let fresh = mci_testkit::seen(&moved.nomination);
        assert!(
            decide(&moved.nomination, moved.now, fresh).is_ok(),
            "{name}"
        );
    }
}

#[test]
fn r_list_4_changes_that_cite_nothing_leave_seen_out_of_the_hashed_json() {
    for event in Scenario::approved().events {
        let json = serde_json::to_value(&event).unwrap();
        let cites = matches!(
            event.kind,
            mci_core::EventKind::ReviewStarted | mci_core::EventKind::Approved { .. }
        );
        assert_eq!(json.get("seen").is_some(), cites, "{}", event.kind);
        assert_eq!(event.seen.is_some(), cites, "{}", event.kind);
    }
}
