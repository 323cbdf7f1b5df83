//! One server showing each capability: hello, echo (a streamed request body sent back as
//! it arrives), a form, a slow streaming body, a Server-Sent Events clock, a chat over
//! SSE and long-poll, file uploads, a router with basic auth, cookies and static files,
//! the client's address and a panic that becomes a 500. Prints one access-log line per
//! request. Every page links one stylesheet, `/site.css`.
//!
//! And what running it in production takes: the server's metrics at `/metrics` (the
//! Prometheus text format), the clock's event stream gzip-compressed when the client
//! accepts gzip (each event still arriving when it is sent), socket activation, and a
//! graceful stop on SIGTERM or Ctrl-C (responses in flight finish; exit status 0).
//!
//! Run with: `cargo run --release -p demo -- 127.0.0.1:8080`
//! (the first argument is the listen address; default 127.0.0.1:8080). Under
//! `systemd-socket-activate -l 127.0.0.1:8080 target/release/demo` it serves on the
//! inherited socket instead. It is a package of its own so that its build compiles only
//! what it uses.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_io::Timer;
use futures_lite::Stream;
use h1_server::compress::{Coding, Compression};
use h1_server::router::Router;
use h1_server::{Bytes, Handler, Request, Response, Server, StreamBody};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The most `/echo` sends back, in bytes: a larger body is answered with 413.
const ECHO_LIMIT: u64 = 1024 * 1024;

/// The index page; `{addr}` becomes the address the request came in on, `{limit}` the
/// echo's body limit.
const INDEX: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>h1-server demo</title>
<link rel="stylesheet" href="/site.css">
<h1>h1-server demo</h1>
<ul>
  <li><a href="/hello">/hello</a>: plain text</li>
  <li><code>curl --data-binary @file http://{addr}/echo</code>: the body streamed back
      (up to {limit} bytes; 413 past it)</li>
  <li><a href="/form">/form</a>: an urlencoded form</li>
  <li><a href="/slow">/slow</a>: a body streamed one line every 300 ms</li>
  <li><a href="/clock/">/clock/</a>: a Server-Sent Events clock (push stream)</li>
  <li><a href="/chat/">/chat/</a>: a chat room over SSE, or <a href="/chat/?mode=poll">long-poll</a></li>
  <li><a href="/upload/">/upload/</a>: file uploads streamed to disk, with sizes and SHA-256</li>
  <li><a href="/users/42">/users/42</a>: a routed path parameter (and a visit-counting cookie);
      <a href="/admin/">/admin/</a>: basic auth (admin/admin); <a href="/static/">/static/</a>: files</li>
  <li><a href="/ip">/ip</a>: your address</li>
  <li><a href="/panic">/panic</a>: a handler panic answered with 500</li>
  <li><a href="/metrics">/metrics</a>: the server's metrics (Prometheus text format)</li>
</ul>
"#;

const FORM: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>form</title>
<link rel="stylesheet" href="/site.css">
<h1>A form</h1>
<form method="post" action="/form">
  <label>Name <input name="name"></label>
  <label>Message <input name="message"></label>
  <button>Send</button>
</form>
"#;

/// The demo: its sections, and the state they need (no clones per request).
struct Demo {
    chat: Router,
    uploads: PathBuf,
    /// The most `/echo` sends back, in bytes (413 past it).
    echo_limit: u64,
    /// The clock's gzip (and `/metrics`'s).
    gzip: Compression,
    /// The recorder's view, rendered at `/metrics` (`None`: no recorder installed).
    metrics: Option<PrometheusHandle>,
}

impl Demo {
    fn new(echo_limit: u64, metrics: Option<PrometheusHandle>) -> Self {
        let mut gzip = Compression::new();
        gzip.codings(&[Coding::Gzip]);
        Self {
            chat: examples::chat::router("/chat"),
            uploads: examples::upload::default_dir(),
            echo_limit,
            gzip,
            metrics,
        }
    }

