//! The exports through the service, on the memory store (R-LIST-2,
//! R-LIST-4): chunk by chunk, each written before the next is read, and
//! what a failed writer or a role that may not act leaves. The stories on
//! every store are in the `tests` package.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::*;
use mci_core::{ClaimsCsvRow, Refusal, State, verify_export};
use mci_engagements::{ClaimsRequest, Error, ExportError, Settings};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A writer that keeps every write it is given apart, or fails them all.
#[derive(Default)]
struct Writes {
    writes: Vec<Vec<u8>>,
    broken: bool,
}

impl tokio::io::AsyncWrite for Writes {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.broken {
            return Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()));
        }
        self.writes.push(bytes.to_vec());
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Partner A with `n` workshop nominations, and partner B with one; the
/// world exports in chunks of 5.
async fn world_of(n: u32) -> World {
    let w = World::with_settings(Settings {
        export_chunk: 5,
        ..Settings::default()
    });
    for k in 1..=n {
        w.add_subscription(&admin(PARTNER_A), k, &w.workshop).await;
    }
    w.add_subscription(&admin(PARTNER_B), 99, &w.workshop).await;
    w
}

#[tokio::test]
async fn r_list_2_each_chunk_is_one_read_written_before_the_next() {
    let w = world_of(23).await;
    let mut out = Writes::default();
    let summary = w
        .service
        .export_claims(&admin(PARTNER_A), &ClaimsRequest::default(), &mut out)
        .await
        .unwrap();
    assert_eq!(summary.rows, 23);
    assert_eq!(summary.chunks, 5, "5 + 5 + 5 + 5 + 3");
    // The header, then one write per chunk, none holding more rows than a
    // chunk: what the export holds at once is bounded by the chunk.
    assert_eq!(out.writes.len(), 6);
    let rows_in = |bytes: &[u8]| bytes.windows(2).filter(|w| w == b"\r\n").count();
    assert_eq!(rows_in(&out.writes[0]), 1);
    assert!(out.writes[0].starts_with(ClaimsCsvRow::HEADER[0].as_bytes()));
    let per_chunk: Vec<usize> = out.writes[1..].iter().map(|w| rows_in(w)).collect();
    assert_eq!(per_chunk, [5, 5, 5, 5, 3]);
}

#[tokio::test]
async fn r_list_2_a_walk_that_ends_on_a_full_chunk_reads_once_more_and_writes_nothing_more() {
    let w = world_of(10).await;
    let mut out = Writes::default();
    let summary = w
        .service
        .export_claims(&admin(PARTNER_A), &ClaimsRequest::default(), &mut out)
        .await
        .unwrap();
    assert_eq!((summary.rows, summary.chunks), (10, 3));
    let bytes: Vec<u8> = out.writes.concat();
    assert_eq!(
        bytes.windows(2).filter(|w| w == b"\r\n").count(),
        11,
        "header and ten rows"
    );
}

#[tokio::test]
async fn r_list_2_a_failed_writer_stops_the_export_and_changes_nothing() {
    let w = world_of(3).await;
    let before = w.snapshot();
    let mut out = Writes {
        broken: true,
        ..Writes::default()
    };
    let error = w
        .service
        .export_claims(&admin(PARTNER_A), &ClaimsRequest::default(), &mut out)
        .await
        .unwrap_err();
    assert!(matches!(&error, ExportError::Write(e) if e.kind() == std::io::ErrorKind::BrokenPipe));
    assert_eq!(w.snapshot(), before);
}

#[tokio::test]
async fn r_role_1_a_role_that_may_not_act_exports_nothing() {
    let w = world_of(3).await;
    for export in [
        w.service
            .export_claims(
                &account_admin(PARTNER_A),
                &ClaimsRequest::default(),
                &mut Writes::default(),
            )
            .await
            .map(|_| ()),
        w.service
            .export_histories(&account_admin(PARTNER_A), &mut Writes::default())
            .await
            .map(|_| ()),
    ] {
        assert!(
            matches!(
                export,
                Err(ExportError::Service(Error::Refused(
                    Refusal::RoleNotAllowed { .. }
                )))
            ),
            "{export:?}"
        );
    }
}

#[tokio::test]
async fn r_list_2_the_state_filter_reads_lapses_the_sweep_has_not_written() {
    let w = world_of(4).await;
    w.advance_days(30);
    let expired = ClaimsRequest {
        state: Some(State::ConsentExpired),
        ..ClaimsRequest::default()
    };
    let mut out = Vec::new();
    let summary = w
        .service
        .export_claims(&admin(PARTNER_A), &expired, &mut out)
        .await
        .unwrap();
    assert_eq!(summary.rows, 4);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches(",consent_expired,").count(), 4, "{text}");
}

#[tokio::test]
async fn r_list_4_the_partner_history_export_is_each_history_and_its_head() {
    let w = world_of(7).await;
    let mut out = Vec::new();
    let summary = w
        .service
        .export_histories(&admin(PARTNER_A), &mut out)
        .await
        .unwrap();
    assert_eq!((summary.rows, summary.chunks), (7, 2));
    let export = String::from_utf8(out).unwrap();
    let heads = verify_export(&export, &[]).unwrap();
    assert_eq!(heads.len(), 7);
    // Each nomination's lines together, its head last: one event each
    // here, then its head.
    let kinds: Vec<&str> = export
        .lines()
        .map(|l| {
            if l.starts_with("{\"head\"") {
                "head"
            } else {
                "event"
            }
        })
        .collect();
    assert_eq!(kinds, ["event", "head"].repeat(7));
}

#[tokio::test]
async fn r_list_2_a_refused_search_or_engagement_writes_nothing() {
    let w = world_of(2).await;
    let bad_search = ClaimsRequest {
        search: Some(mci_core::ClaimsSearchInput {
            email_domain: Some("not a domain".into()),
            ..Default::default()
        }),
        ..ClaimsRequest::default()
    };
    let unknown = ClaimsRequest {
        engagement: Some("no-such-engagement".parse().unwrap()),
        ..ClaimsRequest::default()
    };
    for request in [bad_search, unknown] {
        let mut out = Writes::default();
        let refused = w
            .service
            .export_claims(&admin(PARTNER_A), &request, &mut out)
            .await
            .unwrap_err();
        assert!(matches!(refused, ExportError::Service(_)), "{refused:?}");
        assert!(out.writes.is_empty(), "not even the header");
    }
}

#[tokio::test]
async fn r_list_2_a_search_goes_on_from_scan_to_scan_to_the_end_of_the_list() {
    let w = world_of(12).await;
    let search = ClaimsRequest {
        search: Some(mci_core::ClaimsSearchInput {
            name_prefix: Some(PARTNER_A.to_owned()),
            scan: Some(3),
            ..Default::default()
        }),
        ..ClaimsRequest::default()
    };
    let mut out = Vec::new();
    let summary = w
        .service
        .export_claims(&admin(PARTNER_A), &search, &mut out)
        .await
        .unwrap();
    assert_eq!(summary.rows, 12);
    assert!(summary.chunks >= 4, "bounded scans of 3: {summary:?}");
}
