//! The rustls configuration the `https` and `hello_tls` examples share (included by each
//! with `#[path]`; not an example of its own).

use std::io;
use std::sync::Arc;

use h1_server::rustls;
use h1_server::rustls::pki_types::pem::PemObject;
use h1_server::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A rustls server configuration from PEM files: the ring provider, safe default protocol
/// versions, no client auth, HTTP/1.1 over ALPN (the hyper bench peer builds the same for
/// tokio-rustls).
pub(crate) fn tls_config(cert_path: &str, key_path: &str) -> io::Result<Arc<rustls::ServerConfig>> {
    let invalid = |what: &str, e: &dyn std::fmt::Display| {
        io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {e}"))
    };
    let certs = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| invalid(cert_path, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(cert_path, &e))?;
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| invalid(key_path, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("rustls", &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid("certificate/key", &e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
