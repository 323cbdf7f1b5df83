//! A thousand push streams open at once, each fed and closed independently.

mod common;

use std::time::{Duration, Instant};

use common::{WAIT, run, stream_server};
use h1_stream::Config;

#[test]
fn a_thousand_concurrent_streams() {
    const N: usize = 1000;
    let (server, rx) = stream_server(|_| {
        let mut config = Config::new();
        config.capacity(4096);
        h1_stream::response(200, config)
    });
    let t0 = Instant::now();
    let mut clients = Vec::with_capacity(N);
    for i in 0..N {
        let mut c = server.connect();
        c.get(&format!("/{i}"));
        clients.push(c);
    }
    // Every handler has answered with a stream; index the senders by path.
    let mut senders: Vec<Option<h1_stream::Sender>> = (0..N).map(|_| None).collect();
    for _ in 0..N {
        let (path, tx) = rx.recv_timeout(WAIT).expect("a stream did not start");
        let i: usize = path[1..].parse().unwrap();
        senders[i] = Some(tx);
    }
    let senders: Vec<_> = senders.into_iter().map(Option::unwrap).collect();
    assert_eq!(server.handle.connection_count(), N);
    for c in &mut clients {
        assert!(c.head().starts_with("HTTP/1.1 200"));
    }
    // Push to each (in reverse, so order of opening does not matter), then read.
    for (i, tx) in senders.iter().enumerate().rev() {
        run(tx.send(format!("hello {i}\n"))).unwrap();
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let got = c.chunk(WAIT).expect("chunk").expect("data");
        assert_eq!(got, format!("hello {i}\n").as_bytes());
    }
    // Close every other one; the rest stay open and still work.
    for (i, tx) in senders.iter().enumerate() {
        if i % 2 == 0 {
            tx.close().unwrap();
        }
    }
    for (i, c) in clients.iter_mut().enumerate() {
        if i % 2 == 0 {
            assert_eq!(c.chunk(WAIT), Some(None));
        } else {
            assert!(!senders[i].is_closed());
        }
    }
    for tx in senders.iter().skip(1).step_by(2) {
        run(tx.send("bye\n")).unwrap();
        tx.close().unwrap();
    }
    for c in clients.iter_mut().skip(1).step_by(2) {
        assert_eq!(c.chunk(WAIT), Some(Some(b"bye\n".to_vec())));
        assert_eq!(c.chunk(WAIT), Some(None));
    }
    for tx in &senders {
        assert!(common::finishes_within(WAIT, tx.closed()).is_some());
    }
    let took = t0.elapsed();
    eprintln!("{N} streams opened, fed and closed in {took:?}");
    assert!(took < Duration::from_secs(30));
}
