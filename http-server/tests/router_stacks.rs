//! Router over loopback: before stacks, denial, after handlers, basic auth, cookies,
//! panics, waiting before handlers.
#![cfg(feature = "smol")]

mod router_common;

use std::sync::mpsc;
use std::time::Duration;

use async_io::Timer;
use http_server::Response;
use http_server::router::{
    AuthUser, BasicAuth, Completed, Flow, Redirect, RequestContext, Router, SameSite, SetCookie,
    cookie, redirect,
};
use router_common::{Client, get, request, serve};

/// The names of the before handlers that ran, in order.
struct Trail(Vec<&'static str>);

fn mark(name: &'static str) -> impl Fn(RequestContext) -> std::future::Ready<Flow> + Send + Sync {
    move |mut cx: RequestContext| {
        match cx.get_mut::<Trail>() {
            Some(t) => t.0.push(name),
            None => {
                cx.insert(Trail(vec![name]));
            }
        }
        std::future::ready(Flow::Continue(cx))
    }
}

fn trail(cx: &RequestContext) -> String {
    cx.get::<Trail>().map_or(String::new(), |t| t.0.join(">"))
}

fn app(done: mpsc::Sender<Completed>) -> Router {
    let mut r = Router::new();
    r.before("/", mark("root"))
        .before("/a", mark("a"))
        .before("/a/b", mark("b"))
        .before("/a/b/c", mark("c"))
        .get("/a/*", |cx: RequestContext| async move { trail(&cx) })
        .get("/x", |cx: RequestContext| async move { trail(&cx) })
        // Denials: 401, 403, a redirect; the content handler never runs.
        .before("/private", |_cx: RequestContext| async {
            Flow::Respond(Response::text(403, "forbidden\n"))
        })
        .get("/private", |_cx: RequestContext| async { "leak" })
        .before("/moved", |_cx: RequestContext| async {
            Flow::Respond(redirect(Redirect::Permanent, "/x"))
        })
        .get("/moved", |_cx: RequestContext| async { "leak" })
        .before(
            "/admin",
            BasicAuth::new("the \"admin\" area", |u, p| u == "root" && p == "pw"),
        )
        .get("/admin/*", |cx: RequestContext| async move {
            format!("hello {}", cx.get::<AuthUser>().unwrap().0)
        })
        // RC_WAIT: a before handler that waits, then lets the request go on.
        .before("/slow", |mut cx: RequestContext| async move {
            Timer::after(Duration::from_millis(50)).await;
            cx.insert(Trail(vec!["waited"]));
            Flow::Continue(cx)
        })
        .get("/slow", |cx: RequestContext| async move { trail(&cx) })
        .before("/replace", |cx: RequestContext| async move {
            Flow::replace(cx, |_cx: RequestContext| async { "replacement" })
        })
        .get("/replace", |_cx: RequestContext| async { "original" })
        .before("/boom", |_cx: RequestContext| async {
            panic!("before handler")
        })
        .get("/boom", |_cx: RequestContext| async { "unreachable" })
        .get("/cookies", |cx: RequestContext| async move {
            let seen = cookie(cx.request(), "visits").unwrap_or("0").to_owned();
            let n: u32 = seen.parse().unwrap_or(0) + 1;
            Response::text(200, format!("visit {n}"))
                .header(
                    "Set-Cookie",
                    SetCookie::new("visits", &n.to_string())
                        .path("/")
                        .max_age(Duration::from_secs(60))
                        .http_only()
                        .same_site(SameSite::Strict)
                        .to_string(),
                )
                .header("Set-Cookie", SetCookie::delete("old").path("/").to_string())
        })
        .after("/", move |c: &Completed| {
            let _ = done.send(c.clone());
        });
    r
}

#[test]
fn before_handlers_stack_from_root_down() {
    let (tx, _rx) = mpsc::channel();
    let server = serve(app(tx));
    let addr = server.local_addr();
    assert_eq!(get(addr, "/a/b/c/d", &[]).text(), "root>a>b>c");
    assert_eq!(get(addr, "/a/b", &[]).text(), "root>a>b");
    assert_eq!(get(addr, "/a/bc", &[]).text(), "root>a");
    assert_eq!(get(addr, "/x", &[]).text(), "root");
    let slow = get(addr, "/slow", &[]);
    assert_eq!(
        slow.text(),
        "waited",
        "the before handler awaited, then continued"
    );
    assert_eq!(get(addr, "/replace", &[]).text(), "replacement");
}

#[test]
fn denials_stop_the_stack() {
    let (tx, _rx) = mpsc::channel();
    let server = serve(app(tx));
    let addr = server.local_addr();
    let r = get(addr, "/private/file", &[]);
    assert_eq!((r.status, r.text().as_str()), (403, "forbidden\n"));
    let r = get(addr, "/moved", &[]);
    assert_eq!(r.status, 308);
    assert_eq!(r.header("location"), Some("/x"));
    let r = get(addr, "/admin/panel", &[]);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Basic realm="the \"admin\" area", charset="UTF-8""#)
    );
}

