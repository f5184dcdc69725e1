//! A self-signed certificate for 127.0.0.1, made at run time, and the
//! rustls server configuration that serves it (offering h2 and http/1.1).

use std::sync::Arc;

use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate and its key.
pub struct TestCert {
    /// The certificate, DER.
    pub der: CertificateDer<'static>,
    /// The certificate, PEM (for the Python SDK's `SSL_CERT_FILE`).
    pub pem: String,
    key: PrivatePkcs8KeyDer<'static>,
}

impl TestCert {
    /// A new self-signed certificate for `127.0.0.1` and `localhost`.
    pub fn generate() -> anyhow::Result<Self> {
        let made = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_string(),
            "localhost".to_string(),
        ])?;
        Ok(Self {
            der: made.cert.der().clone(),
            pem: made.cert.pem(),
            key: PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()),
        })
    }

    /// A rustls server configuration serving this certificate, offering
    /// `h2` and `http/1.1` by ALPN (TLS 1.2 and 1.3, aws-lc-rs).
    pub fn server_config(&self) -> anyhow::Result<Arc<ServerConfig>> {
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()?
                .with_no_client_auth()
                .with_single_cert(
                    vec![self.der.clone()],
                    PrivateKeyDer::Pkcs8(self.key.clone_key()),
                )?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// A reqwest client trusting only this certificate.
    pub fn reqwest_client(&self) -> anyhow::Result<reqwest::Client> {
        Ok(reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_der(&self.der)?])
            .build()?)
    }
}
