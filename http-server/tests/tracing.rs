//! The `tracing` feature: a `connection` span holds a `request` span per request, with
//! its fields, and the handler's own spans nest under the request's.
#![cfg(all(feature = "tracing", feature = "smol"))]

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_io::Timer;
use futures_lite::{FutureExt, future};
use h1_server::testing::TestConnection;
use h1_server::{Request, Response, ServerConfig};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

fn block_on<T>(fut: impl Future<Output = T>) -> T {
    future::block_on(fut.or(async {
        Timer::after(Duration::from_secs(30)).await;
        panic!("test timed out")
    }))
}

/// A span as the capturing layer saw it.
#[derive(Debug, Clone, Default)]
struct Seen {
    name: &'static str,
    /// The names of its ancestors, nearest first.
    parents: Vec<&'static str>,
    fields: BTreeMap<String, String>,
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<(u64, Seen)>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut seen = Seen {
            name: attrs.metadata().name(),
            ..Seen::default()
        };
        if let Some(span) = ctx.span(id) {
            seen.parents = span.scope().skip(1).map(|s| s.name()).collect();
        }
        attrs.record(&mut Fields(&mut seen.fields));
        self.0.lock().unwrap().push((id.into_u64(), seen));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut spans = self.0.lock().unwrap();
        if let Some((_, seen)) = spans.iter_mut().rev().find(|(i, _)| *i == id.into_u64()) {
            values.record(&mut Fields(&mut seen.fields));
        }
    }
}

async fn app(req: Request) -> Response {
    {
        let _work = tracing::info_span!("handler_work", path = req.path()).entered();
    }
    Timer::after(Duration::from_millis(1)).await;
    let _after_await = tracing::info_span!("after_await").entered();
    Response::text(201, "made")
}

#[test]
fn request_spans_nest_in_the_connection_span_and_hold_the_handlers() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    tracing::subscriber::with_default(subscriber, || {
        block_on(async {
            let mut conn = TestConnection::new(app, ServerConfig::new());
            conn.write(b"POST /things?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
                .await;
            assert_eq!(conn.read_response().await.status, 201);
            conn.write(b"GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await;
            assert_eq!(conn.read_response().await.status, 201);
            conn.closed().await;
        })
    });
    let spans: Vec<Seen> = capture
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(_, s)| s.clone())
        .collect();
    let names: Vec<&str> = spans.iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        [
            "connection",
            "request",
            "handler_work",
            "after_await",
            "request",
            "handler_work",
            "after_await"
        ],
        "{spans:#?}"
    );
    let conn = &spans[0];
    assert_eq!(conn.fields["peer"], "127.0.0.1:49152");
    assert!(conn.fields.contains_key("id"), "{conn:?}");
    let req = &spans[1];
    assert_eq!(req.parents, ["connection"]);
    assert_eq!(req.fields["method"], "POST");
    assert_eq!(req.fields["target"], "/things?x=1");
    assert_eq!(req.fields["status"], "201");
    assert!(req.fields.contains_key("duration"), "{req:?}");
    assert_eq!(spans[2].parents, ["request", "connection"]);
    assert_eq!(spans[2].fields["path"], "/things");
    assert_eq!(spans[3].parents, ["request", "connection"]);
    assert_eq!(spans[4].fields["target"], "/b");
}
