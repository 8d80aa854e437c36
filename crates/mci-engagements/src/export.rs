//! Exports a partner takes away: the Claims page as CSV (R-LIST-2) and the
//! history of every one of its nominations as JSON Lines with their heads
//! (R-LIST-4).
//!
//! Both walk the partner's nominations in keyset chunks of
//! [`Settings::export_chunk`](crate::Settings) rows, one store read per
//! chunk and no read transaction held between them (a long one would hold
//! back SQLite's checkpoints and let its WAL grow past its bound), and
//! write each chunk to the caller's [`AsyncWrite`] before reading the
//! next: memory is bounded by the chunk, whatever the number of rows. An
//! export is not a snapshot: a row changed during it appears as it was
//! when its chunk was read.
//!
//! In the order of creation (the default), the walk's key never changes,
//! so every nomination that existed when the export began is in it exactly
//! once, whatever is written meanwhile; nominations added during it may or
//! may not be. In the order of last change, a nomination that changes
//! while the export runs moves ahead of the walk: it is never in the
//! export twice, but may be missing from it (the next export has it).
//!
//! # CSV
//!
//! RFC 4180: UTF-8, a header row ([`ClaimsCsvRow::HEADER`]), CRLF line ends,
//! a field quoted when it holds a comma, a quote, CR or LF, its quotes
//! doubled. The bytes are written by the `csv` crate ([`ClaimsCsv`]), the
//! writer of the Rust ecosystem that reads and writes RFC 4180 and is
//! tested against it, rather than by quoting of our own. The cells are
//! the core's ([`ClaimsCsvRow::cells`]), with the friendly name guarded
//! against formula injection ([`spreadsheet_text`](mci_core::spreadsheet_text)).
//!
//! ```
//! use mci_engagements::{ClaimsCsv, ClaimsCsvRow};
//! use mci_testkit::Scenario;
//!
//! let approved = Scenario::approved();
//! let mut csv = ClaimsCsv::new();
//! let header = csv.header().unwrap().to_vec();
//! assert!(header.starts_with(b"claim_id,engagement,customer,"));
//! assert!(header.ends_with(b"\r\n"));
//! let row = csv.rows([ClaimsCsvRow::of(&approved.nomination, approved.now)]).unwrap();
//! assert!(row.ends_with(b"\r\n"));
//! ```

use crate::call::Call;
use crate::claims::ClaimsRequest;
use crate::error::Error;
use crate::observability::{self, call_span, traced};
use crate::service::Incentives;
use mci_core::{
    ClaimsCsvRow, ClaimsOrder, ClaimsSearch, EngagementId, Event, Instant, Nomination,
    NominationId, PartnerUser, State, history_export,
};
use mci_store::{ClaimsCursor, ClaimsPage, ClaimsQuery, ClaimsScope};
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Rows written: nominations for a Claims export, histories for a
    /// history export.
    pub rows: u64,
    /// How many chunks were read, each one store read.
    pub chunks: u64,
    /// The nominations passed over because their stored row cannot be read
    /// back: the export holds every other one. An operator must repair
    /// them (see [`Error::Unreadable`]).
    pub unreadable: Vec<NominationId>,
}

/// Why an export stopped. What was written until then stays written: an
/// export that failed is incomplete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The service refused or failed: a role, an unknown engagement, the
    /// store.
    #[error(transparent)]
    Service(#[from] Error),
    /// The writer failed (a closed connection, a full disk): nothing the
    /// service did wrong.
    #[error("the export could not be written")]
    Write(#[source] std::io::Error),
}

impl From<std::io::Error> for ExportError {
    fn from(error: std::io::Error) -> Self {
        ExportError::Write(error)
    }
}

/// The CSV writer of Claims exports (R-LIST-2): RFC 4180 bytes of
/// [`ClaimsCsvRow`]s, a chunk at a time, into a buffer it reuses; the caller
/// writes each chunk's bytes where they go.
#[derive(Debug)]
pub struct ClaimsCsv {
    builder: csv::WriterBuilder,
    buffer: Vec<u8>,
}

impl Default for ClaimsCsv {
    fn default() -> Self {
        Self::new()
    }
}

impl ClaimsCsv {
    /// A writer with an empty buffer.
    pub fn new() -> Self {
        let mut builder = csv::WriterBuilder::new();
        builder
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary);
        Self {
            builder,
            buffer: Vec::new(),
        }
    }

    /// The header row's bytes.
    pub fn header(&mut self) -> Result<&[u8], std::io::Error> {
        self.write(|writer| writer.write_record(ClaimsCsvRow::HEADER))
    }

    /// The bytes of `rows`, one record each.
    pub fn rows(
        &mut self,
        rows: impl IntoIterator<Item = ClaimsCsvRow>,
    ) -> Result<&[u8], std::io::Error> {
        self.write(|writer| {
            for row in rows {
                writer.write_record(row.cells().iter().map(|c| c.as_bytes()))?;
            }
            Ok(())
        })
    }

    /// The bytes `records` writes, in the buffer emptied first.
    fn write(
        &mut self,
        records: impl FnOnce(&mut csv::Writer<Vec<u8>>) -> csv::Result<()>,
    ) -> Result<&[u8], std::io::Error> {
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.clear();
        let mut writer = self.builder.from_writer(buffer);
        records(&mut writer)?;
        self.buffer = writer.into_inner().map_err(|e| e.into_error())?;
        Ok(&self.buffer)
    }
}

