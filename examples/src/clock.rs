//! A Server-Sent Events clock: the page opens an `EventSource` on `events`, which pushes
//! the time every second from a task of its own. A reconnecting browser resumes its count
//! from `Last-Event-ID`; the stream stops as soon as the browser is gone, and says goodbye
//! when the server shuts down.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_io::Timer;
use futures_lite::FutureExt;
use h1_server::{Request, Response};
use h1_stream::sse::{self, Event};

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>SSE clock</title>
<link rel="stylesheet" href="/site.css"></head>
<body>
<h1>SSE clock</h1>
<p>Server time: <strong id="time">connecting…</strong> (<span id="count">0</span> events)</p>
<ol id="log"></ol>
<script>
  const es = new EventSource("events");
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

/// Answer `{prefix}/` with the page and `{prefix}/events` with the event stream; `None`
/// for other paths. The page's `EventSource` URL is relative, so any prefix works.
pub fn route(req: &Request, prefix: &str) -> Option<Response> {
    match req.path().strip_prefix(prefix)? {
        "/" | "" => Some(Response::html(200, PAGE)),
        "/events" => Some(clock(req)),
        _ => None,
    }
}

fn clock(req: &Request) -> Response {
    // Resume the count where the browser left off.
    let mut seq: u64 = sse::last_event_id(req)
        .and_then(|id| id.parse().ok())
        .unwrap_or(0);
    // The stream takes the request's shutdown signal; the producer runs on the server's
    // executor.
    let (tx, response) = sse::Options::new()
        .retry(Some(Duration::from_secs(2)))
        .response_for(req);
    req.spawn(async move {
        loop {
            seq += 1;
            let event = Event::new().event("tick").id(seq.to_string()).data(now());
            if tx.send(&event).await.is_err() {
                return;
            }
            // Sleep a second; stop at once when the browser goes away, and say goodbye
            // when the server shuts down.
            let gone = async {
                Timer::after(Duration::from_secs(1)).await;
                false
            }
            .or(async {
                tx.closed().await;
                true
            })
            .or(async {
                tx.shutdown_requested().await;
                let bye = Event::new().event("bye").data("server shutting down");
                let _ = tx.send(&bye).await;
                true
            })
            .await;
            if gone {
                let _ = tx.close();
                return;
            }
        }
    });
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
