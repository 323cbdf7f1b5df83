//! Issue 2, point 12: on a keep-alive connection in steady state, serving one request
//! after another allocates nothing once the buffers have grown.
//!
//! A counting global allocator wraps `std::alloc::System` and counts allocations made on
//! the current thread while counting is switched on (other test threads are not counted).
// `GlobalAlloc` is an unsafe trait: implementing it needs `unsafe`. The workspace denies
// unsafe code (library crates forbid it at their root); this test file alone allows it,
// for the allocator below and nothing else.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use h1_core::{Config, Connection, Event, HttpDate, Next, ResponseHead};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    // `try_with`: the thread-locals may be gone while a thread shuts down.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees carry over; the bookkeeping touches only const thread-locals.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded as is (see above).
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded as is.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> u64 {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|on| on.set(true));
    f();
    COUNTING.with(|on| on.set(false));
    COUNT.with(Cell::get)
}

#[test]
fn the_counter_counts() {
    let n = allocations(|| {
        let v: Vec<u8> = Vec::with_capacity(10);
        std::hint::black_box(v);
    });
    assert_eq!(n, 1);
}

/// Serve one request fully: receive, events until Paused, respond.
fn serve(
    conn: &mut Connection,
    request: &[u8],
    response: &ResponseHead,
    body: &[u8],
    date: &HttpDate,
    out: &mut Vec<u8>,
) -> usize {
    conn.receive(request);
    let mut received = 0;
    loop {
        match conn.next_event().expect("valid request") {
            Next::Event(Event::Head(h)) => received += h.headers().len(),
            Next::Event(Event::Data(d)) => received += d.len(),
            Next::Event(Event::Trailers(t)) => received += t.len(),
            Next::Event(Event::End) => {}
            Next::Paused => break,
            other => panic!("{other:?}"),
        }
    }
    out.clear();
    conn.set_date(date);
    conn.send_head(response, out).expect("head");
    conn.send_data(body, out).expect("data");
    conn.send_end(None, out).expect("end");
    assert_eq!(conn.next_event(), Ok(Next::NeedData));
    received
}

fn steady_state(request: &[u8], chunked_response: bool) {
    let mut config = Config::default();
    config.default_header("Server", "http-core-test");
    let mut conn = Connection::new(config);
    let mut response = ResponseHead::new(200);
    response
        .header("Content-Type", "text/plain; charset=utf-8")
        .header("Cache-Control", "no-store");
    let body = b"Hello, world!";
    response.content_length(if chunked_response {
        None
    } else {
        Some(body.len() as u64)
    });
    let date = HttpDate::from_unix_secs(1_700_000_000);
    let mut out = Vec::new();
    for _ in 0..8 {
        serve(&mut conn, request, &response, body, &date, &mut out);
    }
    let expected = out.clone();
    let mut total = 0;
    let n = allocations(|| {
        for _ in 0..1000 {
            total += serve(&mut conn, request, &response, body, &date, &mut out);
        }
    });
    assert!(total >= 1000, "the requests were really parsed");
    assert_eq!(out, expected);
    assert_eq!(n, 0, "allocations while serving 1000 keep-alive requests");
}

#[test]
fn browser_get_allocates_nothing_in_steady_state() {
    steady_state(
        b"GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n\
          Accept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.5\r\n\
          Accept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\nCookie: a=1; b=2\r\n\
          Upgrade-Insecure-Requests: 1\r\nCache-Control: max-age=0\r\n\r\n",
        false,
    );
}

#[test]
fn content_length_post_allocates_nothing_in_steady_state() {
    steady_state(
        b"POST /api HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"ok\": true }",
        true,
    );
}

#[test]
fn chunked_post_with_trailers_allocates_nothing_in_steady_state() {
    steady_state(
        b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
          5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 42\r\n\r\n",
        false,
    );
}

#[test]
fn bytewise_arrival_allocates_nothing_in_steady_state() {
    let request: &[u8] = b"GET /x HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
    let mut conn = Connection::new(Config::default());
    let response = ResponseHead::new(204);
    let date = HttpDate::from_unix_secs(0);
    let mut out = Vec::new();
    let run = |conn: &mut Connection, out: &mut Vec<u8>| {
        for byte in request {
            conn.receive(std::slice::from_ref(byte));
            loop {
                match conn.next_event().expect("valid") {
                    Next::NeedData => break,
                    Next::Paused => {
                        out.clear();
                        conn.set_date(&date);
                        conn.send_head(&response, out).expect("head");
                        conn.send_end(None, out).expect("end");
                    }
                    Next::Event(_) => {}
                    other => panic!("{other:?}"),
                }
            }
        }
    };
    for _ in 0..8 {
        run(&mut conn, &mut out);
    }
    let n = allocations(|| {
        for _ in 0..200 {
            run(&mut conn, &mut out);
        }
    });
    assert!(out.starts_with(b"HTTP/1.1 204 No Content\r\n"));
    assert_eq!(n, 0);
}