impl Incentives {
    /// Writes the partner's Claims page list that `request` asks for (its
    /// engagement, state, order and search, R-LIST-1) to `out` as CSV
    /// (R-LIST-2), the whole list from its start: the page's `cursor` and
    /// `limit` do not apply, the export reading
    /// [`Settings::export_chunk`](crate::Settings) rows at a time, one
    /// store read per chunk, each row as its nomination stands at the
    /// instant its chunk was read ([`ClaimsCsvRow::of`]). See [the
    /// module](self) for what holds under concurrent writes. A refused
    /// request (an unknown engagement, a search a rule refuses) writes
    /// nothing. Flushes `out` at the end.
    pub async fn export_claims<W: AsyncWrite + Unpin + Send>(
        &self,
        call: impl Into<Call<PartnerUser>>,
        request: &ClaimsRequest,
        out: &mut W,
    ) -> Result<ExportSummary, ExportError> {
        let user = self.exporter(call.into(), request.engagement.as_ref())?;
        let export = Export::of(request)?;
        let mut csv = ClaimsCsv::new();
        out.write_all(csv.header()?).await?;
        let mut summary = ExportSummary::default();
        let mut after = None;
        loop {
            let (page, now) = self.export_chunk(&user, &export, after).await?;
            summary.chunks += 1;
            summary.rows += page.rows.len() as u64;
            summary
                .unreadable
                .extend(page.unreadable.iter().map(|u| u.id));
            let bytes = csv.rows(page.rows.iter().map(|n| ClaimsCsvRow::of(n, now)))?;
            out.write_all(bytes).await?;
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        out.flush().await?;
        Ok(summary)
    }

    /// Writes the history of every one of the partner's nominations to
    /// `out` (R-LIST-4): JSON Lines, each nomination's events in order and
    /// then its head ([`history_export`]), newest nomination first, for
    /// [`verify_export`](mci_core::verify_export). The nominations are
    /// walked in keyset chunks by creation, every one that existed when the
    /// export began exactly once; each history is read as
    /// [`Incentives::history`] reads it, a lapse due but not yet swept
    /// ending it. Flushes `out` at the end; the summary counts histories.
    pub async fn export_histories<W: AsyncWrite + Unpin + Send>(
        &self,
        call: impl Into<Call<PartnerUser>>,
        out: &mut W,
    ) -> Result<ExportSummary, ExportError> {
        let user = self.exporter(call.into(), None)?;
        let every = Export::of(&ClaimsRequest::default())?;
        let mut summary = ExportSummary::default();
        let mut after = None;
        loop {
            let (page, now) = self.export_chunk(&user, &every, after).await?;
            summary.chunks += 1;
            summary
                .unreadable
                .extend(page.unreadable.iter().map(|u| u.id));
            for nomination in &page.rows {
                let events = self
                    .store
                    .history(nomination.id())
                    .await
                    .map_err(Error::from)?;
                let events = with_due_lapse(nomination, events, now);
                if events.is_empty() {
                    continue;
                }
                summary.rows += 1;
                out.write_all(history_export(&events).as_bytes()).await?;
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        out.flush().await?;
        Ok(summary)
    }

    /// The user of an export, checked (R-ROLE-1), and the engagement it
    /// names, known.
    fn exporter(
        &self,
        call: Call<PartnerUser>,
        engagement: Option<&EngagementId>,
    ) -> Result<PartnerUser, Error> {
        let user = call.actor().clone().authorize()?;
        if let Some(engagement) = engagement {
            self.shared_engagement(engagement)?;
        }
        Ok(user)
    }

    /// One chunk of an export's walk: one store read at the clock's now,
    /// after `after`.
    async fn export_chunk(
        &self,
        user: &PartnerUser,
        export: &Export,
        after: Option<ClaimsCursor>,
    ) -> Result<(ClaimsPage, Instant), Error> {
        traced("export_chunk", call_span!("export_chunk"), async move {
            observability::partner(user.partner());
            let now = self.now()?;
            let query = ClaimsQuery {
                scope: ClaimsScope::Partner(user.partner().clone()),
                engagement: export.engagement.clone(),
                state: export.state,
                order: export.order,
                now,
                after,
                limit: self.settings.export_chunk.max(1),
                search: export.search.clone(),
            };
            Ok((self.store.claims(&query).await?, now))
        })
        .await
    }
}

/// What an export walks: the list of a [`ClaimsRequest`], its search
/// checked (R-INPUT).
struct Export {
    engagement: Option<EngagementId>,
    state: Option<State>,
    order: ClaimsOrder,
    search: Option<ClaimsSearch>,
}

impl Export {
    fn of(request: &ClaimsRequest) -> Result<Export, Error> {
        Ok(Export {
            engagement: request.engagement.clone(),
            state: request.state,
            order: request.order,
            search: request.search.clone().map(ClaimsSearch::new).transpose()?,
        })
    }
}

/// `events`, the stored history of `nomination`, ended by the lapse that
/// is due at `now` and not yet swept, as the sweep would write it
/// (R-TIME-4). Only when the history ends at the version `nomination` was
/// read at: a history that moved on since is whole as it is.
pub(crate) fn with_due_lapse(
    nomination: &Nomination,
    mut events: Vec<Event>,
    now: Instant,
) -> Vec<Event> {
    let current = events.last().map(|e| e.version) == Some(nomination.version());
    if current && let Some(lapse) = nomination.due_lapse(now).and_then(|_| nomination.lapse()) {
        events.push(lapse.event);
    }
    events
}
