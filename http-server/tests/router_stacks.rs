//! Router stacks on the connection kit (no socket): before stacks, denial, basic auth,
//! cookies, waiting before handlers, a panicking stage (the connection goes on) and after
//! handlers (called once the body was written).

use std::sync::mpsc;
use std::time::Duration;

use async_io::Timer;
use futures_lite::future::block_on;
use h1_server::router::{
    AuthUser, BasicAuth, Completed, Flow, Redirect, Router, SameSite, SetCookie, cookie, redirect,
};
use h1_server::testing::{TestConnection, WireResponse};
use h1_server::{Request, Response, ServerConfig};

/// A new connection served by `app`.
fn conn(app: &Router) -> TestConnection {
    TestConnection::new(app.clone(), ServerConfig::new())
}

/// `method target` with `headers`, as raw HTTP/1.1 request bytes.
fn raw(method: &str, target: &str, headers: &[(&str, &str)]) -> String {
    let mut raw = format!("{method} {target} HTTP/1.1\r\nHost: t\r\n");
    for (name, value) in headers {
        raw += &format!("{name}: {value}\r\n");
    }
    raw + "\r\n"
}

/// `GET target` with `headers` on a new connection to `app`.
fn get(app: &Router, target: &str, headers: &[(&str, &str)]) -> WireResponse {
    block_on(conn(app).request(raw("GET", target, headers)))
}

/// The names of the before handlers that ran, in order.
struct Trail(Vec<&'static str>);

fn mark(name: &'static str) -> impl Fn(Request) -> std::future::Ready<Flow> + Send + Sync {
    move |mut req: Request| {
        match req.extensions_mut().get_mut::<Trail>() {
            Some(t) => t.0.push(name),
            None => {
                req.insert_extension(Trail(vec![name]));
            }
        }
        std::future::ready(Flow::Continue(req))
    }
}

fn trail(req: &Request) -> String {
    req.extension::<Trail>()
        .map_or(String::new(), |t| t.0.join(">"))
}

fn app(done: mpsc::Sender<Completed>) -> Router {
    let mut r = Router::new();
    r.before("/", mark("root"))
        .before("/a", mark("a"))
        .before("/a/b", mark("b"))
        .before("/a/b/c", mark("c"))
        .get("/a/*", |cx: Request| async move { trail(&cx) })
        .get("/x", |cx: Request| async move { trail(&cx) })
        // Denials: 401, 403, a redirect; the content handler never runs.
        .before("/private", |_cx: Request| async {
            Flow::Respond(Response::text(403, "forbidden\n"))
        })
        .get("/private", |_cx: Request| async { "leak" })
        .before("/moved", |_cx: Request| async {
            Flow::Respond(redirect(Redirect::Permanent, "/x"))
        })
        .get("/moved", |_cx: Request| async { "leak" })
        .before(
            "/admin",
            BasicAuth::new("the \"admin\" area", |u, p| u == "root" && p == "pw"),
        )
        .get("/admin/*", |cx: Request| async move {
            format!("hello {}", cx.extension::<AuthUser>().unwrap().0)
        })
        // A before handler that waits, then lets the request go on.
        .before("/slow", |mut cx: Request| async move {
            Timer::after(Duration::from_millis(50)).await;
            cx.insert_extension(Trail(vec!["waited"]));
            Flow::Continue(cx)
        })
        .get("/slow", |cx: Request| async move { trail(&cx) })
        .before("/replace", |cx: Request| async move {
            Flow::replace(cx, |_cx: Request| async { "replacement" })
        })
        .get("/replace", |_cx: Request| async { "original" })
        .before("/boom", |_cx: Request| async { panic!("before handler") })
        .get("/boom", |_cx: Request| async { "unreachable" })
        .get("/cookies", |cx: Request| async move {
            let seen = cookie(&cx, "visits").unwrap_or("0").to_owned();
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
    let app = app(tx);
    let addr = &app;
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
    let app = app(tx);
    let addr = &app;
    let r = get(addr, "/private/file", &[]);
    assert_eq!((r.status, r.text()), (403, "forbidden\n"));
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
    let app = app(tx);
    let addr = &app;
    // root:pw and root:nope
    let ok = get(
        addr,
        "/admin/panel",
        &[("Authorization", "Basic cm9vdDpwdw==")],
    );
    assert_eq!((ok.status, ok.text()), (200, "hello root"));
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
    let app = app(tx);
    let addr = &app;
    let first = get(addr, "/cookies", &[]);
    assert_eq!(first.text(), "visit 1");
    assert_eq!(
        first.header_values("set-cookie"),
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
    let app = app(tx);
    block_on(async {
        let mut c = conn(&app);
        let r = c.request(raw("GET", "/boom", &[])).await;
        assert_eq!(r.status, 500);
        // The same connection goes on.
        let r = c.request(raw("GET", "/x", &[])).await;
        assert_eq!((r.status, r.text()), (200, "root"));
    });
}

#[test]
fn after_handlers_get_status_bytes_and_duration_once_written() {
    let (tx, rx) = mpsc::channel();
    let app = app(tx);
    block_on(async {
        let mut c = conn(&app);
        let r = c.request(raw("GET", "/slow", &[])).await;
        assert_eq!(r.text(), "waited");
        c.settle().await;
        let done = rx.try_recv().unwrap();
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

        let r = c.request(raw("GET", "/private", &[])).await;
        assert_eq!(r.status, 403);
        c.settle().await;
        let done = rx.try_recv().unwrap();
        assert_eq!(
            (done.status, done.bytes),
            (403, 10),
            "denials are logged too"
        );

        c.send(raw("HEAD", "/x", &[])).await;
        let r = c.read_head_response().await;
        assert_eq!(r.status, 200);
        c.settle().await;
        let done = rx.try_recv().unwrap();
        assert_eq!(
            (done.method.as_str(), done.bytes, done.finished),
            ("HEAD", 0, true)
        );

        let r = c.request(raw("DELETE", "/x", &[])).await;
        assert_eq!(r.status, 405);
        assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
        c.settle().await;
        let done = rx.try_recv().unwrap();
        assert_eq!(done.status, 405);
    });
}