    /// `response` gzip-compressed if the request accepts gzip (and it is worth it).
    fn gzip(&self, req: &Request, response: Response) -> Response {
        let accept = req.header("accept-encoding");
        self.gzip.apply(accept, req.method() == "HEAD", response)
    }

    /// `/metrics`: the Prometheus text exposition format.
    fn metrics(&self, req: &Request) -> Response {
        let Some(prometheus) = &self.metrics else {
            return Response::text(404, "no metrics recorder\n");
        };
        // Histograms' summaries age out on upkeep; without the exporter's own HTTP
        // listener, nothing else runs it.
        prometheus.run_upkeep();
        let text = Response::bytes(200, prometheus.render())
            .header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        self.gzip(req, text)
    }
}

impl Handler for Demo {
    type Output = Response;

    async fn call(&self, req: Request) -> Response {
        handle(req, self).await
    }
}

async fn handle(req: Request, demo: &Demo) -> Response {
    if let Some(response) = examples::site_css(&req) {
        return response;
    }
    if let Some(response) = examples::clock::route(&req, "/clock") {
        return demo.gzip(&req, response);
    }
    if demo.chat.recognizes(req.path()) {
        return demo.chat.call(req).await;
    }
    let mut req = match examples::routes::route(req).await {
        Ok(response) => return response,
        Err(req) => req,
    };
    if let Some(response) = examples::upload::route(&mut req, "/upload", &demo.uploads).await {
        return response;
    }
    // HEAD is answered like GET; the server sends the headers without the body.
    let method = if req.method() == "HEAD" {
        "GET"
    } else {
        req.method()
    };
    match (method, req.path()) {
        ("GET", "/") => Response::html(
            200,
            INDEX
                .replace("{addr}", &req.local_addr().to_string())
                .replace("{limit}", &demo.echo_limit.to_string()),
        ),
        ("GET", "/hello") => Response::text(200, "Hello, World!\n"),
        ("GET", "/metrics") => demo.metrics(&req),
        ("POST" | "PUT", "/echo") => echo(req, demo.echo_limit).await,
        ("GET", "/form") => Response::html(200, FORM),
        ("POST", "/form") => match req.form(64 * 1024).await {
            Ok(form) => {
                let mut text = String::from("You sent:\n");
                for (name, value) in form.iter() {
                    text.push_str(&format!("  {name} = {value}\n"));
                }
                Response::text(200, text)
            }
            Err(e) => Response::from_error(&e),
        },
        ("GET", "/slow") => Response::stream(200, StreamBody::new(Slow::new(10))),
        ("GET", "/ip") => Response::text(200, format!("{}\n", req.client_ip())),
        ("GET", "/panic") => panic!("the /panic route panics on purpose"),
        _ => Response::text(404, "not found\n"),
    }
}

/// The request body sent back, at most `limit` bytes (413 past it). A body with a
/// `Content-Length` within the limit streams back as it arrives; a chunked one (no length
/// known up front) is read whole first, since a 413 cannot follow a 200 already sent.
async fn echo(mut req: Request, limit: u64) -> Response {
    let mut r = match req.body_mut().length() {
        Some(n) if n <= limit => Response::stream(200, req.take_body()),
        // Past the limit, `bytes` fails at once on the declared length, reading nothing.
        _ => match req.bytes(limit).await {
            Ok(bytes) => Response::bytes(200, bytes),
            Err(e) => return Response::from_error(&e),
        },
    };
    if let Some(t) = req.header("content-type") {
        r = r.header("Content-Type", t);
    }
    r
}

/// `n` lines, one every 300 ms.
struct Slow {
    left: u32,
    timer: Timer,
}

impl Slow {
    fn new(n: u32) -> Self {
        Self {
            left: n,
            timer: Timer::after(Duration::ZERO),
        }
    }
}

