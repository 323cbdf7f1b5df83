//! The `metrics` feature: what a few real requests record, through the test kit (a
//! local recorder per test) and over loopback (the process's global recorder).
#![cfg(all(feature = "metrics", feature = "smol"))]

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::{FutureExt, future, stream};
use h1_server::observe::metrics as names;
use h1_server::testing::TestConnection;
use h1_server::{Bytes, Request, Response, Server, ServerConfig, StreamBody};
use integration_tests::Client;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

fn block_on<T>(fut: impl Future<Output = T>) -> T {
    future::block_on(fut.or(async {
        Timer::after(Duration::from_secs(30)).await;
        panic!("test timed out")
    }))
}

async fn app(req: Request) -> Response {
    match req.path() {
        "/ok" => Response::text(200, "ok!"),
        "/stream" => Response::stream(
            200,
            StreamBody::new(stream::iter(
                ["ab", "cd"].map(|s| Ok::<_, std::io::Error>(Bytes::from(s))),
            )),
        ),
        "/panic" => panic!("on purpose"),
        _ => Response::text(404, "no"),
    }
}

/// Totals over snapshots (a snapshot takes counters back to zero): `name{k=v,...}` to
/// the counter's sum, the gauge's value or the histogram's values.
#[derive(Default)]
struct Totals {
    counters: HashMap<String, u64>,
    gauges: HashMap<String, f64>,
    histograms: HashMap<String, Vec<f64>>,
}

impl Totals {
    fn add(&mut self, snapshotter: &Snapshotter) {
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let key = key.key();
            let mut labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            let name = if labels.is_empty() {
                key.name().to_owned()
            } else {
                format!("{}{{{}}}", key.name(), labels.join(","))
            };
            match value {
                DebugValue::Counter(n) => *self.counters.entry(name).or_default() += n,
                // Gauges too are taken back to zero: sum their changes.
                DebugValue::Gauge(g) => *self.gauges.entry(name).or_default() += g.into_inner(),
                DebugValue::Histogram(v) => self
                    .histograms
                    .entry(name)
                    .or_default()
                    .extend(v.into_iter().map(|f| f.into_inner())),
            }
        }
    }

    fn counter(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }

    fn gauge(&self, name: &str) -> f64 {
        self.gauges.get(name).copied().unwrap_or(0.0)
    }

    fn histogram(&self, name: &str) -> &[f64] {
        self.histograms.get(name).map_or(&[], |v| v.as_slice())
    }
}

#[test]
fn the_test_kit_records_requests_bytes_streams_and_closes() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let mut totals = Totals::default();
    metrics::with_local_recorder(&recorder, || {
        block_on(async {
            let mut conn = TestConnection::new(app, ServerConfig::new());
            let request = b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n";
            conn.write(request).await;
            assert_eq!(conn.read_response().await.status, 200);
            conn.write(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n").await;
            assert_eq!(conn.read_response().await.body, b"abcd");
            conn.write(b"DELETE /nope HTTP/1.1\r\nHost: x\r\n\r\n")
                .await;
            assert_eq!(conn.read_response().await.status, 404);
            totals.add(&snapshotter);
            assert_eq!(totals.gauge(names::CONNECTIONS_OPEN), 1.0);
            assert_eq!(totals.gauge(names::STREAMS_OPEN), 0.0);
            conn.write(b"GET /panic HTTP/1.1\r\nHost: x\r\n\r\n").await;
            assert_eq!(conn.read_response().await.status, 500);
            conn.closed().await;
        })
    });
    totals.add(&snapshotter);
    let t = &totals;
    assert_eq!(t.counter(names::CONNECTIONS_ACCEPTED), 1);
    assert_eq!(t.gauge(names::CONNECTIONS_OPEN), 0.0);
    assert_eq!(
        t.counter("http_server_connections_closed_total{reason=panic}"),
        1
    );
    assert_eq!(
        t.counter("http_server_requests_total{method=GET,status=2xx}"),
        2
    );
    assert_eq!(
        t.counter("http_server_requests_total{method=DELETE,status=4xx}"),
        1
    );
    assert_eq!(
        t.counter("http_server_requests_total{method=GET,status=5xx}"),
        1
    );
    assert_eq!(t.histogram(names::RESPONSE_SIZE), [3.0, 4.0, 2.0, 0.0]);
    assert_eq!(t.histogram(names::REQUEST_DURATION).len(), 4);
    assert_eq!(t.counter(names::BYTES_RECEIVED), 29 + 33 + 34 + 32);
    assert!(
        t.counter(names::BYTES_SENT) > 4 * 50,
        "{}",
        t.counter(names::BYTES_SENT)
    );
    assert_eq!(t.gauge(names::STREAMS_OPEN), 0.0);
}

