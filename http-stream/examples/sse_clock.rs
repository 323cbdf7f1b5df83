//! A Server-Sent Events clock: the page at `/` opens an `EventSource` on `/clock`, which
//! pushes the time every second from a task of its own. A reconnecting browser resumes
//! its count from `Last-Event-ID`; the stream stops as soon as the browser is gone.
//!
//! Run with: `cargo run -p http-stream --example sse_clock` (then open
//! <http://127.0.0.1:8080/>; pass another address as the first argument).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_io::Timer;
use futures_lite::FutureExt;
use http_server::{Request, Response, Server};
use http_stream::sse::{self, Event};

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>SSE clock</title></head>
<body>
<h1>SSE clock</h1>
<p>Server time: <strong id="time">connecting…</strong> (<span id="count">0</span> events)</p>
<ol id="log"></ol>
<script>
  const es = new EventSource("/clock");
  let count = 0;
  es.addEventListener("tick", (e) => {
    count += 1;
    document.getElementById("time").textContent = e.data;
    document.getElementById("count").textContent = count;
    const li = document.createElement("li");
    li.textContent = "tick " + e.lastEventId + " " + e.data;
    document.getElementById("log").prepend(li);
  });
  es.onerror = () => { document.getElementById("time").textContent = "reconnecting…"; };
</script>
</body></html>
"#;

/// Answer `/` with the page and `/clock` with the event stream.
async fn route(req: Request) -> Response {
    match req.path() {
        "/" => Response::html(200, PAGE),
        "/clock" => clock(&req),
        _ => Response::text(404, "not found\n"),
    }
}

fn clock(req: &Request) -> Response {
    // Resume the count where the browser left off.
    let mut seq: u64 = sse::last_event_id(req)
        .and_then(|id| id.parse().ok())
        .unwrap_or(0);
    let (tx, response) = sse::Options::new()
        .retry(Some(Duration::from_secs(2)))
        .response();
    smol::spawn(async move {
        loop {
            seq += 1;
            let event = Event::new().event("tick").id(seq.to_string()).data(now());
            if tx.send(&event).await.is_err() {
                return;
            }
            // Sleep a second, or stop at once when the browser goes away.
            let gone = async {
                Timer::after(Duration::from_secs(1)).await;
                false
            }
            .or(async {
                tx.closed().await;
                true
            })
            .await;
            if gone {
                return;
            }
        }
    })
    .detach();
    response
}

/// `HH:MM:SS UTC`.
fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let day = secs % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        day / 3600,
        day % 3600 / 60,
        day % 60
    )
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    smol::block_on(async {
        let server = Server::bind(addr.as_str()).await?;
        let handle = server.serve(route);
        println!("SSE clock on http://{}/", handle.local_addr());
        std::future::pending::<()>().await;
        Ok(())
    })
}
