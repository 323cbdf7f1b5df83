//! The router section of the demo: a [`Router`] with a basic-auth-protected `/admin`
//! area (user `admin`, password `admin`), static files under `/static/` from
//! `examples/static`, `/users/:id` with a cookie counting visits, a redirect, a before
//! handler stamping every request with a typed value, and an after handler logging every
//! response with its status, bytes and duration.
//!
//! Mount it in front of another handler with [`route`], or serve [`router`] on its own.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use h1_server::router::{
    AuthUser, BasicAuth, Completed, Files, Flow, Redirect, Router, SameSite, SetCookie, cookie,
    redirect,
};
use h1_server::{Handler, Request, Response};

/// The directory `/static/` serves: `examples/static` in the repository.
pub fn static_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("static")
}

/// When a request reached the router (a typed per-request value set by a before
/// handler and read by the content handlers).
#[derive(Debug, Clone, Copy)]
pub struct Arrived(pub Instant);

/// The router section: `/admin`, `/static/*`, `/users/:id`, `/go-home`.
///
/// # Errors
///
/// When `static_root` does not exist.
pub fn router(static_root: &Path) -> std::io::Result<Router> {
    let mut r = Router::new();
    r.before("/", |mut req: Request| async move {
        req.insert_extension(Arrived(Instant::now()));
        Flow::Continue(req)
    })
    .before(
        "/admin",
        BasicAuth::new("demo admin (admin/admin)", |user, pass| {
            user == "admin" && pass == "admin"
        }),
    )
    .get("/admin", admin)
    .get("/admin/*", admin)
    .get("/static/*", Files::new(static_root)?)
    .get("/users/:id", user)
    .get("/go-home", |_req: Request| async {
        redirect(Redirect::SeeOther, "/")
    })
    .after("/", |done: &Completed| {
        log::info!(
            target: "examples::routes",
            "{} {} -> {} ({} bytes, {:?}{})",
            done.method,
            done.target,
            done.status,
            done.bytes,
            done.duration,
            if done.finished { "" } else { ", unfinished" }
        );
    });
    Ok(r)
}

/// Answer `req` from the router section if one of its routes matches the path; give
/// the request back otherwise (for the next section or the demo's own 404).
pub async fn route(req: Request) -> Result<Response, Request> {
    static ROUTER: OnceLock<Option<Router>> = OnceLock::new();
    let router = ROUTER.get_or_init(|| match router(&static_dir()) {
        Ok(r) => Some(r),
        Err(e) => {
            log::warn!("router section disabled: {}: {e}", static_dir().display());
            None
        }
    });
    match router {
        Some(r) if r.recognizes(req.path()) => Ok(r.call(req).await),
        _ => Err(req),
    }
}

async fn admin(req: Request) -> Response {
    let user = req.extension::<AuthUser>().map_or("?", |u| u.0.as_str());
    Response::html(
        200,
        format!(
            "<!doctype html><title>admin</title>\
             <link rel=\"stylesheet\" href=\"/site.css\"><h1>Admin area</h1>\
             <p>Signed in as <b>{}</b> (Basic authentication; the browser keeps sending \
             the credentials).</p><p>Path: <code>{}</code></p>",
            escape(user),
            escape(req.path())
        ),
    )
}

async fn user(req: Request) -> Response {
    let id = req.param("id").unwrap_or_default().into_owned();
    let visits: u32 = cookie(&req, "visits")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        + 1;
    let waited = req
        .extension::<Arrived>()
        .map_or(Duration::ZERO, |a| a.0.elapsed());
    let lang = req.query_pairs().get("lang").unwrap_or("en").to_owned();
    let greeting = if lang == "fr" { "Bonjour" } else { "Hello" };
    Response::text(
        200,
        format!("{greeting}, user {id}! Visit {visits} (routed in {waited:?}).\n"),
    )
    .header(
        "Set-Cookie",
        SetCookie::new("visits", &visits.to_string())
            .path("/users")
            .max_age(Duration::from_secs(3600))
            .http_only()
            .same_site(SameSite::Lax)
            .to_string(),
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
