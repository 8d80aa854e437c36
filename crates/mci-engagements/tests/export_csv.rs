//! R-LIST-2: the CSV of the Claims export reads back, with a standard CSV
//! reader, to the cells of every row, whatever the friendly names hold.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mci_engagements::{ClaimsCsv, ClaimsCsvRow, FriendlyName, Nomination, spreadsheet_value};
use mci_testkit::Scenario;
use proptest::prelude::*;

/// A nomination in every state, made once.
static SCENARIOS: std::sync::LazyLock<Vec<(&'static str, Scenario)>> =
    std::sync::LazyLock::new(Scenario::in_every_state);

/// `nomination` with the friendly name `name`, as a stored document would
/// hold it.
fn named(nomination: &Nomination, name: &FriendlyName) -> Nomination {
    let mut json = serde_json::to_value(nomination).unwrap();
    json["friendly_name"] = serde_json::Value::from(name.as_str());
    serde_json::from_value(json).unwrap()
}

/// The records of `bytes`, header first, as the `csv` crate reads RFC 4180.
fn records(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// Friendly names with what CSV must quote (commas, quotes, spaces),
/// what a spreadsheet would run (a leading `=`, `+`, `-`, `@`), and text
/// that is not ASCII; those the core refuses (a newline, say) are left
/// out, as no nomination can hold them.
fn names() -> impl Strategy<Value = FriendlyName> {
    "[=+\\-@'\"]?[a-zA-Z0-9 ,;\"'=+\\-@éßø北京🙂\u{200D}\n\r\t]{0,40}"
        .prop_filter_map("a name the core accepts", |text| text.parse().ok())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// R-LIST-2: any nomination's row, in any state, with any friendly
    /// name, reads back as the same cells under the header, and its
    /// friendly name as typed once the formula guard is taken off.
    #[test]
    fn r_list_2_any_row_reads_back_to_its_cells(
        state in 0usize..64,
        names in proptest::collection::vec(names(), 1..6),
    ) {
        let (_, scenario) = &SCENARIOS[state % SCENARIOS.len()];
        let rows: Vec<ClaimsCsvRow> = names
            .iter()
            .map(|name| ClaimsCsvRow::of(&named(&scenario.nomination, name), scenario.now))
            .collect();
        let mut csv = ClaimsCsv::new();
        let mut bytes = csv.header().unwrap().to_vec();
        bytes.extend_from_slice(csv.rows(rows.clone()).unwrap());
        prop_assert!(std::str::from_utf8(&bytes).is_ok(), "UTF-8");
        let read = records(&bytes);
        prop_assert_eq!(read.len(), rows.len() + 1);
        prop_assert_eq!(&read[0], &ClaimsCsvRow::HEADER.map(String::from).to_vec());
        let name_at = ClaimsCsvRow::HEADER.iter().position(|h| *h == "friendly_name").unwrap();
        for ((row, record), name) in rows.iter().zip(&read[1..]).zip(&names) {
            let cells: Vec<String> = row.cells().iter().map(|c| c.to_string()).collect();
            prop_assert_eq!(record, &cells);
            prop_assert_eq!(spreadsheet_value(&record[name_at]), name.as_str());
        }
    }
}

#[test]
fn r_list_2_lines_end_in_crlf_and_fields_are_quoted_only_when_they_must_be() {
    let scenario = Scenario::approved();
    let plain: FriendlyName = "Contoso AI readiness".parse().unwrap();
    let quoted: FriendlyName = "Contoso, \"the big one\"".parse().unwrap();
    let formula: FriendlyName = "=HYPERLINK(\"http://evil.example\",\"x\")".parse().unwrap();
    let mut csv = ClaimsCsv::new();
    let rows = [&plain, &quoted, &formula]
        .map(|name| ClaimsCsvRow::of(&named(&scenario.nomination, name), scenario.now));
    let text = String::from_utf8(csv.rows(rows).unwrap().to_vec()).unwrap();
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 3, "{text:?}");
    assert!(!text.replace("\r\n", "").contains('\n'), "{text:?}");
    assert!(lines[0].contains(",Contoso AI readiness,"), "{}", lines[0]);
    assert!(
        lines[1].contains(",\"Contoso, \"\"the big one\"\"\","),
        "{}",
        lines[1]
    );
    // The formula is written as text a spreadsheet does not run.
    assert!(
        lines[2].contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\","),
        "{}",
        lines[2]
    );
}
