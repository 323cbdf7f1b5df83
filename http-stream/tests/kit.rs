//! Push streams read through h1-server's test kit, without a socket: the frames a
//! producer's sends and flushes become, and a stream made from a request ending on the
//! server's graceful shutdown with no wiring in the handler.

use std::time::Duration;

use async_io::Timer;
use futures_lite::FutureExt;
use futures_lite::future::block_on;
use h1_server::testing::{TestRequest, TestResponse};
use h1_server::{Frame, Request};
use h1_stream::Config;
use h1_stream::sse::{self, Event};

/// Run `fut`, failing the test after 10 s.
fn bounded<T>(fut: impl Future<Output = T>) -> T {
    block_on(fut.or(async {
        Timer::after(Duration::from_secs(10)).await;
        panic!("test timed out")
    }))
}

/// Every frame up to the end, as short strings.
fn transcript(r: &mut TestResponse) -> Vec<String> {
    bounded(async {
        let mut out = Vec::new();
        while let Some(frame) = r.frame().await {
            out.push(match frame.unwrap() {
                Frame::Data(d) => format!("data {}", String::from_utf8_lossy(&d)),
                Frame::Flush => "flush".to_owned(),
                other => format!("{other:?}"),
            });
        }
        out
    })
}

#[test]
fn held_chunks_go_out_at_the_flush_and_the_flush_is_a_frame() {
    let handler = |req: Request| async move {
        let mut config = Config::new();
        config.dont_flush(true);
        let (tx, response) = h1_stream::response_for(&req, 200, config);
        req.spawn(async move {
            tx.send("a").await.unwrap();
            tx.send("b").await.unwrap();
            tx.flush().await.unwrap();
            // Without `dont_flush`'s holding back; `flush` returns once "written".
            tx.send_flushed("c").await.unwrap();
            tx.flush().await.unwrap();
            tx.close().unwrap();
        });
        response
    };
    let mut r = TestRequest::get("/").call_blocking(&handler);
    assert_eq!((r.status(), r.body_length()), (200, None));
    assert_eq!(
        transcript(&mut r),
        ["data a", "data b", "flush", "data c", "flush"]
    );
}

#[test]
fn a_stream_from_a_request_ends_on_graceful_shutdown() {
    let handler = |req: Request| async move {
        let (tx, response) = sse::Options::new().response_for(&req);
        req.spawn(async move {
            tx.send(&Event::new().data("hello")).await.unwrap();
            tx.shutdown_requested().await;
            let _ = tx.send(&Event::new().event("bye")).await;
            let _ = tx.close();
        });
        response
    };
    let test = TestRequest::get("/events");
    let shutdown = test.shutdown();
    let mut r = test.call_blocking(&handler);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let first = bounded(r.frame()).unwrap().unwrap();
    assert_eq!(first, Frame::Data("data: hello\n\n".into()));
    shutdown.begin();
    let rest = transcript(&mut r).concat();
    assert!(rest.ends_with("data event: bye\n\n"), "{rest:?}");
}

#[test]
fn a_push_body_is_a_response() {
    let handler = |_req: Request| async move {
        let (tx, body) = h1_stream::channel(Config::new());
        tx.try_send("ready").unwrap();
        tx.close().unwrap();
        (202, body)
    };
    let mut r = TestRequest::get("/").call_blocking(&handler);
    assert_eq!(r.status(), 202);
    assert_eq!(bounded(r.body_bytes()).unwrap(), "ready");
}
