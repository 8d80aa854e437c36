//! R-LIST-2: what a row of the Claims export holds, and the guard of its
//! one cell of partner input against formula injection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::DateTime;
use mci_core::{ClaimsCsvRow, State, spreadsheet_text, spreadsheet_value};
use mci_testkit::Scenario;
use proptest::prelude::*;

fn column(name: &str) -> usize {
    ClaimsCsvRow::HEADER
        .iter()
        .position(|h| *h == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

#[test]
fn r_list_2_every_state_gives_a_full_row_of_rfc_3339_instants_and_minor_units() {
    for (name, scenario) in Scenario::in_every_state() {
        let row = ClaimsCsvRow::of(&scenario.nomination, scenario.now);
        let cells = row.cells();
        assert_eq!(cells.len(), ClaimsCsvRow::HEADER.len());
        assert_eq!(
            cells[column("claim_id")],
            scenario.nomination.id().to_string()
        );
        assert_eq!(
            cells[column("state")],
            serde_json::to_value(row.state).unwrap().as_str().unwrap(),
            "{name}"
        );
        for (header, cell) in ClaimsCsvRow::HEADER.iter().zip(&cells) {
            if header.ends_with("_at") && !cell.is_empty() {
                assert!(cell.ends_with('Z'), "{name} {header}: {cell}");
                DateTime::parse_from_rfc3339(cell)
                    .unwrap_or_else(|e| panic!("{name} {header}: {cell}: {e}"));
            }
        }
        if let Some(payout) = row.payout {
            assert_eq!(cells[column("payout_minor")], payout.minor().to_string());
            assert_eq!(cells[column("payout_currency")], payout.currency().code());
        }
        assert_eq!(
            cells[column("version")],
            scenario.nomination.version().to_string()
        );
        assert_eq!(
            cells[column("head")],
            scenario.events.last().unwrap().hash.to_string(),
            "{name}: the head the history export ends with (R-LIST-4)"
        );
    }
}

#[test]
fn r_list_2_a_row_reads_its_nomination_as_it_stands_at_the_instant_read() {
    let added = Scenario::added();
    let deadline = added.nomination.deadline().unwrap();
    let before = ClaimsCsvRow::of(
        &added.nomination,
        deadline.at - chrono::TimeDelta::microseconds(1),
    );
    assert_eq!(before.state, State::CustomerClaimed);
    assert_eq!(before.deadline_at, Some(deadline.at));
    assert_eq!(before.lapsed_at, None);
    // At its deadline, lapsed, whether or not the sweep wrote it (R-TIME-4).
    let at = ClaimsCsvRow::of(&added.nomination, deadline.at);
    assert_eq!(at.state, State::ConsentExpired);
    assert_eq!(at.lapsed_at, Some(deadline.at));
    assert_eq!(at.deadline, None);
    assert_eq!(at.cells()[column("deadline_at")], "");
}

#[test]
fn r_list_2_the_payout_is_the_approved_amount_once_approved() {
    let approved = Scenario::approved();
    let row = ClaimsCsvRow::of(&approved.nomination, approved.now);
    assert!(row.payout_approved);
    assert_eq!(row.payout, approved.nomination.claim().payout);
    let added = Scenario::added();
    let row = ClaimsCsvRow::of(&added.nomination, added.now);
    assert!(!row.payout_approved);
    assert_eq!(row.payout, added.nomination.proposed_payout());
    assert_eq!(row.cells()[column("payout_approved")], "false");
}

proptest! {
    /// R-LIST-2: a guarded cell never starts with a character a
    /// spreadsheet runs as a formula, and gives back exactly the text.
    #[test]
    fn r_list_2_a_guarded_cell_runs_nothing_and_gives_the_text_back(text in "\\PC*|[=+\\-@'\t\r].*") {
        let cell = spreadsheet_text(&text);
        if let Some(first) = cell.chars().next() {
            prop_assert!(!matches!(first, '=' | '+' | '-' | '@' | '\t' | '\r'), "{:?}", cell);
        }
        prop_assert_eq!(spreadsheet_value(&cell), text.as_str());
        // Text that needs no guard is written as it is.
        if !text.starts_with(['=', '+', '-', '@', '\t', '\r', '\'']) {
            prop_assert_eq!(cell.as_ref(), text.as_str());
        }
    }
}
