//! One connection's end on the connection test kit (no socket): a client leaving a parked
//! handler, `cancel_on_disconnect`, the handler deadline, and a graceful shutdown that
//! arrives while a response is on its way. Server-wide lifecycle (the connection limit,
//! stopping the listener, shutting down many connections, the accept queue) stays in the
//! loopback suite: the listener is the point there.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_lite::future::block_on;
use h1_server::testing::TestConnection;
use h1_server::{CloseReason, Request, Response, ServerConfig, Timeout};
use std::task::Poll;

/// Sets its flag when dropped: shows the handler's future was dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// A handler that never answers (a parked long poll), and the flag its drop sets.
fn parked() -> (
    impl Fn(Request) -> futures_lite::future::Boxed<Response> + Send + Sync + 'static,
    Arc<AtomicBool>,
) {
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    let handler = move |_req: Request| {
        let guard = DropFlag(flag.clone());
        Box::pin(async move {
            let _guard = guard;
            futures_lite::future::pending::<Response>().await
        }) as futures_lite::future::Boxed<Response>
    };
    (handler, dropped)
}

#[test]
fn a_client_leaving_a_parked_handler_frees_the_connection() {
    block_on(async {
        let (handler, dropped) = parked();
        let mut c = TestConnection::new(handler, ServerConfig::new());
        c.write(b"GET /poll HTTP/1.1\r\nHost: a\r\n\r\n").await;
        assert_eq!(c.close_reason(), None);
        assert!(!dropped.load(Ordering::Acquire));
        c.close_write().await;
        assert_eq!(c.closed().await, CloseReason::ClientClosed);
        assert!(dropped.load(Ordering::Acquire), "the handler still runs");
    });
}

#[test]
fn cancel_on_disconnect_off_lets_the_handler_run() {
    block_on(async {
        let (handler, dropped) = parked();
        let mut config = ServerConfig::new();
        config.cancel_on_disconnect(false);
        let mut c = TestConnection::new(handler, config);
        c.write(b"GET /poll HTTP/1.1\r\nHost: a\r\n\r\n").await;
        c.close_write().await;
        c.clock().advance(Duration::from_secs(3600));
        c.settle().await;
        assert_eq!(c.close_reason(), None);
        assert!(!dropped.load(Ordering::Acquire));
    });
}

#[test]
fn a_handler_past_its_deadline_is_answered_503() {
    block_on(async {
        let (handler, dropped) = parked();
        let mut config = ServerConfig::new();
        config.handler_timeout(Some(Duration::from_secs(25)));
        let mut c = TestConnection::new(handler, config);
        c.write(b"GET /poll HTTP/1.1\r\nHost: a\r\n\r\n").await;
        c.clock().advance(Duration::from_secs(24));
        assert!(c.read_available().await.is_empty());
        c.clock().advance(Duration::from_secs(1));
        let r = c.read_response().await;
        assert_eq!(r.status, 503);
        assert_eq!(r.header("connection"), Some("close"));
        assert_eq!(c.closed().await, CloseReason::Timeout(Timeout::Handler));
        assert!(dropped.load(Ordering::Acquire));
    });
}

#[test]
fn graceful_shutdown_marks_an_in_flight_response_connection_close() {
    // The handler's future becomes ready without waking its task; the next poll, caused
    // by the shutdown signal's wake-up, completes it. The signal came before the head, so
    // the response must say `Connection: close` (a client would otherwise reuse it).
    let latch = Arc::new(AtomicBool::new(false));
    let polled = Arc::new(AtomicBool::new(false));
    let handler = {
        let (latch, polled) = (latch.clone(), polled.clone());
        move |_req: Request| {
            let (latch, polled) = (latch.clone(), polled.clone());
            async move {
                futures_lite::future::poll_fn(|_| {
                    polled.store(true, Ordering::SeqCst);
                    if latch.load(Ordering::SeqCst) {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                })
                .await;
                Response::text(200, "late")
            }
        }
    };
    block_on(async {
        let mut c = TestConnection::new(handler, ServerConfig::new());
        c.send(b"GET /latched HTTP/1.1\r\nHost: a\r\n\r\n").await;
        assert!(polled.load(Ordering::SeqCst), "the handler ran");
        assert!(c.is_quiet().await);
        latch.store(true, Ordering::SeqCst);
        c.shutdown_graceful();
        let r = c.read_response().await;
        assert_eq!(r.text(), "late");
        assert!(r.is_close(), "{r:?}");
        c.expect_closed().await;
    });
}
