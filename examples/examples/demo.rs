//! One server showing each capability: hello, echo (a streamed request body sent back as
//! it arrives), a form, a slow streaming body, a Server-Sent Events clock, a chat over
//! SSE and long-poll, file uploads, a router with basic auth, cookies and static files,
//! the client's address and a panic that becomes a 500. Prints one access-log line per
//! request.
//!
//! Run with: `cargo run --release --example demo -- 127.0.0.1:8080`
//! (the first argument is the listen address; default 127.0.0.1:8080).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_io::Timer;
use futures_lite::Stream;
use http_server::router::Router;
use http_server::{Bytes, Handler, Request, Response, Server, StreamBody};

const INDEX: &str = r#"<!doctype html>
<title>http-server demo</title>
<h1>http-server demo</h1>
<ul>
  <li><a href="/hello">/hello</a>: plain text</li>
  <li><code>curl --data-binary @file http://ADDR/echo</code>: the body streamed back</li>
  <li><a href="/form">/form</a>: an urlencoded form</li>
  <li><a href="/slow">/slow</a>: a body streamed one line every 300 ms</li>
  <li><a href="/clock/">/clock/</a>: a Server-Sent Events clock (push stream)</li>
  <li><a href="/chat/">/chat/</a>: a chat room over SSE, or <a href="/chat/?mode=poll">long-poll</a></li>
  <li><a href="/upload/">/upload/</a>: file uploads streamed to disk, with sizes and SHA-256</li>
  <li><a href="/users/42">/users/42</a>: a routed path parameter (and a visit-counting cookie);
      <a href="/admin/">/admin/</a>: basic auth (admin/admin); <a href="/static/">/static/</a>: files</li>
  <li><a href="/ip">/ip</a>: your address</li>
  <li><a href="/panic">/panic</a>: a handler panic answered with 500</li>
</ul>
"#;

const FORM: &str = r#"<!doctype html>
<title>form</title>
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
}

impl Handler for Demo {
    type Output = Response;

    async fn call(&self, req: Request) -> Response {
        handle(req, self).await
    }
}

async fn handle(req: Request, demo: &Demo) -> Response {
    if let Some(response) = examples::clock::route(&req, "/clock") {
        return response;
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
        ("GET", "/") => Response::html(200, INDEX),
        ("GET", "/hello") => Response::text(200, "Hello, World!\n"),
        ("POST" | "PUT", "/echo") => {
            let body = req.take_body();
            let mut r = Response::stream(200, body);
            if let Some(t) = req.header("content-type") {
                r = r.header("Content-Type", t);
            }
            r
        }
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

fn main() -> std::io::Result<()> {
    examples::init_logger(log::LevelFilter::Info);
    let addr = examples::listen_addr("127.0.0.1:8080");
    smol::block_on(async {
        let server = Server::bind(addr.as_str()).await?;
        let handle = server.serve(Demo {
            chat: examples::chat::router("/chat"),
            uploads: examples::upload::default_dir(),
        });
        println!("demo listening on http://{}/", handle.local_addr());
        std::future::pending::<()>().await;
        Ok(())
    })
}
