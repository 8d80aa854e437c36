//! What several test files of the SQLite store share.
#![allow(dead_code, clippy::unwrap_used)]

use mci_core::{Candidate, EngagementKind};
use mci_store::Commit;
use mci_testkit::{admin, eligible_facts, engagement, nomination_id, nomination_request, t0};
use std::path::Path;

/// A commit adding nomination `n` for partner 1, on an engagement of its
/// own, so that no guard refuses it.
pub(crate) fn adding(n: u64) -> Commit {
    let workshop = engagement(&format!("workshop-{n}"), EngagementKind::Workshop, 5);
    let candidates = [Candidate {
        engagement: &workshop,
        facts: eligible_facts(),
    }];
    let outcome = mci_core::nominate(t0(), &admin(), nomination_request(), &candidates, || {
        nomination_id(n)
    })
    .unwrap()
    .remove(0);
    Commit::of(t0(), outcome)
}

/// The length of the file at `path`; 0 when there is none.
pub(crate) fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
