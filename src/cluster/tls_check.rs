//! Whether an etcd member refuses this node's TLS, when the client's
//! errors cannot say: a member that refuses this node's certificate
//! closes the connection after a TLS 1.3 handshake that looked complete,
//! and the client may report only "connection closed", as for a member
//! that died. A handshake of its own with the same files, reading the
//! member's first bytes (its HTTP/2 settings, or the alert), tells.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::AsyncReadExt;

use super::etcd::tls_cause;
use super::options::TlsFiles;

/// rustls's own words for why `url` (`https://HOST:PORT`) refuses this
/// node's TLS with these files, or None: it accepts them, it cannot be
/// reached, or it says nothing within `limit`. Without a CA file (the
/// system's roots) nothing is checked.
pub async fn refusal(url: &str, files: &TlsFiles, limit: Duration) -> Option<String> {
    let authority = url.strip_prefix("https://")?.trim_end_matches('/');
    let (host, _) = authority.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(host.to_string()).ok()?;
    let config = Arc::new(client_config(files)?);
    let probe = async {
        let tcp = tokio::net::TcpStream::connect(authority).await.ok()?;
        let mut stream = match tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
        {
            Ok(stream) => stream,
            Err(e) => return tls_cause(&e),
        };
        let mut first = [0u8; 1];
        match stream.read(&mut first).await {
            Ok(_) => None,
            Err(e) => tls_cause(&e),
        }
    };
    tokio::time::timeout(limit, probe).await.ok().flatten()
}

/// The rustls configuration of these files (None when they do not parse:
/// the client reports that itself).
fn client_config(files: &TlsFiles) -> Option<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(files.cacert.as_ref()?) {
        roots.add(cert.ok()?).ok()?;
    }
    // ring, as the client's own TLS (etcd-client's tls-ring); rustls
    // deprecates it only for lacking post-quantum key exchange.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(roots);
    let mut config = match &files.identity {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<Vec<_>, _>>()
                .ok()?;
            let key = PrivateKeyDer::from_pem_slice(key).ok()?;
            builder.with_client_auth_cert(chain, key).ok()?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Some(config)
}
