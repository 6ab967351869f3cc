//! A TLS client for the admission webhook: one connection at a time, with
//! its handshake done before the request, and HTTP/1.1 read by hand, so
//! that a test (or the memory benchmark) controls exactly what is in flight.

use std::path::Path;

/// A TLS client trusting only the webhook's current certificate file.
pub(crate) fn tls_config(dir: &Path) -> std::sync::Arc<tokio_rustls::rustls::ClientConfig> {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::CertificateDer;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(dir.join("tls.crt")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    std::sync::Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// A connection to the webhook, its handshake done.
pub(crate) fn connect(
    address: &str,
    config: &std::sync::Arc<tokio_rustls::rustls::ClientConfig>,
) -> tokio_rustls::rustls::StreamOwned<tokio_rustls::rustls::ClientConnection, std::net::TcpStream>
{
    use std::io::Write as _;
    let tcp = std::net::TcpStream::connect(address).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let name = "127.0.0.1".try_into().unwrap();
    let conn = tokio_rustls::rustls::ClientConnection::new(config.clone(), name).unwrap();
    let mut stream = tokio_rustls::rustls::StreamOwned::new(conn, tcp);
    stream.flush().unwrap();
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock).unwrap();
    }
    stream
}

pub(crate) fn post(body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST /validate HTTP/1.1\r\nhost: webhook\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// The status and the `connection` header of one HTTP/1.1 response read
/// from `stream` (its body read as its Content-Length says).
pub(crate) fn read_response(
    stream: &mut impl std::io::Read,
) -> Result<(u16, Option<String>), String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(0) => return Err(format!("closed after {} bytes", head.len())),
            Ok(_) => head.push(byte[0]),
            Err(e) => return Err(e.to_string()),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            })
            .map(|(_, v)| v.trim().to_owned())
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).map_err(|e| e.to_string())?;
    Ok((status, header("connection")))
}
