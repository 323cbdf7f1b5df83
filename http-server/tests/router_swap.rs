//! Replacing the router table while 50 clients send requests: a swap every millisecond,
//! no failed request, each answered by the table current when it was sent or a later one.
#![cfg(feature = "smol")]

mod router_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use h1_server::Request;
use h1_server::router::{Router, SwappableRouter};
use router_common::{Client, serve};

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
    let live = SwappableRouter::new(table(0));
    let handle = live.handle();
    let server = serve(live);
    let addr = server.local_addr();

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
            let newest = newest.clone();
            thread::spawn(move || {
                let mut client = Client::connect(addr);
                let mut seen = Vec::new();
                for i in 0..REQUESTS {
                    let id = c * 1000 + i;
                    let before = newest.load(Ordering::SeqCst);
                    let r = client
                        .send("GET", &format!("/item/{id}"), &[])
                        .unwrap_or_else(|e| panic!("client {c} request {i}: {e}"));
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
    assert!(swaps >= 10, "only {swaps} swaps happened during the load");
    assert!(
        tables.len() >= 2,
        "answers came from one table only: {tables:?}"
    );
    // Every keep-alive connection served all its requests and is still open.
    assert_eq!(server.connection_count(), CLIENTS);
    drop(open);
}
