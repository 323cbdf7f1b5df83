//! Server-Sent Events and long-poll over loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use h1_server::{Request, Response};
use h1_stream::longpoll::{self, Hub};
use h1_stream::sse::{self, Event, EventSender};
use integration_tests::{
    Client, TestServer, WAIT, finishes_within, next_sender, run, stream_server,
};

#[test]
fn sse_stream_sends_headers_retry_events_and_keep_alives() {
    let (server, rx) = stream_server(|req| {
        let (tx, response) = sse::Options::new()
            .keep_alive(Some(Duration::from_millis(150)))
            .retry(Some(Duration::from_secs(1)))
            .response();
        // Resume after the id the browser sent.
        let last = sse::last_event_id(req).unwrap_or("none").to_owned();
        let _ = tx.try_send(&Event::new().id("42").data(format!("resumed after {last}")));
        (tx.into_sender(), response)
    });
    let mut client = server.connect();
    client.send(
        "GET /events HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\nLast-Event-ID: 41\r\n\r\n",
    );
    let tx = EventSender::from(next_sender(&rx));
    let head = client.head().to_ascii_lowercase();
    assert!(
        head.contains("content-type: text/event-stream\r\n"),
        "{head}"
    );
    assert!(head.contains("cache-control: no-cache\r\n"), "{head}");
    assert!(head.contains("x-accel-buffering: no\r\n"), "{head}");
    assert!(head.contains("transfer-encoding: chunked\r\n"), "{head}");

    let mut text = String::new();
    let next = |client: &mut Client, within| {
        String::from_utf8(client.chunk(within).expect("sse chunk").expect("data")).unwrap()
    };
    text.push_str(&next(&mut client, WAIT));
    text.push_str(&next(&mut client, WAIT));
    assert_eq!(text, "retry: 1000\n\nid: 42\ndata: resumed after 41\n\n");

    // Quiet: a keep-alive comment comes after the interval.
    let t0 = Instant::now();
    assert_eq!(
        next(&mut client, Duration::from_secs(2)),
        ": keep-alive\n\n"
    );
    let quiet = t0.elapsed();
    assert!(
        quiet >= Duration::from_millis(100) && quiet < Duration::from_secs(1),
        "{quiet:?}"
    );

    // Events arrive as sent, multi-line data split into fields.
    let t0 = Instant::now();
    run(tx.send(&Event::new().event("update").data("a\nb"))).unwrap();
    assert_eq!(
        next(&mut client, Duration::from_millis(500)),
        "event: update\ndata: a\ndata: b\n\n"
    );
    assert!(
        t0.elapsed() < Duration::from_millis(50),
        "{:?}",
        t0.elapsed()
    );
    run(tx.comment("note")).unwrap();
    assert_eq!(next(&mut client, WAIT), ": note\n\n");
    tx.close().unwrap();
    assert_eq!(client.chunk(WAIT), Some(None));
}

fn longpoll_server(hub: Hub<String>, timeout: Duration) -> TestServer {
    let hub = Arc::new(hub);
    TestServer::start(
        |_| {},
        move |req: Request| {
            let hub = hub.clone();
            async move {
                let after = req.query_pairs().get("after").and_then(|a| a.parse().ok());
                longpoll::respond(&hub, "t", after, timeout, |messages| {
                    let body: String = messages
                        .iter()
                        .map(|m| format!("{} {}\n", m.id, m.value))
                        .collect();
                    Response::text(200, body)
                })
                .await
            }
        },
    )
}

#[test]
fn longpoll_answers_204_after_the_timeout() {
    let server = longpoll_server(Hub::new(), Duration::from_millis(300));
    let mut client = server.connect();
    let t0 = Instant::now();
    client.send(integration_tests::get("/poll"));
    let head = client.head();
    let took = t0.elapsed();
    assert!(head.starts_with("HTTP/1.1 204"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("cache-control: no-cache"),
        "{head}"
    );
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_secs(2),
        "{took:?}"
    );
    // Keep-alive: the same connection polls again.
    client.send(integration_tests::get("/poll"));
    assert!(client.head().starts_with("HTTP/1.1 204"));
}

#[test]
fn longpoll_wakes_every_parked_client_on_publish() {
    let hub = Hub::new();
    let server = longpoll_server(hub.clone(), Duration::from_secs(20));
    let mut clients: Vec<Client> = (0..50).map(|_| server.connect()).collect();
    for c in &mut clients {
        c.send(integration_tests::get("/poll"));
    }
    // A client that parks and leaves must not hold anyone up.
    let mut gone = server.connect();
    gone.send(integration_tests::get("/poll"));
    drop(gone);
    // Wait (bounded) until the requests are parked: the topic exists while any waits.
    let t0 = Instant::now();
    while hub.topic_count() == 0 {
        assert!(t0.elapsed() < WAIT);
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(!clients[0].gets_bytes_within(Duration::from_millis(10)));
    let t0 = Instant::now();
    let id = hub.publish("t", "hello".to_owned());
    for c in &mut clients {
        let head = c.head();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(
            c.exact(8, WAIT).unwrap(),
            format!("{id} hello\n").as_bytes()
        );
    }
    let took = t0.elapsed();
    assert!(
        took < Duration::from_millis(500),
        "50 parked clients woken in {took:?}"
    );
    // A client that missed it catches up from the history.
    let mut late = server.connect();
    late.send(integration_tests::get("/poll?after=0"));
    assert!(late.head().starts_with("HTTP/1.1 200"));
    assert_eq!(late.exact(8, WAIT).unwrap(), b"1 hello\n");
}

#[test]
fn sse_subscribers_of_a_hub_each_get_every_message() {
    let hub: Hub<String> = Hub::new();
    let (server, rx) = stream_server(|_| {
        let (tx, response) = sse::Options::new().keep_alive(None).response();
        (tx.into_sender(), response)
    });
    let mut clients: Vec<Client> = (0..5).map(|_| server.connect()).collect();
    let mut tasks = Vec::new();
    for c in &mut clients {
        c.send(integration_tests::get("/events"));
        let tx = EventSender::from(next_sender(&rx));
        let mut sub = hub.subscribe("room", None);
        tasks.push(std::thread::spawn(move || {
            run(async {
                loop {
                    let next =
                        futures_lite::FutureExt::or(async { Some(sub.next().await) }, async {
                            tx.closed().await;
                            None
                        });
                    let Some(messages) = next.await else { return };
                    for m in messages {
                        let e = Event::new().id(m.id.to_string()).data(m.value);
                        if tx.send(&e).await.is_err() {
                            return;
                        }
                    }
                }
            })
        }));
        c.head();
    }
    std::thread::sleep(Duration::from_millis(50));
    hub.publish("room", "one".into());
    hub.publish("room", "two".into());
    for c in &mut clients {
        let mut text = String::new();
        while !text.contains("id: 2\n") {
            let chunk = c.chunk(WAIT).expect("event").expect("data");
            text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
        assert_eq!(text, "id: 1\ndata: one\n\nid: 2\ndata: two\n\n");
    }
    drop(clients);
    drop(server); // closes every stream: the producer threads end
    for t in tasks {
        assert!(
            finishes_within(WAIT, async {
                while !t.is_finished() {
                    async_io::Timer::after(Duration::from_millis(5)).await;
                }
            })
            .is_some()
        );
        t.join().unwrap();
    }
}
