//! A small chat room: messages are posted to `send` and published on a long-poll [`Hub`];
//! browsers follow the room either with Server-Sent Events (`events`) or with long-poll
//! requests (`poll?after=N`, `204` after 25 s of quiet). A slow or vanished browser never
//! holds up the others: publishing never waits. The room is the router's state; event
//! streams run on the server's executor and end when the server shuts down.

use std::sync::Arc;
use std::time::Duration;

use futures_lite::FutureExt;
use h1_server::router::Router;
use h1_server::{Request, Response};
use h1_stream::longpoll::{self, Hub, Message};
use h1_stream::sse::{self, Event};

const ROOM: &str = "room";
/// The longest name plus text accepted from a post.
const MAX_POST: u64 = 4096;

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>chat</title>
<link rel="stylesheet" href="/site.css">
</head><body>
<h1>chat <small id="mode"></small></h1>
<div id="log"></div>
<form id="form"><input id="name" placeholder="name" size="8" value="guest">
<input id="text" placeholder="message" size="40" autofocus><button>send</button></form>
<script>
  const log = document.getElementById("log");
  const usePoll = new URLSearchParams(location.search).get("mode") === "poll";
  document.getElementById("mode").textContent = usePoll ? "(long-poll)" : "(server-sent events)";
  function show(m) {
    const p = document.createElement("p");
    p.className = "msg";
    p.textContent = m.name + ": " + m.text;
    log.append(p);
    log.scrollTop = log.scrollHeight;
  }
  if (usePoll) {
    let after = 0;
    (async function poll() {
      for (;;) {
        try {
          const r = await fetch("poll?after=" + after);
          if (r.status === 200) {
            for (const m of await r.json()) { after = m.id; show(m); }
          }
        } catch (e) { await new Promise((ok) => setTimeout(ok, 1000)); }
      }
    })();
  } else {
    const es = new EventSource("events");
    es.addEventListener("message", (e) => show(JSON.parse(e.data)));
  }
  document.getElementById("form").onsubmit = (e) => {
    e.preventDefault();
    const text = document.getElementById("text");
    const body = new URLSearchParams({ name: document.getElementById("name").value, text: text.value });
    fetch("send", { method: "POST", body });
    text.value = "";
  };
</script>
</body></html>
"#;

/// One chat line, kept as its JSON object text (`{"id":..,"name":..,"text":..}` minus
/// the id, which the hub assigns).
pub type Line = Arc<str>;

/// The chat room: a hub shared by every request.
pub type Room = Hub<Line>;

/// The chat's routes under `prefix` (`""` for the root): `/`, `/send`, `/poll`, `/events`,
/// sharing one [`Room`].
pub fn router(prefix: &str) -> Router {
    let mut r = Router::new();
    r.state(Room::new())
        .get(&format!("{prefix}/"), |_req: Request| async {
            Response::html(200, PAGE)
        })
        .post(&format!("{prefix}/send"), send)
        .get(&format!("{prefix}/poll"), poll)
        .get(&format!("{prefix}/events"), events);
    if !prefix.is_empty() {
        r.get(prefix, |_req: Request| async { Response::html(200, PAGE) });
    }
    r
}

/// The room of a request routed by [`router`].
fn room(req: &Request) -> Arc<Room> {
    req.state_arc::<Room>()
        .expect("chat routes run in the chat router, which holds the room")
}

async fn send(mut req: Request) -> Result<Response, h1_server::Error> {
    let form = req.form(MAX_POST).await?;
    let name = form.get("name").unwrap_or("guest");
    let text = form.get("text").unwrap_or("");
    if text.is_empty() {
        return Ok(Response::text(400, "empty message\n"));
    }
    let line = format!(r#""name":{},"text":{}"#, json(name), json(text));
    room(&req).publish(ROOM, line.into());
    Ok(Response::empty(204))
}

async fn poll(req: Request) -> Response {
    let after = req.query_pairs().get("after").and_then(|a| a.parse().ok());
    longpoll::respond(
        &room(&req),
        ROOM,
        after,
        Duration::from_secs(25),
        |messages| {
            let items: Vec<String> = messages.iter().map(object).collect();
            Response::bytes(200, format!("[{}]", items.join(",")))
                .header("Content-Type", "application/json")
        },
    )
    .await
}

/// An event stream of the room: the history after `Last-Event-ID` (all of it for a new
/// browser), then every new message, until the browser goes away or the server shuts
/// down.
async fn events(req: Request) -> Response {
    let after = sse::last_event_id(&req)
        .and_then(|id| id.parse().ok())
        .unwrap_or(0);
    let mut messages = room(&req).subscribe(ROOM, Some(after));
    let (tx, response) = sse::Options::new().response_for(&req);
    req.spawn(async move {
        loop {
            let next = async { Some(messages.next().await) }
                .or(async {
                    tx.closed().await;
                    None
                })
                .or(async {
                    tx.shutdown_requested().await;
                    None
                });
            let Some(batch) = next.await else {
                let _ = tx.close();
                return; // the browser went away, or the server is shutting down
            };
            for m in batch {
                let event = Event::new().id(m.id.to_string()).data(object(&m));
                if tx.send(&event).await.is_err() {
                    return;
                }
            }
        }
    });
    response
}

/// `{"id":N,"name":..,"text":..}`.
fn object(m: &Message<Line>) -> String {
    format!(r#"{{"id":{},{}}}"#, m.id, m.value)
}

/// `s` as a JSON string literal.
fn json(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // `<` escaped too, so the text can never close a script tag.
            c if (c as u32) < 0x20 || c == '<' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
