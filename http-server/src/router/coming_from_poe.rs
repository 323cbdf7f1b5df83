//! Coming from POE: where the ideas of `POE::Component::Server::HTTP` and
//! `POE::Component::Server::SimpleHTTP` live in this crate.
//!
//! This page is documentation only. The concepts carried over; the shape is Rust's: a
//! handler is an `async` function from a [`Request`](crate::Request) to anything that is
//! [`IntoResponse`](crate::IntoResponse), and "posting an event back" is returning a value
//! or awaiting a future.
//!
//! | POE | Here |
//! |---|---|
//! | `ContentHandler => { '/' => \&handler }` | [`Router::get`](super::Router::get) (or [`route`](super::Router::route), [`any`](super::Router::any)) with any [`Handler`](crate::Handler) |
//! | `TransHandler` (rewrite the request) | [`Router::rewrite`](super::Router::rewrite) with [`Request::set_route_path`](crate::Request::set_route_path) |
//! | `PreHandler` by path prefix, `RC_OK` / `RC_DENY` | [`Router::before`](super::Router::before) returning [`Flow::Continue`](super::Flow::Continue) / [`Flow::Respond`](super::Flow::Respond) |
//! | `RC_WAIT` then `$kernel->post(.., 'continue')` | `.await` inside the before handler |
//! | `PostHandler` (after the response was sent) | [`Router::after`](super::Router::after) with its [`Completed`](super::Completed) record |
//! | `ErrorHandler` | a `Result` return value: the error side answers itself, and panics become `500` |
//! | `$request->{...}` scratch fields | [`Request::insert_extension`](crate::Request::insert_extension) / [`Request::extension`](crate::Request::extension) |
//! | heap data shared by every handler | [`Router::state`](super::Router::state) / [`Request::state`](crate::Request::state) |
//! | `DONE` | return the response |
//! | `CLOSE` | return [`Response::close`](crate::Response::close) |
//! | `STREAM` | `h1_stream::response_for(&req, ..)`, pushed from a task started with [`Request::spawn`](crate::Request::spawn) |
//! | `SETCLOSEHANDLER` | [`Request::on_close`](crate::Request::on_close) |
//! | `GETHANDLERS` / `SETHANDLERS` | [`SwappableRouter`](super::SwappableRouter) and its [`RouterHandle`](super::RouterHandle) |
//! | `SHUTDOWN` (graceful) | [`ServerHandle`](crate::ServerHandle)'s graceful shutdown; streams made from a request end on it by themselves |
//!
//! A POE handler receives the request and a response object to fill in and post back;
//! here the handler builds the response and returns it:
//!
//! ```
//! use h1_server::router::{Flow, Router};
//! use h1_server::{Request, testing::TestRequest};
//!
//! let mut router = Router::new();
//! router
//!     // PreHandler: deny without a token.
//!     .before("/private", |req: Request| async move {
//!         match req.header("x-token") {
//!             Some("secret") => Flow::Continue(req),
//!             _ => Flow::respond((403, "forbidden\n")),
//!         }
//!     })
//!     // ContentHandler.
//!     .get("/private/:doc", |req: Request| async move {
//!         format!("document {}\n", req.param("doc").unwrap_or_default())
//!     });
//!
//! let r = TestRequest::get("/private/a").call_blocking(&router);
//! assert_eq!(r.status(), 403);
//! let mut r = TestRequest::get("/private/a").header("X-Token", "secret").call_blocking(&router);
//! assert_eq!(r.text_blocking(), "document a\n");
//! ```
