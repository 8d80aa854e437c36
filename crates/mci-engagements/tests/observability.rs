//! What an operator sees of a whole story: every span and event, with all
//! their fields at every level, and the metrics. No token, link hash, email
//! address or contact name ever appears in them (R-TOKEN-5), while the
//! spans an operator needs are there with their fields.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::story::story;
use common::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// One span as its fields stand at its close, or one event.
#[derive(Debug, Clone, Default)]
struct Seen {
    /// The span's or the event's name, with its level and target.
    name: String,
    fields: BTreeMap<String, String>,
}

/// Every span and event a subscriber saw, at every level.
#[derive(Clone, Default)]
struct Capture {
    seen: Arc<Mutex<Seens>>,
}

#[derive(Default)]
struct Seens {
    /// Every span, in the order they were opened.
    spans: Vec<Seen>,
    /// Where the span of each live id is in `spans`: ids are reused once
    /// a span closes.
    live: std::collections::HashMap<u64, usize>,
    events: Vec<Seen>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let meta = attrs.metadata();
        let mut seen = Seen {
            name: format!("{} {} {}", meta.level(), meta.target(), meta.name()),
            fields: BTreeMap::new(),
        };
        attrs.record(&mut Fields(&mut seen.fields));
        let mut all = self.seen.lock().unwrap();
        let at = all.spans.len();
        all.spans.push(seen);
        all.live.insert(id.into_u64(), at);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut all = self.seen.lock().unwrap();
        let at = *all.live.get(&id.into_u64()).expect("a live span");
        values.record(&mut Fields(&mut all.spans[at].fields));
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        let mut seen = Seen {
            name: format!("{} {} {}", meta.level(), meta.target(), meta.name()),
            fields: BTreeMap::new(),
        };
        event.record(&mut Fields(&mut seen.fields));
        self.seen.lock().unwrap().events.push(seen);
    }
}

impl Capture {
    fn spans(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().spans.clone()
    }

    /// Everything seen, as one text: names, field names and values.
    fn text(&self) -> String {
        let mut text = String::new();
        let events = self.seen.lock().unwrap().events.clone();
        for seen in self.spans().into_iter().chain(events) {
            writeln!(text, "{}", seen.name).unwrap();
            for (field, value) in &seen.fields {
                writeln!(text, "  {field}={value}").unwrap();
            }
        }
        text
    }

    /// The spans named `name` (a service call, or `store.<method>`).
    fn named(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        self.spans()
            .into_iter()
            .filter(|s| s.name.ends_with(&format!(" {name}")))
            .map(|s| s.fields)
            .collect()
    }
}

#[tokio::test]
async fn r_token_5_no_span_or_event_of_a_whole_story_holds_a_token_an_email_or_a_contact() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _default = tracing::subscriber::set_default(subscriber);
    let w = World::new();
    let story = story(&w).await;
    assert_eq!(story.tokens.len(), 3, "a consent link and two survey links");

    let text = capture.text();
    for secret in &story.secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{secret:?} was traced:\n{text}"
        );
    }
    assert!(!text.contains('@'), "an email address was traced:\n{text}");

    // The spans are there, with what an operator needs.
    let one = |name: &str| -> BTreeMap<String, String> {
        let spans = capture.named(name);
        assert!(!spans.is_empty(), "no {name} span:\n{text}");
        spans[0].clone()
    };
    let id = story.consented.to_string();
    let add = one("add_customer");
    assert_eq!(add["command"], "add_customer");
    assert_eq!(add["partner"], PARTNER_A);
    assert_eq!(add["nomination"], id);
    assert_eq!(add["outcome"], "ok");
    let accept = one("accept_consent");
    assert_eq!(accept["nomination"], id, "the nomination the link opened");
    assert_eq!(accept["outcome"], "ok");
    assert!(!accept.contains_key("partner"));
    let submits = capture.named("submit");
    assert_eq!(submits.len(), 2);
    assert_eq!(submits[1]["outcome"], "refused");
    assert!(submits[1]["rule"].starts_with("R-"), "{:?}", submits[1]);
    let comments = capture.named("add_comment");
    assert!(
        comments
            .iter()
            .any(|c| c.get("retries").map(String::as_str) == Some("1")),
        "the held comment retried once: {comments:?}"
    );
    for call in [
        "send_consent",
        "take_messages",
        "acknowledge",
        "open_consent",
        "attach_document",
        "send_survey",
        "complete_survey",
        "review_queue",
        "start_review",
        "approve",
        "run_payout",
        "customers_page",
        "sweep",
    ] {
        assert_eq!(one(call)["outcome"], "ok", "{call}");
    }
    let lapsed = capture
        .named("store.commit")
        .into_iter()
        .any(|c| c.get("nomination") == Some(&story.lapsing.to_string()));
    assert!(lapsed, "the sweep's commit of the lapse");
    let by_link = one("store.nomination_by_link");
    assert_eq!(by_link["outcome"], "ok");
    assert_eq!(by_link["store"], "custom", "the test world's gated store");
    assert!(one("store.take_messages").contains_key("taken"));
}
