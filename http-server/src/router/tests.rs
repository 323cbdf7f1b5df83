//! Routing tables without sockets: a request value in, a response value out.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures_lite::future::block_on;
use http_core::{Connection, Event, Next};

use super::*;
use crate::close::ConnectionId;
use crate::request::RequestBody;
use crate::response::ResponseBody;
use crate::shared::ConnShared;

/// A request parsed from a head (no body).
fn req(method: &str, target: &str, headers: &[(&str, &str)]) -> Request {
    let mut conn = Connection::new(Default::default());
    let mut raw = format!("{method} {target} HTTP/1.1\r\nHost: t\r\n");
    for (n, v) in headers {
        raw.push_str(&format!("{n}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    conn.receive(raw.as_bytes());
    let Ok(Next::Event(Event::Head(head))) = conn.next_event() else {
        panic!("no head for {raw:?}");
    };
    let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
    Request::new(
        Arc::new(head.clone()),
        RequestBody::empty(),
        ConnectionId::next(),
        addr,
        addr,
        None,
        Arc::new(ConnShared::new()),
    )
}

/// Status and body text of the router's answer.
fn call(router: &Router, method: &str, target: &str) -> (u16, String, Response) {
    call_with(router, method, target, &[])
}

fn call_with(
    router: &Router,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> (u16, String, Response) {
    let mut r = block_on(router.call(req(method, target, headers)));
    let text = body_text(&mut r);
    (r.status(), text, r)
}

/// The body of a response, driving a stream body to its end.
fn body_text(r: &mut Response) -> String {
    let bytes = match std::mem::replace(&mut r.body, ResponseBody::Empty) {
        ResponseBody::Empty | ResponseBody::Close => Vec::new(),
        ResponseBody::Full(b) => b.to_vec(),
        ResponseBody::Stream(mut s) => {
            let mut out = Vec::new();
            block_on(futures_lite::future::poll_fn(|cx| {
                loop {
                    match s.as_mut().poll_frame(cx) {
                        Poll::Ready(Some(Ok(crate::Frame::Data(d)))) => out.extend_from_slice(&d),
                        Poll::Ready(Some(Ok(_))) => {}
                        Poll::Ready(Some(Err(e))) => panic!("{e}"),
                        Poll::Ready(None) => return Poll::Ready(()),
                        Poll::Pending => return Poll::Pending,
                    }
                }
            }));
            out
        }
    };
    String::from_utf8(bytes).unwrap()
}

fn text(s: &'static str) -> impl Endpoint {
    move |_cx: RequestContext| async move { s }
}

fn sample() -> Router {
    let mut r = Router::new();
    r.get("/", text("root"))
        .get("/users", text("list"))
        .post("/users", text("create"))
        .get("/users/me", text("me"))
        .get("/users/:id", |cx: RequestContext| async move {
            format!("user {}", cx.param("id").unwrap())
        })
        .delete("/users/:id", text("deleted"))
        .get("/users/:id/posts/:post", |cx: RequestContext| async move {
            let p: Vec<String> = cx.params().map(|(n, v)| format!("{n}={v}")).collect();
            p.join(",")
        })
        .get("/static/*", |cx: RequestContext| async move {
            format!("rest [{}]", cx.rest().unwrap())
        })
        .any("/any", |cx: RequestContext| async move {
            cx.method().to_owned()
        });
    r
}

#[test]
fn routes_by_method_and_path() {
    let r = sample();
    assert_eq!(call(&r, "GET", "/").1, "root");
    assert_eq!(call(&r, "GET", "/users").1, "list");
    assert_eq!(call(&r, "POST", "/users").1, "create");
    assert_eq!(call(&r, "GET", "/users/me").1, "me");
    assert_eq!(call(&r, "GET", "/users/42?x=1").1, "user 42");
    assert_eq!(call(&r, "DELETE", "/users/42").1, "deleted");
    assert_eq!(call(&r, "GET", "/users/4/posts/2").1, "id=4,post=2");
    assert_eq!(call(&r, "GET", "/static/a/b.css").1, "rest [/a/b.css]");
    assert_eq!(call(&r, "GET", "/static").1, "rest []");
    assert_eq!(call(&r, "PROPFIND", "/any").1, "PROPFIND");
    // Absolute-form targets route by their path.
    assert_eq!(call(&r, "GET", "http://h/users/7").1, "user 7");
}

#[test]
fn not_found_and_method_not_allowed() {
    let r = sample();
    let (status, _, _) = call(&r, "GET", "/nope");
    assert_eq!(status, 404);
    assert_eq!(
        call(&r, "GET", "/users/").0,
        404,
        "an empty segment is no parameter"
    );
    let (status, _, resp) = call(&r, "PUT", "/users");
    assert_eq!(status, 405);
    assert_eq!(
        resp.headers().get_str("allow"),
        Some("GET, POST, HEAD, OPTIONS")
    );
    let (status, _, resp) = call(&r, "POST", "/users/3");
    assert_eq!(status, 405);
    assert_eq!(
        resp.headers().get_str("allow"),
        Some("GET, DELETE, HEAD, OPTIONS")
    );
}

#[test]
fn head_uses_get_and_options_lists_methods() {
    let r = sample();
    let (status, body, _) = call(&r, "HEAD", "/users/9");
    // The driver drops the body of a HEAD answer; the router answers as for GET.
    assert_eq!((status, body.as_str()), (200, "user 9"));
    let (status, _, resp) = call(&r, "OPTIONS", "/users");
    assert_eq!(status, 204);
    assert_eq!(
        resp.headers().get_str("allow"),
        Some("GET, POST, HEAD, OPTIONS")
    );
    let (status, _, resp) = call(&r, "OPTIONS", "*");
    assert_eq!(status, 204);
    assert_eq!(
        resp.headers().get_str("allow"),
        Some("DELETE, GET, POST, HEAD, OPTIONS")
    );
}

#[test]
fn fallback_answers_unrouted_paths() {
    let mut r = sample();
    r.fallback(
        |cx: RequestContext| async move { Response::text(404, format!("no {}", cx.path())) },
    );
    let (status, body, _) = call(&r, "GET", "/zzz");
    assert_eq!((status, body.as_str()), (404, "no /zzz"));
}

#[test]
fn paths_are_normalized_before_routing() {
    let mut r = sample();
    r.before("/users", |_cx: RequestContext| async {
        Flow::Respond(Response::text(403, "guarded"))
    });
    assert_eq!(call(&r, "GET", "/%75sers/1").1, "guarded");
    assert_eq!(call(&r, "GET", "/static/../users/1").1, "guarded");
    assert_eq!(call(&r, "GET", "/static/./x").1, "rest [/x]");
    assert_eq!(call(&r, "GET", "/../etc/passwd").0, 400);
}

#[test]
fn before_stacks_run_root_first_and_can_deny_or_replace() {
    #[derive(Debug, PartialEq)]
    struct Trail(Vec<&'static str>);
    let mut r = sample();
    let mark = |name: &'static str| {
        move |mut cx: RequestContext| async move {
            match cx.get_mut::<Trail>() {
                Some(t) => t.0.push(name),
                None => {
                    cx.insert(Trail(vec![name]));
                }
            }
            Flow::Continue(cx)
        }
    };
    r.before("/", mark("root"))
        .before("/users/:id", mark("never: prefixes are literal"))
        .before("/users", mark("users"))
        .before("/users/7", mark("seven"))
        .get("/trail/*", |cx: RequestContext| async move {
            format!("{:?}", cx.get::<Trail>().unwrap().0)
        })
        .before("/trail/a", mark("a"))
        .before("/trail/a/b", mark("b"))
        .before("/trail/a", mark("a2"));
    assert_eq!(
        call(&r, "GET", "/trail/a/b/c").1,
        r#"["root", "a", "a2", "b"]"#
    );
    assert_eq!(call(&r, "GET", "/trail/ab").1, r#"["root"]"#);

    r.before("/users/7", |_cx: RequestContext| async {
        Flow::Respond(redirect(Redirect::Found, "/users/8"))
    });
    let (status, _, resp) = call(&r, "GET", "/users/7");
    assert_eq!(status, 302);
    assert_eq!(resp.headers().get_str("location"), Some("/users/8"));

    r.before("/users/9", |cx: RequestContext| async move {
        Flow::replace(cx, text("replaced"))
    });
    assert_eq!(call(&r, "GET", "/users/9").1, "replaced");
    // Replacement also works where no route exists.
    assert_eq!(call(&r, "GET", "/users/9/x/y").1, "replaced");
}

#[test]
fn rewriters_change_the_routing_path() {
    let mut r = sample();
    r.rewrite(|cx| {
        if let Some(id) = cx.path().strip_prefix("/u/") {
            let p = format!("/users/{id}");
            cx.set_path(p);
        }
    });
    assert_eq!(call(&r, "GET", "/u/5").1, "user 5");
}

#[test]
fn panics_and_errors_become_500() {
    let mut r = Router::new();
    r.get("/content", |_cx: RequestContext| async {
        panic!("content") as Response
    })
    .get("/ok", text("ok"))
    .get("/err", |_cx: RequestContext| async {
        Err::<Response, _>(std::io::Error::other("disk on fire"))
    })
    .get("/missing", |_cx: RequestContext| async {
        Err::<Response, _>(std::io::Error::from(std::io::ErrorKind::NotFound))
    })
    .before("/before", |_cx: RequestContext| async { panic!("before") })
    .get("/before", text("unreachable"));
    let mut r2 = r.clone();
    r2.rewrite(|_| panic!("rewriter"));
    assert_eq!(call(&r, "GET", "/content").0, 500);
    assert_eq!(call(&r, "GET", "/before").0, 500);
    assert_eq!(call(&r, "GET", "/err").0, 500);
    assert_eq!(call(&r, "GET", "/missing").0, 404);
    assert_eq!(call(&r2, "GET", "/ok").0, 500);
    assert_eq!(call(&r, "GET", "/ok").1, "ok");
}

#[test]
fn after_handlers_see_status_and_bytes() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut r = sample();
    let s = seen.clone();
    r.after("/users", move |c: &Completed| {
        s.lock().unwrap().push((
            c.method.clone(),
            c.target.clone(),
            c.status,
            c.bytes,
            c.finished,
        ))
    });
    let (_, body, _) = call(&r, "GET", "/users/12");
    assert_eq!(body, "user 12");
    call(&r, "PUT", "/users");
    drop(call(&r, "HEAD", "/users/1").2);
    call(&r, "GET", "/other");
    let seen = seen.lock().unwrap();
    assert_eq!(
        *seen,
        [
            ("GET".to_owned(), "/users/12".to_owned(), 200, 7, true),
            ("PUT".to_owned(), "/users".to_owned(), 405, 19, true),
            // HEAD: the body is dropped unsent, which is the whole response.
            ("HEAD".to_owned(), "/users/1".to_owned(), 200, 6, true),
        ]
    );
}

#[test]
fn after_handlers_fire_on_drop_of_an_unsent_body() {
    let n = Arc::new(AtomicUsize::new(0));
    let mut r = sample();
    let m = n.clone();
    r.after("/", move |c: &Completed| {
        assert!(!c.finished);
        m.fetch_add(1, Ordering::SeqCst);
    });
    let resp = block_on(r.call(req("GET", "/users", &[])));
    assert_eq!(n.load(Ordering::SeqCst), 0, "not before the body went");
    drop(resp);
    assert_eq!(n.load(Ordering::SeqCst), 1);
}

#[test]
fn swapping_tables_keeps_requests_on_theirs() {
    let mut v1 = Router::new();
    v1.get("/", text("v1"));
    let live = SwappableRouter::new(v1);
    let handle = live.handle();
    // A request that already took the table finishes on it.
    let in_flight = live.call(req("GET", "/", &[]));
    handle.update(|t| {
        t.get("/", text("v2")).get("/new", text("new"));
    });
    let mut old = block_on(in_flight);
    assert_eq!(body_text(&mut old), "v1");
    let mut now = block_on(live.call(req("GET", "/", &[])));
    assert_eq!(body_text(&mut now), "v2");
    assert!(handle.get().recognizes("/new"));
    let previous = handle.set(Router::new());
    assert!(previous.recognizes("/new"));
    assert_eq!(block_on(live.call(req("GET", "/", &[]))).status(), 404);
}

#[test]
fn basic_auth_guard_stores_the_user() {
    let mut r = Router::new();
    r.before(
        "/admin",
        BasicAuth::new("adm", |u, p| u == "root" && p == "pw"),
    )
    .get("/admin/*", |cx: RequestContext| async move {
        format!("hi {}", cx.get::<AuthUser>().unwrap().0)
    });
    let (status, _, resp) = call(&r, "GET", "/admin/x");
    assert_eq!(status, 401);
    assert!(
        resp.headers()
            .get_str("www-authenticate")
            .unwrap()
            .starts_with("Basic realm=\"adm\"")
    );
    // root:pw
    let ok = call_with(
        &r,
        "GET",
        "/admin/x",
        &[("Authorization", "Basic cm9vdDpwdw==")],
    );
    assert_eq!((ok.0, ok.1.as_str()), (200, "hi root"));
    let bad = call_with(
        &r,
        "GET",
        "/admin",
        &[("Authorization", "Basic cm9vdDpwd3g=")],
    );
    assert_eq!(bad.0, 401);
}

#[test]
fn cookies_are_read() {
    let r = req("GET", "/", &[("Cookie", "a=1; b=2"), ("Cookie", "c=3")]);
    assert_eq!(
        cookies(&r).collect::<Vec<_>>(),
        [("a", "1"), ("b", "2"), ("c", "3")]
    );
    assert_eq!(cookie(&r, "c"), Some("3"));
    assert_eq!(cookie(&r, "d"), None);
}

#[test]
fn decoded_params() {
    let mut r = Router::new();
    r.get("/f/:name", |cx: RequestContext| async move {
        format!(
            "{}|{}",
            cx.param("name").unwrap(),
            cx.param_decoded("name").unwrap()
        )
    });
    assert_eq!(call(&r, "GET", "/f/a%20b%2Fc").1, "a%20b%2Fc|a b/c");
}
