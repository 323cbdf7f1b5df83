//! A bigger app in a few lines: a router with a `:id` route, a JSON echo, a Server-Sent
//! Events stream that ends on graceful shutdown, an upload, basic auth on a prefix, and
//! shared state; the handlers are unit-tested below without a socket.
//!
//! `cargo run --example app` serves it and shuts down gracefully on Ctrl-C.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use h1_server::multipart::{UploadOptions, save_uploads};
use h1_server::router::{AuthUser, BasicAuth, Router, read_json};
use h1_server::{Error, Json, Request};
use h1_stream::sse::{Event, Options};

/// State shared by every request: read with `req.state::<App>()`, never cloned.
#[derive(Debug)]
pub struct App {
    /// Where uploads go.
    pub uploads: PathBuf,
    /// Ticks sent by all event streams.
    pub ticks: AtomicU64,
}

/// The app's routes.
pub fn router(app: App) -> Router {
    let mut r = Router::new();
    r.state(app)
        .get("/users/:id", |req: Request| async move {
            Json(serde_json::json!({ "id": req.param("id").unwrap_or_default() }))
        })
        .post("/echo", |mut req: Request| async move {
            read_json::<serde_json::Value>(&mut req, 64 * 1024)
                .await
                .map(Json)
        })
        .get("/events", events)
        .post("/upload", |mut req: Request| async move {
            let dir = req
                .state::<App>()
                .map(|a| a.uploads.clone())
                .unwrap_or_default();
            let uploads = save_uploads(&mut req, UploadOptions::new(dir)).await?;
            Ok::<_, h1_server::multipart::UploadError>(format!("{} files\n", uploads.files().len()))
        })
        .before(
            "/admin",
            BasicAuth::new("admin", |u, p| u == "admin" && p == "secret"),
        )
        .get("/admin", |req: Request| async move {
            format!(
                "hello {}\n",
                req.extension::<AuthUser>().map_or("", |u| &u.0)
            )
        });
    r
}

/// `GET /events`: one Server-Sent Event a second until the client leaves or the server
/// shuts down, which the stream answers with a `bye` event.
///
/// # Errors
///
/// Without the [`App`] state (a handler outside [`router`]).
pub async fn events(req: Request) -> Result<h1_server::Response, Error> {
    let (tx, response) = Options::new().response_for(&req);
    let app = req
        .state_arc::<App>()
        .ok_or(Error::InvalidBody("no state"))?;
    req.spawn(async move {
        loop {
            let n = app.ticks.fetch_add(1, Ordering::Relaxed);
            if tx
                .send(&Event::new().event("tick").data(n.to_string()))
                .await
                .is_err()
            {
                return;
            }
            let stop = futures_lite::future::or(
                async {
                    async_io::Timer::after(Duration::from_secs(1)).await;
                    false
                },
                async {
                    tx.shutdown_requested().await;
                    true
                },
            );
            if stop.await {
                let _ = tx.send(&Event::new().event("bye")).await;
                let _ = tx.close();
                return;
            }
        }
    });
    Ok(response)
}

#[cfg(test)]
mod tests {
    use h1_server::testing::TestRequest;

    use super::*;

    fn app() -> Router {
        router(App {
            uploads: std::env::temp_dir(),
            ticks: AtomicU64::new(0),
        })
    }

    #[test]
    fn users_by_id() {
        let mut r = TestRequest::get("/users/7").call_blocking(&app());
        assert_eq!(r.text_blocking(), r#"{"id":"7"}"#);
    }

    #[test]
    fn json_echo_and_bad_json() {
        let echo = TestRequest::post("/echo").body(r#"{"a":[1,2]}"#);
        assert_eq!(echo.call_blocking(&app()).text_blocking(), r#"{"a":[1,2]}"#);
        assert_eq!(
            TestRequest::post("/echo")
                .body("{")
                .call_blocking(&app())
                .status(),
            400
        );
    }

    #[test]
    fn admin_needs_credentials() {
        assert_eq!(
            TestRequest::get("/admin").call_blocking(&app()).status(),
            401
        );
        let authed = TestRequest::get("/admin").header("Authorization", "Basic YWRtaW46c2VjcmV0");
        assert_eq!(
            authed.call_blocking(&app()).text_blocking(),
            "hello admin\n"
        );
    }

    #[test]
    fn events_end_on_shutdown() {
        let test = TestRequest::get("/events");
        let shutdown = test.shutdown();
        let mut r = test.call_blocking(&app());
        shutdown.begin();
        let text = futures_lite::future::block_on(futures_lite::future::or(
            async { r.text().await.unwrap() },
            async {
                async_io::Timer::after(Duration::from_secs(10)).await;
                panic!("the stream did not end on shutdown")
            },
        ));
        assert!(text.starts_with("event: tick\ndata: 0\n\n"), "{text:?}");
        assert!(text.ends_with("event: bye\n\n"), "{text:?}");
    }
}
