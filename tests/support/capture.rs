//! A `tracing` layer that keeps every span and event it sees, with their
//! fields as text, for tests to look at.

#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Dispatch, Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// One span, with every field recorded on it (at creation or later).
#[derive(Debug, Clone)]
pub struct SpanData {
    pub name: &'static str,
    pub level: Level,
    pub fields: BTreeMap<String, String>,
    /// The names of the spans it is inside, innermost first.
    pub parents: Vec<&'static str>,
}

impl SpanData {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// One event, and the spans it happened in, innermost first.
#[derive(Debug, Clone)]
pub struct EventData {
    pub level: Level,
    pub fields: BTreeMap<String, String>,
    pub spans: Vec<&'static str>,
}

impl EventData {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

#[derive(Clone, Default)]
pub struct Captured {
    spans: Arc<Mutex<Vec<SpanData>>>,
    events: Arc<Mutex<Vec<EventData>>>,
}

impl Captured {
    /// A dispatcher that records into this capture.
    ///
    /// With a single dispatcher registered, tracing computes a call site's
    /// interest from the default of whichever thread hits it first: a test
    /// running beside this one, with no subscriber, would switch the site
    /// off for good. A second dispatcher, kept for the whole run, makes
    /// tracing ask each thread's default at each hit instead.
    pub fn dispatch(&self) -> Dispatch {
        static SECOND: std::sync::OnceLock<Dispatch> = std::sync::OnceLock::new();
        SECOND.get_or_init(|| Dispatch::new(tracing::subscriber::NoSubscriber::default()));
        let dispatch = Dispatch::new(tracing_subscriber::registry().with(self.clone()));
        tracing::callsite::rebuild_interest_cache();
        dispatch
    }

    pub fn spans(&self) -> Vec<SpanData> {
        self.spans.lock().unwrap().clone()
    }

    /// The spans named `name`.
    pub fn named(&self, name: &str) -> Vec<SpanData> {
        self.spans()
            .into_iter()
            .filter(|s| s.name == name)
            .collect()
    }

    pub fn events(&self) -> Vec<EventData> {
        self.events.lock().unwrap().clone()
    }
}

/// Where a span's data is in `Captured::spans`, kept in the span's extensions.
struct Index(usize);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    /// An error with its causes, as `error: cause: cause`.
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            text = format!("{text}: {cause}");
            source = cause.source();
        }
        self.0.insert(field.name().to_owned(), text);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S> Layer<S> for Captured
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let span = ctx.span(id).expect("a new span is in the registry");
        let parents = span.scope().skip(1).map(|s| s.name()).collect();
        let mut spans = self.spans.lock().unwrap();
        spans.push(SpanData {
            name: attrs.metadata().name(),
            level: *attrs.metadata().level(),
            fields,
            parents,
        });
        span.extensions_mut().insert(Index(spans.len() - 1));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let extensions = span.extensions();
        let Some(Index(at)) = extensions.get::<Index>() else {
            return;
        };
        let mut spans = self.spans.lock().unwrap();
        values.record(&mut Fields(&mut spans[*at].fields));
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let spans = ctx
            .event_scope(event)
            .map(|scope| scope.map(|s| s.name()).collect())
            .unwrap_or_default();
        self.events.lock().unwrap().push(EventData {
            level: *event.metadata().level(),
            fields,
            spans,
        });
    }
}