#[test]
fn basic_auth_lets_the_right_user_in() {
    let (tx, _rx) = mpsc::channel();
    let server = serve(app(tx));
    let addr = server.local_addr();
    // root:pw and root:nope
    let ok = get(
        addr,
        "/admin/panel",
        &[("Authorization", "Basic cm9vdDpwdw==")],
    );
    assert_eq!((ok.status, ok.text().as_str()), (200, "hello root"));
    let bad = get(
        addr,
        "/admin/panel",
        &[("Authorization", "Basic cm9vdDpub3Bl")],
    );
    assert_eq!(bad.status, 401);
    let garbage = get(addr, "/admin", &[("Authorization", "Basic ###")]);
    assert_eq!(garbage.status, 401);
}

#[test]
fn cookies_round_trip() {
    let (tx, _rx) = mpsc::channel();
    let server = serve(app(tx));
    let addr = server.local_addr();
    let first = get(addr, "/cookies", &[]);
    assert_eq!(first.text(), "visit 1");
    assert_eq!(
        first.headers_named("set-cookie"),
        [
            "visits=1; Path=/; Max-Age=60; HttpOnly; SameSite=Strict",
            "old=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        ]
    );
    let again = get(addr, "/cookies", &[("Cookie", "theme=dark; visits=41")]);
    assert_eq!(again.text(), "visit 42");
}

#[test]
fn a_panicking_stage_is_a_500_for_that_request_only() {
    let (tx, _rx) = mpsc::channel();
    let server = serve(app(tx));
    let mut c = Client::connect(server.local_addr());
    let r = c.send("GET", "/boom", &[]).unwrap();
    assert_eq!(r.status, 500);
    // The same connection goes on.
    let r = c.send("GET", "/x", &[]).unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "root"));
}

#[test]
fn after_handlers_get_status_bytes_and_duration_once_written() {
    let (tx, rx) = mpsc::channel();
    let server = serve(app(tx));
    let addr = server.local_addr();
    let mut c = Client::connect(addr);
    let r = c.send("GET", "/slow", &[]).unwrap();
    assert_eq!(r.text(), "waited");
    let done = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(
        (done.method.as_str(), done.target.as_str()),
        ("GET", "/slow")
    );
    assert_eq!((done.status, done.bytes, done.finished), (200, 6, true));
    assert!(
        done.duration >= Duration::from_millis(50),
        "{:?}",
        done.duration
    );

    let r = c.send("GET", "/private", &[]).unwrap();
    assert_eq!(r.status, 403);
    let done = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(
        (done.status, done.bytes),
        (403, 10),
        "denials are logged too"
    );

    let r = c.send("HEAD", "/x", &[]).unwrap();
    assert_eq!(r.status, 200);
    let done = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(
        (done.method.as_str(), done.bytes, done.finished),
        ("HEAD", 0, true)
    );

    let r = request(addr, "DELETE", "/x", &[]);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
    let done = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(done.status, 405);
}
