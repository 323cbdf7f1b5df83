//! When a push stream's bytes are written, on h1-server's connection kit (no socket, no
//! waiting to see that nothing arrives): `dont_flush` holds chunks until `flush()`, a
//! per-send override flushes at once, and the high-water mark forces a write.

use std::sync::{Arc, Mutex, mpsc};

use futures_lite::future::{block_on, zip};
use h1_server::testing::TestConnection;
use h1_server::{Request, ServerConfig};
use h1_stream::{Config, Sender};

/// A connection that sent `GET /` to a chunked stream made with `config`, with the
/// response head read; and the stream's sender.
async fn open(config: Config) -> (TestConnection, Sender) {
    let (tx, rx) = mpsc::channel();
    let tx = Arc::new(Mutex::new(tx));
    let handler = move |_req: Request| {
        let (sender, response) = h1_stream::response(200, config.clone());
        let _ = tx.lock().unwrap().send(sender);
        async move { response }
    };
    let mut c = TestConnection::new(handler, ServerConfig::new());
    c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").await;
    let sender = rx.try_recv().expect("no stream started");
    let head = c.read_until(|b| b.ends_with(b"\r\n\r\n")).await;
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("Transfer-Encoding: chunked"), "{head}");
    (c, sender)
}

/// The chunk framing of `data`.
fn chunk(data: &str) -> String {
    format!("{:x}\r\n{data}\r\n", data.len())
}

#[test]
fn dont_flush_holds_chunks_until_flush() {
    block_on(async {
        let mut config = Config::new();
        config
            .dont_flush(true)
            .high_water(1 << 20)
            .capacity(1 << 20);
        let (mut c, tx) = open(config).await;
        for i in 0..10 {
            tx.send(format!("line {i}\n")).await.unwrap();
        }
        let early = c.read_available().await;
        assert!(
            early.is_empty(),
            "held chunks reached the client before flush: {:?}",
            String::from_utf8_lossy(&early)
        );
        // `flush` returns once the chunks are written: the connection runs meanwhile.
        let want: String = (0..10).map(|i| chunk(&format!("line {i}\n"))).collect();
        let (flushed, body) = zip(tx.flush(), c.read_until(|b| b.len() >= want.len())).await;
        flushed.unwrap();
        assert_eq!(String::from_utf8(body).unwrap(), want);
        // A per-send override flushes at once, whatever the mode.
        let (sent, got) = zip(
            tx.send_flushed("now\n"),
            c.read_until(|b| b.ends_with(b"now\n\r\n")),
        )
        .await;
        sent.unwrap();
        assert_eq!(got, chunk("now\n").as_bytes());
        tx.close().unwrap();
        assert_eq!(
            c.read_until(|b| b.ends_with(b"0\r\n\r\n")).await,
            b"0\r\n\r\n"
        );
    });
}

#[test]
fn high_water_mark_forces_a_write() {
    block_on(async {
        let mut config = Config::new();
        config.dont_flush(true).high_water(1000);
        let (mut c, tx) = open(config).await;
        let piece = "x".repeat(100);
        for _ in 0..9 {
            tx.send(piece.clone()).await.unwrap();
        }
        assert!(
            c.read_available().await.is_empty(),
            "900 held bytes (under the mark) were written"
        );
        tx.send(piece.clone()).await.unwrap(); // 1000 held: the mark
        let forced = c.read_until(|b| b.len() >= 10 * chunk(&piece).len()).await;
        assert_eq!(String::from_utf8(forced).unwrap(), chunk(&piece).repeat(10));
        // The next held chunk waits again.
        tx.send_buffered(piece.clone()).await.unwrap();
        assert!(c.read_available().await.is_empty());
        tx.close().unwrap(); // close releases what is held
        let rest = c.read_until(|b| b.ends_with(b"0\r\n\r\n")).await;
        assert_eq!(
            String::from_utf8(rest).unwrap(),
            chunk(&piece) + "0\r\n\r\n"
        );
    });
}
