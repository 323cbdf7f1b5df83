//! Uploads: a page with a real HTML form (several files and a text field) and its POST
//! handler, which saves every file to a temporary directory with
//! `save_uploads`, hashes each one with SHA-256
//! as it is written (from the `Written` events, no second read), and answers a page
//! listing the files received with their sizes and hashes. The files are then dropped,
//! which removes them: the demo keeps nothing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use h1_server::multipart::{UploadEvent, UploadOptions, save_uploads};
use h1_server::{Request, Response};
use sha2::{Digest, Sha256};

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Upload</title>
<link rel="stylesheet" href="/site.css">
</head>
<body>
<h1>Upload files</h1>
<form method="post" action="upload" enctype="multipart/form-data">
  <label>Title <input type="text" name="title" maxlength="200"></label>
  <label>Files <input type="file" name="files" multiple></label>
  <button type="submit">Upload</button>
</form>
<p>Files go to a temporary directory, are hashed with SHA-256 as they are written, and
are removed once the answer is sent.</p>
</body></html>
"#;

/// Where uploads go: `UPLOAD_DIR`, or `<system temp dir>/http-server-demo-uploads`.
pub fn default_dir() -> PathBuf {
    std::env::var_os("UPLOAD_DIR").map_or_else(
        || std::env::temp_dir().join("http-server-demo-uploads"),
        PathBuf::from,
    )
}

/// Answer `{prefix}/` with the form and `POST {prefix}/upload` by saving the files into
/// `dir`; `None` for other paths. The form's action is relative, so any prefix works.
///
/// `POST {prefix}/upload?hash=0` skips hashing (the upload benchmark uses it).
pub async fn route(req: &mut Request, prefix: &str, dir: &Path) -> Option<Response> {
    let rest = req.path().strip_prefix(prefix)?;
    match (req.method(), rest) {
        ("GET" | "HEAD", "/" | "") => Some(Response::html(200, PAGE)),
        ("POST", "/upload") => Some(upload(req, dir).await),
        (_, "/upload") => Some(Response::text(405, "POST the form here\n").header("Allow", "POST")),
        _ => None,
    }
}

async fn upload(req: &mut Request, dir: &Path) -> Response {
    let hash = req.query_pairs().get("hash") != Some("0");
    let hashes: Arc<Mutex<Vec<Sha256>>> = Arc::default();
    let sink = Arc::clone(&hashes);
    let options = UploadOptions::new(dir).on_event(move |event| match event {
        UploadEvent::FileOpened { .. } => sink.lock().unwrap().push(Sha256::new()),
        UploadEvent::Written { file, data, .. } if hash => {
            if let Some(h) = sink.lock().unwrap().get_mut(file.index()) {
                h.update(data);
            }
        }
        UploadEvent::Failed { error } => log::info!("upload failed: {error}"),
        _ => {}
    });
    let uploads = match save_uploads(req, options).await {
        Ok(uploads) => uploads,
        Err(e) => return e.response(),
    };
    let hashes = std::mem::take(&mut *hashes.lock().unwrap());
    let mut html = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Received</title>\n<link rel=\"stylesheet\" href=\"/site.css\"></head>\n<body>\n",
    );
    let title = uploads.fields().get("title").unwrap_or("");
    let _ = writeln!(html, "<h1>Received: {}</h1>", escape(title));
    html.push_str("<table>\n<tr><th>field</th><th>file</th><th>type</th><th>bytes</th><th>SHA-256</th></tr>\n");
    let total: u64 = uploads.files().iter().map(|f| f.size()).sum();
    for (file, h) in uploads.files().iter().zip(hashes) {
        let digest = if hash {
            hex(&h.finalize())
        } else {
            "(not computed)".to_owned()
        };
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{digest}</code></td></tr>",
            escape(file.name()),
            escape(file.filename()),
            escape(file.content_type().unwrap_or("")),
            file.size(),
        );
    }
    let _ = writeln!(
        html,
        "</table>\n<p>{} files, {total} bytes.</p>\n<p><a href=\"./\">Upload more</a></p>\n</body></html>",
        uploads.files().len()
    );
    // `uploads` drops here: its temporary files are removed.
    Response::html(200, html)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
