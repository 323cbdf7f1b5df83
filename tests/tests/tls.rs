//! HTTPS through the `tls` feature: a self-signed certificate made at test time (rcgen),
//! a rustls client and curl `--cacert` (skipped, saying so, without curl), and the
//! handshake's own timeout.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::Async;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use futures_rustls::TlsConnector;
use h1_server::rustls::pki_types::pem::PemObject;
use h1_server::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use h1_server::{Request, Response, rustls};
use integration_tests::{Hooks, TestServer, WAIT, bind, has_tool, run};

struct Cert {
    cert_pem: String,
    key_pem: String,
}

fn self_signed() -> Cert {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    Cert {
        cert_pem: ck.cert.pem(),
        key_pem: ck.signing_key.serialize_pem(),
    }
}

/// The server side, from PEM text as the https example loads it from files.
fn server_config(cert: &Cert) -> Arc<rustls::ServerConfig> {
    let certs = CertificateDer::pem_slice_iter(cert.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

fn start(cert: &Cert, hooks: &Hooks, handshake: Duration) -> TestServer {
    let mut server = bind();
    server.spawner(h1_server::ThreadPool::new(1));
    hooks.install(server.config_mut());
    server
        .tls(server_config(cert))
        .tls_handshake_timeout(handshake);
    TestServer::serve(server, |mut req: Request| async move {
        let body = req.text(1 << 20).await.unwrap_or_default();
        Response::text(
            200,
            format!("{} {} over tls body={body}\n", req.method(), req.path()),
        )
    })
}

#[test]
fn rustls_client_talks_https_with_keep_alive() {
    let cert = self_signed();
    let server = start(&cert, &Hooks::default(), Duration::from_secs(10));
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(cert.cert_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = TlsConnector::from(Arc::new(client));
    let text = run(async {
        let tcp = Async::<TcpStream>::connect(server.addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, tcp).await.expect("handshake");
        tls.write_all(b"GET /one HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        tls.write_all(
            b"POST /two HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
        )
        .await
        .unwrap();
        tls.flush().await.unwrap();
        let mut out = Vec::new();
        tls.read_to_end(&mut out).await.unwrap();
        String::from_utf8(out).unwrap()
    });
    assert_eq!(text.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{text}");
    assert!(text.contains("GET /one over tls body=\n"), "{text}");
    assert!(text.ends_with("POST /two over tls body=abc\n"), "{text}");
}

#[test]
fn curl_with_cacert() {
    if !has_tool("curl", "curl_with_cacert") {
        return;
    }
    let cert = self_signed();
    let server = start(&cert, &Hooks::default(), Duration::from_secs(10));
    let dir = std::env::temp_dir().join(format!("http-server-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &cert.cert_pem).unwrap();
    let port = server.addr.port();
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(&ca)
        .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
        .args(["-d", "via curl"])
        .arg(format!("https://localhost:{port}/c"))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "POST /c over tls body=via curl\n"
    );
}

#[test]
fn a_silent_client_is_dropped_at_the_handshake_timeout() {
    let cert = self_signed();
    let hooks = Hooks::default();
    let server = start(&cert, &hooks, Duration::from_millis(300));
    let mut raw = TcpStream::connect(server.addr).unwrap();
    raw.set_read_timeout(Some(WAIT)).unwrap();
    let t0 = Instant::now();
    let mut buf = [0u8; 64];
    // Nothing sent: the server closes once the handshake deadline passes.
    let n = raw.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0);
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < WAIT,
        "{waited:?}"
    );
    // A plain-HTTP client on the TLS port does not reach the handler either.
    let mut plain = TcpStream::connect(server.addr).unwrap();
    plain.set_read_timeout(Some(WAIT)).unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    let _ = plain.read_to_end(&mut out);
    assert!(!String::from_utf8_lossy(&out).contains("over tls"));
    assert!(hooks.opened().is_empty(), "the handler side never saw them");
}
