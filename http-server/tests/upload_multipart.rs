//! Uploads: every limit's status and message, events in order, boundary edge cases and
//! urlencoded forms and queries with limits through the test kit, bodies in small writes
//! and a client gone mid-file (no temporary file left) on the connection kit; real
//! `curl -F` bodies over loopback.
#![cfg(feature = "smol")]

mod upload_common;

use std::process::Command;

use futures_lite::future::block_on;
use h1_core::MultipartLimits;
use h1_server::multipart::{FormLimits, UploadOptions, query_form, read_form, save_uploads};
use h1_server::testing::{TestConnection, TestRequest};
use h1_server::{Request, Response, ServerConfig};
use integration_tests::fixtures::{Fnv, TempDir, multipart_body, tricky_content};
use upload_common::Upload;

const CT: &str = "multipart/form-data; boundary=Bd7e-boundary";
const B: &str = "Bd7e-boundary";

fn options(dir: &TempDir) -> impl Fn() -> UploadOptions + Send + Sync + 'static {
    let dir = dir.path().to_path_buf();
    move || UploadOptions::new(&dir).buffer_bytes(8192)
}

#[test]
fn curl_form_with_several_files_and_fields() {
    if !integration_tests::has_tool("curl", "curl_form_with_several_files_and_fields") {
        return;
    }
    let tmp = TempDir::new("curl");
    let src = TempDir::new("curl-src");
    let files: [(&str, Vec<u8>); 3] = [
        ("notes.txt", b"hello\r\nworld\r\n".to_vec()),
        ("data.bin", tricky_content(300_000, 7)),
        ("empty.dat", Vec::new()),
    ];
    for (name, data) in &files {
        std::fs::write(src.path().join(name), data).unwrap();
    }
    let server = Upload::start(options(&tmp), true);
    let url = format!("http://{}/save", server.addr());
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "-F", "title=Holiday pictures"])
        .args(["--form-string", "note=line one; \"quoted\""])
        .arg("-F")
        .arg(format!(
            "a=@{};type=text/plain",
            src.path().join("notes.txt").display()
        ))
        .arg("-F")
        .arg(format!("b=@{}", src.path().join("data.bin").display()))
        .arg("-F")
        .arg(format!("b=@{}", src.path().join("empty.dat").display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let expect_file = |name: &str, filename: &str, data: &[u8], ct: &str| {
        let h = Fnv::of(data);
        format!(
            "file {name} {filename} {} {h:016x} {h:016x} {ct}",
            data.len()
        )
    };
    assert_eq!(
        lines,
        [
            expect_file("a", "notes.txt", &files[0].1, "text/plain").as_str(),
            &expect_file("b", "data.bin", &files[1].1, "application/octet-stream"),
            &expect_file("b", "empty.dat", &files[2].1, "application/octet-stream"),
            "field title=Holiday pictures",
            "field note=line one; \"quoted\"",
        ],
        "{text}"
    );
    // The response is out, the Uploads value dropped: nothing left in the directory.
    TempDir::wait_empty(tmp.path());
}

#[test]
fn events_come_in_order_and_cover_every_byte() {
    let tmp = TempDir::new("events");
    let server = Upload::new(options(&tmp), true);
    let big = tricky_content(50_000, 3);
    let body = multipart_body(
        B,
        &[
            ("title", None, None, b"x"),
            ("f", Some("one.bin"), Some("application/x-test"), &big),
            ("g", Some("two.txt"), None, b"tiny"),
        ],
    );
    let (status, text) = server.post(CT, &body);
    assert_eq!(status, 200, "{text}");
    let events = server.events();
    // Group the Written events: each file's totals grow by the chunk sizes and end at
    // its size; chunks are at most the buffer plus one body chunk.
    let mut compact: Vec<String> = Vec::new();
    let mut total = 0u64;
    for e in &events {
        if let Some(rest) = e.strip_prefix("written ") {
            let v: Vec<u64> = rest.split(' ').map(|n| n.parse().unwrap()).collect();
            assert_eq!(v[2], total + v[1], "running total in {events:?}");
            assert!(v[1] > 0 && v[1] <= 8192 + 65536);
            total = v[2];
            if !compact.last().is_some_and(|l| l.starts_with("written")) {
                compact.push(format!("written {}", v[0]));
            }
        } else {
            if e.starts_with("received") {
                total = 0;
            }
            compact.push(e.clone());
        }
    }
    assert_eq!(
        compact,
        [
            "started",
            "field title=x",
            "opened 0 f one.bin",
            "written 0",
            "received 0 50000",
            "opened 1 g two.txt",
            "written 1",
            "received 1 4",
            "finished 2 50004",
        ]
    );
    let h = Fnv::of(&big);
    assert!(
        text.contains(&format!(
            "file f one.bin 50000 {h:016x} {h:016x} application/x-test"
        )),
        "{text}"
    );
    TempDir::wait_empty(tmp.path());
}

/// Check one upload's events: per file, `opened`, then `written` events whose sizes add
/// up (running totals, no empty piece) to the `received` size, in order.
fn check_progress(events: &[String], sizes: &[u64]) {
    let mut file = None;
    let mut total = 0u64;
    let mut seen = Vec::new();
    for e in events {
        let v: Vec<&str> = e.split(' ').collect();
        match v[0] {
            "opened" => {
                assert_eq!(file, None, "{events:?}");
                file = Some(v[1].to_owned());
                total = 0;
            }
            "written" => {
                assert_eq!(file.as_deref(), Some(v[1]), "{events:?}");
                let (n, t): (u64, u64) = (v[2].parse().unwrap(), v[3].parse().unwrap());
                assert!(n > 0, "{events:?}");
                assert_eq!(t, total + n, "running total in {events:?}");
                total = t;
            }
            "received" => {
                assert_eq!(file.take().as_deref(), Some(v[1]), "{events:?}");
                assert_eq!(v[2].parse::<u64>().unwrap(), total, "{events:?}");
                seen.push(total);
            }
            _ => assert_eq!(file, None, "{e} inside a file: {events:?}"),
        }
    }
    assert_eq!(seen, sizes, "{events:?}");
}

#[test]
fn body_split_anywhere_saves_the_same_bytes_with_progress_in_order() {
    let tmp = TempDir::new("splits");
    // The smallest batch (4 KiB): pieces from the body are gathered, several per write,
    // and a large piece overshoots a batch.
    let dir = tmp.path().to_path_buf();
    let server = Upload::new(move || UploadOptions::new(&dir).buffer_bytes(4096), true);
    let big = tricky_content(9_000, 5);
    let small = tricky_content(700, 9);
    let body = multipart_body(
        B,
        &[
            ("f", Some("big.bin"), None, &big),
            ("t", None, None, b"v"),
            ("g", Some("small.bin"), None, &small),
        ],
    );
    let (hb, hs) = (Fnv::of(&big), Fnv::of(&small));
    let expect = format!(
        "file f big.bin 9000 {hb:016x} {hb:016x} -\n\
         file g small.bin 700 {hs:016x} {hs:016x} -\nfield t=v\n"
    );
    let mut cases: Vec<Vec<usize>> = (0..=body.len()).map(|i| vec![i]).collect();
    // Three pieces: a small one between two large ones, at many places.
    cases.extend(
        (0..body.len())
            .step_by(97)
            .map(|i| vec![i, (i + 5).min(body.len())]),
    );
    // Many small pieces, then many large ones.
    cases.push((1..body.len()).step_by(37).collect());
    cases.push((1..body.len()).step_by(4099).collect());
    for cuts in cases {
        let mut pieces = Vec::new();
        let mut at = 0;
        for &cut in cuts.iter().chain([&body.len()]) {
            pieces.push(body[at..cut].to_vec());
            at = cut;
        }
        server.events.lock().unwrap().clear();
        let (status, text) = server.post_pieces(CT, pieces);
        assert_eq!(
            (status, text.as_str()),
            (200, expect.as_str()),
            "cuts {cuts:?}"
        );
        check_progress(&server.events(), &[9000, 700]);
    }
    TempDir::wait_empty(tmp.path());
}

/// Post `body` with `opts`; expect `status`, a message containing `message`, a `failed`
/// event, and an empty temporary directory afterwards.
fn expect_failure(
    opts: impl Fn(UploadOptions) -> UploadOptions + Send + Sync + 'static,
    content_type: &str,
    body: &[u8],
    status: u16,
    message: &str,
) {
    let tmp = TempDir::new("limit");
    let dir = tmp.path().to_path_buf();
    let server = Upload::new(move || opts(UploadOptions::new(&dir)), false);
    let (got, text) = server.post(content_type, body);
    assert_eq!(got, status, "{message}: {text}");
    assert!(text.contains(message), "want {message:?} in {text:?}");
    server.wait_event("failed");
    let events = server.events();
    assert_eq!(events.first().map(String::as_str), Some("started"));
    assert!(
        events
            .last()
            .unwrap()
            .starts_with(&format!("failed {status}")),
        "{events:?}"
    );
    TempDir::wait_empty(tmp.path());
}

#[test]
fn each_limit_answers_413_with_a_clear_message() {
    let file = |n: usize| vec![b'z'; n];
    let one_file = multipart_body(B, &[("f", Some("a"), None, &file(5000))]);
    let two_files = multipart_body(
        B,
        &[
            ("f", Some("a"), None, &file(600)),
            ("g", Some("b"), None, &file(600)),
        ],
    );
    expect_failure(
        |o| o.max_file_bytes(1000),
        CT,
        &one_file,
        413,
        "uploaded file larger than 1000 bytes",
    );
    expect_failure(
        |o| o.max_total_bytes(1000),
        CT,
        &two_files,
        413,
        "uploaded files larger in total than 1000 bytes",
    );
    expect_failure(
        |o| o.max_files(1),
        CT,
        &two_files,
        413,
        "more uploaded files than 1",
    );

    let mut l = MultipartLimits::default();
    l.max_field_bytes(10);
    let field = multipart_body(B, &[("t", None, None, b"0123456789A")]);
    expect_failure(
        move |o| o.limits(l.clone()),
        CT,
        &field,
        413,
        "multipart field value too large",
    );

    // The default field limit is 50 KiB; files are not bounded by it.
    let big_field = multipart_body(B, &[("t", None, None, &file(50 * 1024 + 1))]);
    expect_failure(
        |o| o,
        CT,
        &big_field,
        413,
        "multipart field value too large",
    );

    let long_name = "n".repeat(4097);
    let body = multipart_body(B, &[(long_name.as_str(), None, None, b"v")]);
    expect_failure(|o| o, CT, &body, 413, "multipart field name too long");

    let mut l = MultipartLimits::default();
    l.max_parts(2);
    let three = multipart_body(
        B,
        &[
            ("a", None, None, b"1"),
            ("b", None, None, b"2"),
            ("c", None, None, b"3"),
        ],
    );
    expect_failure(
        move |o| o.limits(l.clone()),
        CT,
        &three,
        413,
        "too many multipart parts",
    );

    let mut l = MultipartLimits::default();
    l.max_header_bytes(100);
    let ct = "x".repeat(200);
    let body = multipart_body(B, &[("a", Some("f"), Some(ct.as_str()), b"1")]);
    expect_failure(
        move |o| o.limits(l.clone()),
        CT,
        &body,
        413,
        "multipart part header too large",
    );
}

#[test]
fn format_errors_answer_400() {
    let ok = multipart_body(B, &[("f", Some("a"), None, b"abc")]);
    expect_failure(
        |o| o,
        "text/plain",
        &ok,
        400,
        "expected a multipart/form-data body",
    );
    expect_failure(
        |o| o,
        "multipart/form-data",
        &ok,
        400,
        "expected a multipart/form-data body",
    );
    expect_failure(
        |o| o,
        "multipart/form-data; boundary=\"\"",
        &ok,
        400,
        "invalid multipart boundary",
    );
    let mut truncated = ok.clone();
    truncated.truncate(ok.len() - 10);
    expect_failure(
        |o| o,
        CT,
        &truncated,
        400,
        "ended before its closing delimiter",
    );
    let bad = format!("--{B}\r\nContent-Type: x\r\n\r\nabc\r\n--{B}--");
    expect_failure(|o| o, CT, bad.as_bytes(), 400, "without a form-data name");
    let garbage = format!("--{B}garbage\r\n");
    expect_failure(
        |o| o,
        CT,
        garbage.as_bytes(),
        400,
        "malformed multipart delimiter",
    );
}

#[test]
fn unusable_temp_dir_is_a_clear_500() {
    let tmp = TempDir::new("notdir");
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let dir = file.join("sub");
    let server = Upload::new(move || UploadOptions::new(&dir), false);
    let body = multipart_body(B, &[("f", Some("a"), None, b"abc")]);
    let (status, text) = server.post(CT, &body);
    assert_eq!(status, 500, "{text}");
    assert_eq!(text, "upload failed: server error\n");
    server.wait_event("failed");
    let failed = server.events().pop().unwrap();
    assert!(
        failed.starts_with("failed 500 upload directory ") && failed.contains("a-file/sub"),
        "{failed}"
    );
}

#[test]
fn temp_dir_is_created_when_missing() {
    let tmp = TempDir::new("mkdir");
    let dir = tmp.path().join("a/b/c");
    let d = dir.clone();
    let server = Upload::new(move || UploadOptions::new(&d), true);
    let body = multipart_body(B, &[("f", Some("a"), None, b"abc")]);
    let (status, text) = server.post(CT, &body);
    assert_eq!(status, 200, "{text}");
    assert!(dir.is_dir());
    TempDir::wait_empty(&dir);
}

#[test]
fn boundary_edge_cases() {
    let tmp = TempDir::new("edges");
    let server = Upload::start(options(&tmp), true);
    let content = tricky_content(20_000, 11);
    let h = Fnv::of(&content);
    let long = "0123456789".repeat(7);
    let cases: Vec<(String, String)> = vec![
        // Quoted boundary with a space, as some clients send.
        (
            "a b'()+_,-./:=?".into(),
            "multipart/form-data; boundary=\"a b'()+_,-./:=?\"".into(),
        ),
        // The longest boundary (70), extra parameters, odd case.
        (
            long.clone(),
            format!("Multipart/Form-Data; charset=utf-8; BOUNDARY={long}"),
        ),
        // A one-byte boundary.
        ("-".into(), "multipart/form-data; boundary=-".into()),
    ];
    for (boundary, ct) in &cases {
        // The sender picks a boundary that is not in the content (RFC 2046 §5.1.1).
        let delimiter = format!("\r\n--{boundary}");
        let mut content = content.clone();
        while let Some(i) = content
            .windows(delimiter.len())
            .position(|w| w == delimiter.as_bytes())
        {
            content[i + 4] = b'x';
        }
        let h = Fnv::of(&content);
        let mut body = b"preamble to ignore\r\n".to_vec();
        body.extend_from_slice(&multipart_body(
            boundary,
            &[
                ("f", Some("x.bin"), None, &content),
                ("e", Some("empty"), None, b""),
            ],
        ));
        body.extend_from_slice(b"epilogue to ignore");
        let (status, text) = server.post(ct, &body);
        assert_eq!(status, 200, "{ct}: {text}");
        assert!(
            text.contains(&format!("file f x.bin 20000 {h:016x} {h:016x}")),
            "{text}"
        );
        assert!(text.contains("file e empty 0 "), "{text}");
    }

    // The body trickled in small writes, so delimiters straddle reads, and chunked.
    let body = multipart_body(
        B,
        &[
            ("f", Some("x.bin"), None, &content),
            ("t", None, None, b"v"),
        ],
    );
    let mut c = TestConnection::new(server.handler(), ServerConfig::new());
    let mut raw = format!(
        "POST /save HTTP/1.1\r\nHost: t\r\nContent-Type: {CT}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    let mut sizes = [1usize, 2, 3, 5, 7, 13, 31, 61, 127, 509].iter().cycle();
    let mut at = 0;
    while at < body.len() {
        let n = (*sizes.next().unwrap()).min(body.len() - at);
        raw.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        raw.extend_from_slice(&body[at..at + n]);
        raw.extend_from_slice(b"\r\n");
        at += n;
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    // In writes of 7 bytes: the server reads each as it comes. (It may answer, and close,
    // once the closing delimiter is in, before the last chunk's framing.)
    let r = block_on(async {
        assert!(c.write_some(&raw, 7).await + 7 >= raw.len());
        c.read_response().await
    });
    let (status, text) = (r.status, r.text());
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains(&format!("file f x.bin 20000 {h:016x} {h:016x}")),
        "{text}"
    );
    assert!(text.contains("field t=v"), "{text}");
    TempDir::wait_empty(tmp.path());
}

#[test]
fn client_gone_mid_file_leaves_no_temp_file() {
    let tmp = TempDir::new("gone");
    let server = Upload::new(options(&tmp), false);
    let mut c = TestConnection::new(server.handler(), ServerConfig::new());
    let head = format!(
        "POST /save HTTP/1.1\r\nHost: t\r\nContent-Type: {CT}\r\nContent-Length: 100000000\r\n\r\n\
         --{B}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"big\"\r\n\r\n"
    );
    block_on(async {
        c.send(head.as_bytes()).await;
        c.send(vec![b'q'; 1 << 20]).await;
        // The temporary file exists and is being written...
        let written = |_: &[u8]| server.events().iter().any(|e| e.starts_with("written 0"));
        assert!(c.read_until(written).await.is_empty());
        assert!(
            written(b""),
            "no \"written 0\" event: {:?}",
            server.events()
        );
        assert_eq!(TempDir::entries(tmp.path()).len(), 1);
        // ...when the client goes away.
        c.close_write().await;
        c.closed().await;
    });
    server.wait_event("failed");
    assert!(
        server.events().last().unwrap().starts_with("failed 400"),
        "{:?}",
        server.events()
    );
    TempDir::wait_empty(tmp.path());
}

async fn form_app(mut req: Request) -> Response {
    let mut limits = FormLimits::body();
    limits
        .max_pairs(3)
        .max_key_bytes(8)
        .max_value_bytes(16)
        .max_bytes(100);
    let form = if req.method() == "GET" {
        query_form(&req, &limits)
    } else {
        read_form(&mut req, &limits).await
    };
    match form {
        Ok(form) => {
            let pairs: Vec<String> = form.iter().map(|(k, v)| format!("{k}={v}")).collect();
            Response::text(200, pairs.join(","))
        }
        Err(e) => e.response(),
    }
}

#[test]
fn urlencoded_forms_and_queries_have_limits() {
    let get = |target: &str| {
        let mut r = TestRequest::get(target).call_blocking(&form_app);
        (r.status(), r.text_blocking())
    };
    let post = |content_type: &str, body: &[u8]| {
        let req = TestRequest::post("/").header("Content-Type", content_type);
        let mut r = req.body(body.to_vec()).call_blocking(&form_app);
        (r.status(), r.text_blocking())
    };
    let form = "application/x-www-form-urlencoded; charset=UTF-8";
    assert_eq!(get("/?a=1&b=x+y%21"), (200, "a=1,b=x y!".into()));
    assert_eq!(
        post(form, b"name=J%C3%B6rg&x="),
        (200, "name=Jörg,x=".into())
    );
    let cases: [(u16, &str, &[u8]); 6] = [
        (413, "more form fields than 3", b"a&b&c&d"),
        (413, "form field name longer than 8 bytes", b"abcdefghi=1"),
        (
            413,
            "form field value longer than 16 bytes",
            b"a=0123456789abcdefg",
        ),
        (413, "request body exceeds 100 bytes", &[b'a'; 101]),
        (
            400,
            "expected an application/x-www-form-urlencoded body",
            b"a=1",
        ),
        (200, "a=0123456789abcdef", b"a=0123456789abcdef"),
    ];
    for (status, message, body) in cases {
        let ct = if status == 400 { "text/plain" } else { form };
        let (got, text) = post(ct, body);
        assert_eq!(got, status, "{message}: {text}");
        assert!(text.contains(message), "want {message:?} in {text:?}");
    }
    assert_eq!(get("/?a&b&c&d").0, 413);
    assert_eq!(get(&format!("/?k={}", "v".repeat(17))).0, 413);
}

/// File names: decoded by default, raw on request, and a sanitized name that stays one
/// plain component of the save directory, for names a hostile client can send.
#[test]
fn file_names_are_decoded_and_sanitized() {
    let tmp = TempDir::new("names");
    let dir = tmp.path().to_path_buf();
    let app = move |mut req: Request| {
        let dir = dir.clone();
        async move {
            let mut uploads = match save_uploads(&mut req, UploadOptions::new(&dir)).await {
                Ok(u) => u,
                Err(e) => return e.response(),
            };
            let mut out = String::new();
            for file in uploads.files_mut() {
                let safe = file.sanitized_filename();
                out.push_str(&format!(
                    "{:?} {:?} {safe:?}\n",
                    file.filename(),
                    file.filename_raw()
                ));
                let to = dir.join(&safe);
                file.persist(&to).await.unwrap();
                assert_eq!(
                    to.parent(),
                    Some(dir.as_path()),
                    "{safe:?} left the directory"
                );
            }
            Response::text(200, out)
        }
    };
    let dispositions = [
        r#"filename="../../etc/passwd""#,
        r#"filename="C:\\Users\\me\\cv.pdf""#,
        r#"filename="%22quoted%22%0D%0A.txt""#,
        r#"filename="100%25 done.txt""#,
        r#"filename="fallback.txt"; filename*=UTF-8''na%C3%AFve%20%E2%82%AC.txt"#,
        r#"filename=".."; filename*=UTF-8''..%2F..%2Fx"#,
        r#"filename=".hidden""#,
    ];
    let mut body = Vec::new();
    for (i, d) in dispositions.iter().enumerate() {
        body.extend_from_slice(
            format!("--{B}\r\nContent-Disposition: form-data; name=\"f{i}\"; {d}\r\n\r\nx{i}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{B}--\r\n").as_bytes());
    let req = TestRequest::post("/").header("Content-Type", CT).body(body);
    let mut r = req.call_blocking(&app);
    let text = r.text_blocking();
    assert_eq!(r.status(), 200, "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            r#""../../etc/passwd" "../../etc/passwd" "passwd""#,
            r#""C:\\Users\\me\\cv.pdf" "C:\\Users\\me\\cv.pdf" "cv.pdf""#,
            r#""\"quoted\"\r\n.txt" "%22quoted%22%0D%0A.txt" "_quoted___.txt""#,
            r#""100%25 done.txt" "100%25 done.txt" "100%25 done.txt""#,
            r#""naïve €.txt" "fallback.txt" "naïve €.txt""#,
            r#""../../x" ".." "x""#,
            r#"".hidden" ".hidden" "hidden""#,
        ]
    );
    let mut saved: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    saved.sort();
    assert_eq!(
        saved,
        [
            "100%25 done.txt",
            "_quoted___.txt",
            "cv.pdf",
            "hidden",
            "naïve €.txt",
            "passwd",
            "x"
        ]
    );
}
