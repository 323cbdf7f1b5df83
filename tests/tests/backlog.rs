//! The listen backlog: a burst of connects larger than std's default backlog (128) all
//! complete their handshakes while the server is not accepting.

use std::net::TcpStream;
use std::time::Duration;

use h1_server::{Request, Response};
use integration_tests::{TestServer, get};

#[test]
fn a_burst_of_connects_waits_in_the_backlog_instead_of_being_dropped() {
    let server = TestServer::start(
        |c| {
            c.max_connections(1);
        },
        |_req: Request| async { Response::text(200, "hi\n") },
    );
    // One keep-alive connection takes the only slot: the server stops accepting.
    let mut busy = server.connect();
    assert_eq!(busy.request(&get("/")).text(), "hi\n");
    // The kernel completes a handshake only while the accept queue has room; past it the
    // SYN is dropped and connect waits for a retransmission (1 s, then 3 s).
    let n = 600;
    let mut held = Vec::with_capacity(n);
    for i in 0..n {
        match TcpStream::connect_timeout(&server.addr, Duration::from_millis(800)) {
            Ok(s) => held.push(s),
            Err(e) => panic!("connect {i} of {n} with the server at its limit: {e}"),
        }
    }
    drop(held);
    assert_eq!(busy.request(&get("/")).text(), "hi\n");
}
