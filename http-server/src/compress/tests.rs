//! The policy: which responses are compressed, and the headers they get.

use super::*;

fn big(ct: &str) -> Response {
    Response::bytes(200, vec![b'a'; 4096]).header("Content-Type", ct)
}

fn encoding(r: &Response) -> Option<&str> {
    r.headers().get_str("content-encoding")
}

#[test]
fn compressible_response_gets_coding_vary_and_no_length() {
    let r = Compression::new().apply(Some("gzip"), false, big("text/html"));
    assert_eq!(encoding(&r), Some("gzip"));
    assert_eq!(r.headers().get_str("vary"), Some("Accept-Encoding"));
    assert_eq!(r.body_length(), None);
}

#[test]
fn identity_choice_still_says_vary() {
    let r = Compression::new().apply(None, false, big("text/html"));
    assert_eq!(encoding(&r), None);
    assert_eq!(r.headers().get_str("vary"), Some("Accept-Encoding"));
    assert_eq!(r.body_length(), Some(4096));
}

#[test]
fn small_bodies_stay_as_they_are_unless_identity_is_refused() {
    let policy = Compression::new();
    let r = policy.apply(Some("gzip"), false, Response::text(200, "short"));
    assert_eq!(encoding(&r), None);
    let r = policy.apply(
        Some("gzip, identity;q=0"),
        false,
        Response::text(200, "short"),
    );
    assert_eq!(encoding(&r), Some("gzip"));
}

#[test]
fn already_compressed_types_are_skipped() {
    let policy = Compression::new();
    for ct in [
        "image/png",
        "image/jpeg",
        "video/mp4",
        "audio/ogg",
        "application/zip",
        "application/gzip",
        "font/woff2",
        "application/pdf",
        "application/epub+zip",
    ] {
        let r = policy.apply(Some("gzip"), false, big(ct));
        assert_eq!(encoding(&r), None, "{ct}");
        assert_eq!(r.headers().get_str("vary"), None, "{ct}");
    }
    for ct in [
        "image/svg+xml",
        "text/event-stream",
        "application/json; charset=utf-8",
    ] {
        let r = policy.apply(Some("gzip"), false, big(ct));
        assert_eq!(encoding(&r), Some("gzip"), "{ct}");
    }
}

#[test]
fn ranges_head_and_bodiless_statuses_are_skipped() {
    let policy = Compression::new();
    let range = big("text/plain").header("Content-Range", "bytes 0-4095/9000");
    assert_eq!(encoding(&policy.apply(Some("gzip"), false, range)), None);
    let partial = big("text/plain").with_status(206);
    assert_eq!(encoding(&policy.apply(Some("gzip"), false, partial)), None);
    assert_eq!(
        encoding(&policy.apply(Some("gzip"), true, big("text/plain"))),
        None
    );
    for status in [204, 304] {
        let r = policy.apply(Some("gzip"), false, Response::empty(status));
        assert_eq!(encoding(&r), None);
    }
    assert!(
        policy
            .apply(Some("gzip"), false, Response::close())
            .is_close()
    );
}

#[test]
fn no_transform_and_existing_coding_are_respected() {
    let policy = Compression::new();
    let r = big("text/plain").header("Cache-Control", "public, No-Transform");
    assert_eq!(encoding(&policy.apply(Some("gzip"), false, r)), None);
    let r = big("text/plain").header("Content-Encoding", "br");
    assert_eq!(encoding(&policy.apply(Some("gzip"), false, r)), Some("br"));
}

#[test]
fn refused_identity_without_a_coding_is_406() {
    let policy = Compression::new();
    let r = policy.apply(Some("identity;q=0"), false, big("text/plain"));
    assert_eq!(r.status(), 406);
    // Not for an error answer: the 404 stays.
    let r = policy.apply(
        Some("identity;q=0"),
        false,
        big("text/plain").with_status(404),
    );
    assert_eq!(r.status(), 404);
}

#[test]
fn strong_etag_becomes_weak_and_vary_is_not_repeated() {
    let r = big("text/plain")
        .header("ETag", "\"abc\"")
        .header("Vary", "Origin, accept-encoding");
    let r = Compression::new().apply(Some("br"), false, r);
    assert_eq!(encoding(&r), Some("br"));
    assert_eq!(r.headers().get_str("etag"), Some("W/\"abc\""));
    assert_eq!(r.headers().get_all("vary").count(), 1);
}

#[test]
fn policy_codings_limit_the_choice() {
    let mut policy = Compression::new();
    policy.codings(&[Coding::Gzip]);
    let r = policy.apply(Some("br, zstd, gzip;q=0.1"), false, big("text/plain"));
    assert_eq!(encoding(&r), Some("gzip"));
    policy.codings(&[]);
    let r = policy.apply(Some("gzip"), false, big("text/plain"));
    assert_eq!(encoding(&r), None);
}
