//! Replacing the router table while 50 clients send requests: a swap every millisecond,
//! no failed request, each answered by the table current when it was sent or a later one.
//! Each client is a keep-alive connection on the connection kit (no socket) in a thread
//! of its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use futures_lite::future::block_on;
use h1_server::router::{Router, SwappableRouter};
use h1_server::testing::TestConnection;
use h1_server::{Handler, Request, ServerConfig};

/// Table number `n`: `/item/:id` answers `table <n> item <id>`.
fn table(n: u64) -> Router {
    let mut r = Router::new();
    r.get("/item/:id", move |cx: Request| async move {
        format!("table {n} item {}", cx.param("id").unwrap_or_default())
    })
    .get("/static", move |_cx: Request| async move {
        format!("table {n}")
    });
    r
}

#[test]
fn swapping_every_millisecond_under_load_fails_no_request() {
    const CLIENTS: usize = 50;
    const REQUESTS: usize = 40;
    // Clients go on past REQUESTS until this many swaps happened (requests on the kit
    // are fast enough to finish before the swapper got going).
    const SWAPS: u64 = 20;
    let live = SwappableRouter::new(table(0));
    let handle = live.handle();
    let live = Arc::new(live);

    // The newest table number; stored before the table is installed, so a response can
    // never come from a table newer than this.
    let newest = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (newest, stop) = (newest.clone(), stop.clone());
        thread::spawn(move || {
            let mut n = 0;
            let deadline = Instant::now() + Duration::from_secs(60);
            while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                n += 1;
                newest.store(n, Ordering::SeqCst);
                handle.set(table(n));
                thread::sleep(Duration::from_millis(1));
            }
            n
        })
    };

    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (newest, live) = (newest.clone(), live.clone());
            thread::spawn(move || {
                let serve = move |req: Request| {
                    let live = live.clone();
                    async move { live.call(req).await }
                };
                let mut client = TestConnection::new(serve, ServerConfig::new());
                let mut seen = Vec::new();
                let mut i = 0;
                while i < REQUESTS || newest.load(Ordering::SeqCst) < SWAPS {
                    i += 1;
                    let id = c * 100_000 + i;
                    let before = newest.load(Ordering::SeqCst);
                    let r = block_on(
                        client.request(format!("GET /item/{id} HTTP/1.1\r\nHost: t\r\n\r\n")),
                    );
                    let after = newest.load(Ordering::SeqCst);
                    assert_eq!(r.status, 200, "client {c} request {i}: {r:?}");
                    let text = r.text();
                    let rest = text
                        .strip_prefix("table ")
                        .unwrap_or_else(|| panic!("{text}"));
                    let (n, item) = rest.split_once(" item ").unwrap();
                    assert_eq!(item, id.to_string());
                    let n: u64 = n.parse().unwrap();
                    // The table current when sent (perhaps still the previous one while
                    // the swapper stores its number) or a later one.
                    assert!(
                        before.saturating_sub(1) <= n && n <= after,
                        "table {n} outside {before}..={after}"
                    );
                    seen.push(n);
                }
                (seen, client)
            })
        })
        .collect();

    let mut tables = std::collections::BTreeSet::new();
    let mut open = Vec::new();
    for c in clients {
        let (seen, client) = c.join().expect("a client failed");
        tables.extend(seen);
        open.push(client);
    }
    stop.store(true, Ordering::SeqCst);
    let swaps = swapper.join().unwrap();
    assert!(
        swaps >= SWAPS,
        "only {swaps} swaps happened during the load"
    );
    assert!(
        tables.len() >= 2,
        "answers came from one table only: {tables:?}"
    );
    // Every keep-alive connection served all its requests and is still open.
    assert_eq!(open.len(), CLIENTS);
    for client in &open {
        assert_eq!(client.close_reason(), None);
    }
}