impl Stream for Slow {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.timer).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => {
                self.left -= 1;
                self.timer.set_after(Duration::from_millis(300));
                let line = format!("tick {}\n", 10 - self.left);
                Poll::Ready(Some(Ok(Bytes::from(line))))
            }
        }
    }
}

/// How long SIGTERM or Ctrl-C waits for responses in flight (a second signal stops at
/// once).
const DRAIN: Duration = Duration::from_secs(30);

fn main() -> std::io::Result<()> {
    examples::init_logger(log::LevelFilter::Info);
    let prometheus = PrometheusBuilder::new()
        .install_recorder()
        .map_err(std::io::Error::other)?;
    h1_server::observe::metrics::describe();
    smol::block_on(async {
        // Socket activation (`LISTEN_FDS`) first; otherwise bind the first argument.
        let server = match Server::from_systemd()? {
            Some(server) => server,
            None => Server::bind(examples::listen_addr("127.0.0.1:8080").as_str()).await?,
        };
        let handle = server.serve(Demo::new(ECHO_LIMIT, Some(prometheus)));
        println!("demo listening on http://{}/", handle.local_addr());
        let stopped = handle.shutdown_on_signals(DRAIN)?.await;
        log::info!("stopped by {:?}", stopped.signal);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use futures_lite::stream;
    use h1_server::Bytes;
    use h1_server::testing::TestRequest;

    use super::Demo;

    const LIMIT: u64 = 1000;

    fn echo(req: TestRequest) -> (u16, String) {
        let mut r = req.call_blocking(&Demo::new(LIMIT, None));
        (r.status(), r.text_blocking())
    }

    fn chunked(total: usize) -> impl futures_lite::Stream<Item = std::io::Result<Bytes>> {
        stream::iter((0..total / 100).map(|_| Ok(Bytes::from(vec![b'c'; 100]))))
    }

    #[test]
    fn echo_sends_the_body_back_up_to_its_limit() {
        let body = "e".repeat(LIMIT as usize);
        let (status, text) = echo(TestRequest::post("/echo").body(body.clone()));
        assert_eq!((status, text), (200, body));
        let (status, text) = echo(TestRequest::put("/echo").body_stream(chunked(1000)));
        assert_eq!((status, text), (200, "c".repeat(1000)));
    }

    #[test]
    fn echo_past_its_limit_is_413() {
        let (status, text) = echo(TestRequest::post("/echo").body("e".repeat(LIMIT as usize + 1)));
        assert_eq!(status, 413, "{text}");
        let (status, text) = echo(TestRequest::post("/echo").body_stream(chunked(1100)));
        assert_eq!(status, 413, "{text}");
    }

    #[test]
    fn index_shows_the_real_address_and_links_the_stylesheet() {
        let addr: std::net::SocketAddr = "127.0.0.1:8123".parse().unwrap();
        let mut r = TestRequest::get("/")
            .local_addr(addr)
            .call_blocking(&Demo::new(LIMIT, None));
        let page = r.text_blocking();
        assert!(page.contains("http://127.0.0.1:8123/echo"), "{page}");
        assert!(page.contains("up to 1000 bytes"), "{page}");
        assert!(!page.contains("ADDR") && !page.contains("{addr}"), "{page}");
        assert!(page.contains(r#"<link rel="stylesheet" href="/site.css">"#));
        let mut css = TestRequest::get("/site.css").call_blocking(&Demo::new(LIMIT, None));
        assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
        assert_eq!(css.text_blocking(), examples::SITE_CSS);
    }

    #[test]
    fn every_page_links_the_stylesheet() {
        for path in ["/", "/form", "/clock/", "/chat/", "/upload/"] {
            let mut r = TestRequest::get(path).call_blocking(&Demo::new(LIMIT, None));
            assert_eq!(r.status(), 200, "{path}");
            let page = r.text_blocking();
            assert!(
                page.contains(r#"<link rel="stylesheet" href="/site.css">"#),
                "{path}: {page}"
            );
        }
    }
}
