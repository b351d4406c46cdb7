//! TLS for the Cassandra adapter, through the system's OpenSSL.

use std::path::PathBuf;

use openssl::ssl::{
    SslContext, SslContextBuilder, SslFiletype, SslMethod, SslVerifyMode, SslVersion,
};
use scylla::client::session::OpenSsl010Config;

use crate::error::Result;

use super::config::invalid;

/// How to encrypt connections to the cluster.
///
/// The server's certificate is always verified against `ca_file` (and only
/// it: not the system's roots); a server whose certificate that CA did not
/// sign is refused. The driver also checks that the certificate names the
/// node's IP address (a subject alternative name such as `IP:10.0.0.1`).
/// TLS 1.2 at least.
///
/// ```no_run
/// use taskrec::cassandra::{CassandraConfig, TlsConfig};
/// let config = CassandraConfig::new(["127.0.0.1:9142"], "ks")
///     .tls(TlsConfig::new("certs/ca.pem"));
/// ```
#[derive(Debug, Clone)]
pub struct TlsConfig {
    ca_file: PathBuf,
    client_cert: Option<(PathBuf, PathBuf)>,
}

impl TlsConfig {
    /// Verifies servers against the CA certificate(s) in a PEM file, read
    /// when the adapter connects.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use taskrec::cassandra::{CassandraAdapter, CassandraConfig, TlsConfig};
    /// let config = CassandraConfig::new(["127.0.0.1:9142"], "jobs")
    ///     .tls(TlsConfig::new("/nonexistent/ca.pem"));
    /// let err = CassandraAdapter::connect(config).await.unwrap_err(); // before any node is asked
    /// assert!(err.to_string().contains("reading CA file /nonexistent/ca.pem"), "{err}");
    /// # }
    /// ```
    pub fn new(ca_file: impl Into<PathBuf>) -> Self {
        TlsConfig {
            ca_file: ca_file.into(),
            client_cert: None,
        }
    }

    /// Presents a client certificate (PEM certificate and PEM private key)
    /// to servers that require one.
    ///
    /// ```
    /// use taskrec::cassandra::TlsConfig;
    /// let tls = TlsConfig::new("certs/ca.pem").client_certificate("certs/client.pem", "certs/client.key");
    /// assert!(format!("{tls:?}").contains(r#"client_cert: Some(("certs/client.pem", "certs/client.key"))"#));
    /// ```
    pub fn client_certificate(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_cert = Some((cert.into(), key.into()));
        self
    }

    /// The driver's TLS context. Built by the driver from our builder (not
    /// from a finished `SslContext`, its deprecated form), so that it can
    /// resume TLS sessions when connections are re-made.
    pub(super) fn tls_context(&self) -> Result<OpenSsl010Config> {
        let fail = |what: String, e: openssl::error::ErrorStack| invalid(format!("{what}: {e}"));
        let mut builder: SslContextBuilder = SslContext::builder(SslMethod::tls_client())
            .map_err(|e| fail("creating a TLS context".into(), e))?;
        builder
            .set_ca_file(&self.ca_file)
            .map_err(|e| fail(format!("reading CA file {}", self.ca_file.display()), e))?;
        builder
            .set_min_proto_version(Some(SslVersion::TLS1_2))
            .map_err(|e| fail("requiring TLS 1.2".into(), e))?;
        // What makes the builder "dangerous" to the driver is a missing
        // verification: it is set here, against the CA file alone.
        builder.set_verify(SslVerifyMode::PEER);
        if let Some((cert, key)) = &self.client_cert {
            builder
                .set_certificate_chain_file(cert)
                .map_err(|e| fail(format!("reading client certificate {}", cert.display()), e))?;
            builder
                .set_private_key_file(key, SslFiletype::PEM)
                .map_err(|e| fail(format!("reading client key {}", key.display()), e))?;
        }
        Ok(OpenSsl010Config::from_dangerous_builder(builder))
    }
}
