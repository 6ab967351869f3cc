//! The local servers' TLS: a self-signed certificate and its acceptor.

use std::sync::Arc;

/// A self-signed server certificate, PEM.
pub(crate) struct TlsFiles {
    pub(crate) ca_pem: String,
}

/// A self-signed serving certificate for the local servers, by address
/// and by the names only the test proxy resolves (`kube.test`, `aws.test`).
pub(crate) fn acceptor() -> (tokio_rustls::TlsAcceptor, TlsFiles) {
    let names = ["127.0.0.1", "localhost", "kube.test", "aws.test"];
    let cert =
        rcgen::generate_simple_self_signed(names.map(str::to_owned).to_vec()).expect("certificate");
    let ca_pem = cert.cert.pem();
    let key = tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(
        cert.signing_key.serialize_der().into(),
    );
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let mut config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .expect("server config");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    (
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        TlsFiles { ca_pem },
    )
}
