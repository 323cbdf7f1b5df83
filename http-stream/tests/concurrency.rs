//! A thousand push streams open at once, each fed and closed independently, on h1-server's
//! connection kit (a thousand in-memory connections, no socket).

use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use futures_lite::future::block_on;
use h1_server::testing::{ManualClock, TestConnection};
use h1_server::{Request, ServerConfig};
use h1_stream::{Config, Sender};

#[test]
fn a_thousand_concurrent_streams() {
    const N: usize = 1000;
    let (tx, rx) = mpsc::channel::<(String, Sender)>();
    let tx = Arc::new(Mutex::new(tx));
    let handler = move |req: Request| {
        let mut config = Config::new();
        config.capacity(4096);
        let (sender, response) = h1_stream::response(200, config);
        let _ = tx.lock().unwrap().send((req.path().to_owned(), sender));
        async move { response }
    };
    let handler = Arc::new(handler);
    let clock = ManualClock::new();
    let t0 = Instant::now();
    block_on(async {
        let mut clients = Vec::with_capacity(N);
        for i in 0..N {
            let h = handler.clone();
            let serve = move |req: Request| h(req);
            let mut c = TestConnection::with_clock(serve, ServerConfig::new(), clock.clone(), 4096);
            c.send(format!("GET /{i} HTTP/1.1\r\nHost: t\r\n\r\n"))
                .await;
            clients.push(c);
        }
        // Every handler has answered with a stream; index the senders by path.
        let mut senders: Vec<Option<Sender>> = (0..N).map(|_| None).collect();
        for _ in 0..N {
            let (path, tx) = rx.try_recv().expect("a stream did not start");
            let i: usize = path[1..].parse().unwrap();
            senders[i] = Some(tx);
        }
        let senders: Vec<_> = senders.into_iter().map(Option::unwrap).collect();
        for c in &mut clients {
            c.wait_for(b"\r\n\r\n").await;
            assert!(c.read_available().await.starts_with(b"HTTP/1.1 200"));
        }
        // Push to each (in reverse, so order of opening does not matter), then read.
        for (i, tx) in senders.iter().enumerate().rev() {
            tx.send(format!("hello {i}\n")).await.unwrap();
        }
        for (i, c) in clients.iter_mut().enumerate() {
            let want = format!("hello {i}\n");
            let got = c.read_until(|b| b.ends_with(b"\r\n")).await;
            assert_eq!(got, format!("{:x}\r\n{want}\r\n", want.len()).as_bytes());
        }
        // Close every other one; the rest stay open and still work.
        for (i, tx) in senders.iter().enumerate() {
            if i % 2 == 0 {
                tx.close().unwrap();
            }
        }
        for (i, c) in clients.iter_mut().enumerate() {
            if i % 2 == 0 {
                assert_eq!(
                    c.read_until(|b| b.ends_with(b"\r\n\r\n")).await,
                    b"0\r\n\r\n"
                );
            } else {
                assert!(c.is_quiet().await);
                assert!(!senders[i].is_closed());
            }
        }
        for tx in senders.iter().skip(1).step_by(2) {
            tx.send("bye\n").await.unwrap();
            tx.close().unwrap();
        }
        for c in clients.iter_mut().skip(1).step_by(2) {
            let rest = c.read_until(|b| b.ends_with(b"0\r\n\r\n")).await;
            assert_eq!(rest, b"4\r\nbye\n\r\n0\r\n\r\n");
        }
        for c in &mut clients {
            c.settle().await;
        }
        for tx in &senders {
            assert!(tx.is_closed());
            tx.closed().await;
        }
        // Every connection is still open for its next request.
        for c in &clients {
            assert_eq!(c.close_reason(), None);
        }
    });
    let took = t0.elapsed();
    eprintln!("{N} streams opened, fed and closed in {took:?}");
    assert!(took < Duration::from_secs(30));
}