#[test]
fn timeouts_and_limit_rejections_are_counted_by_kind() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        block_on(async {
            let mut config = ServerConfig::new();
            config.limits_mut().max_target_bytes(16);
            let mut conn = TestConnection::new(app, config);
            conn.write(format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(64)).as_bytes())
                .await;
            assert_eq!(conn.read_response().await.status, 414);
            conn.closed().await;

            let mut conn = TestConnection::new(app, ServerConfig::new());
            conn.write(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n").await;
            assert_eq!(conn.read_response().await.status, 200);
            conn.clock().advance(Duration::from_secs(61));
            conn.closed().await;
        })
    });
    let mut t = Totals::default();
    t.add(&snapshotter);
    assert_eq!(t.counter("http_server_limit_rejections_total{kind=uri}"), 1);
    assert_eq!(t.counter("http_server_timeouts_total{kind=keep_alive}"), 1);
    assert_eq!(
        t.counter("http_server_connections_closed_total{reason=protocol}"),
        1
    );
    assert_eq!(
        t.counter("http_server_connections_closed_total{reason=timeout}"),
        1
    );
    assert_eq!(t.counter(names::CONNECTIONS_ACCEPTED), 2);
}

/// The global recorder: one test only uses it (the test-kit tests have local ones).
static GLOBAL: Mutex<Option<Snapshotter>> = Mutex::new(None);

#[test]
fn loopback_requests_are_recorded_by_the_global_recorder() {
    let recorder = DebuggingRecorder::new();
    *GLOBAL.lock().unwrap() = Some(recorder.snapshotter());
    recorder.install().unwrap();
    h1_server::observe::metrics::describe();
    let handle = block_on(async {
        let server = Server::bind("127.0.0.1:0").await.unwrap();
        server.serve(app)
    });
    let addr = handle.local_addr();
    let mut s = Client::connect(addr);
    let requests: &[u8] = b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n\
        HEAD /ok HTTP/1.1\r\nHost: x\r\n\r\n\
        POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi";
    s.send(requests);
    let out = String::from_utf8(s.read_to_end()).unwrap();
    assert_eq!(out.matches("HTTP/1.1 ").count(), 3, "{out}");

    let guard = GLOBAL.lock().unwrap();
    let snapshotter = guard.as_ref().unwrap();
    let mut t = Totals::default();
    let deadline = Instant::now() + Duration::from_secs(10);
    // The connection's close is recorded after the client saw its end: wait for it.
    while t.counter("http_server_connections_closed_total{reason=done}") == 0 {
        assert!(Instant::now() < deadline, "no close recorded");
        t.add(snapshotter);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(t.counter(names::CONNECTIONS_ACCEPTED), 1);
    assert_eq!(t.gauge(names::CONNECTIONS_OPEN), 0.0);
    assert_eq!(
        t.counter("http_server_requests_total{method=GET,status=2xx}"),
        1
    );
    assert_eq!(
        t.counter("http_server_requests_total{method=HEAD,status=2xx}"),
        1
    );
    assert_eq!(
        t.counter("http_server_requests_total{method=POST,status=4xx}"),
        1
    );
    assert_eq!(t.histogram(names::RESPONSE_SIZE), [3.0, 0.0, 2.0]);
    assert_eq!(t.counter(names::BYTES_SENT), out.len() as u64);
    assert_eq!(t.counter(names::BYTES_RECEIVED), requests.len() as u64);
    drop(guard);
    block_on(handle.shutdown());
}
