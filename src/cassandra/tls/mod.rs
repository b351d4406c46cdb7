//! TLS for the Cassandra adapter: one [`TlsConfig`], and a module per TLS
//! library (cargo features `cassandra-rustls` and `cassandra-tls`) that
//! turns it into the driver's context. Both keep the same promises: the CA
//! file alone is trusted, TLS 1.2 at least, the client certificate only
//! where configured.

#[cfg(feature = "cassandra-tls")]
mod openssl;
#[cfg(feature = "cassandra-rustls")]
mod rustls;

use std::path::PathBuf;

use scylla::client::session::TlsContext;

use crate::error::Result;

/// Which TLS library encrypts the connections. Each variant is there with
/// its cargo feature only.
///
/// The default is the one feature that is on. With both on, it is
/// `OpenSsl`: `cassandra-tls` is only turned on by someone who needs OpenSSL
/// (its system library is then built and linked anyway), and an application
/// that must use OpenSSL (FIPS, an organisation's rule) must not be moved to
/// rustls because another crate in its build turned `cassandra-rustls` on.
/// [`TlsConfig::backend`] chooses explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TlsBackend {
    /// rustls (cargo feature `cassandra-rustls`): pure Rust but for its
    /// crypto library (aws-lc-rs, built from source with the crate); no
    /// system library.
    ///
    /// A CA file that holds no certificate is refused, naming the file,
    /// before any node is asked:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use taskrec::cassandra::{CassandraAdapter, CassandraConfig, TlsBackend, TlsConfig};
    /// use taskrec::Error;
    /// let dir = tempfile::tempdir().unwrap();
    /// let ca = dir.path().join("ca.pem");
    /// std::fs::write(&ca, "not a certificate\n").unwrap();
    /// let config = CassandraConfig::new(["127.0.0.1:9142"], "jobs")
    ///     .tls(TlsConfig::new(&ca).backend(TlsBackend::Rustls));
    /// let err = CassandraAdapter::connect(config).await.unwrap_err();
    /// let Error::InvalidConfig { reason, .. } = err else { panic!("{err}") };
    /// assert_eq!(reason, format!("reading CA file {}: no certificate in it", ca.display()));
    /// # }
    /// ```
    #[cfg(feature = "cassandra-rustls")]
    #[cfg_attr(not(feature = "cassandra-tls"), default)]
    Rustls,
    /// The system's OpenSSL (cargo feature `cassandra-tls`; its headers are
    /// needed to build).
    #[cfg(feature = "cassandra-tls")]
    #[default]
    OpenSsl,
}

/// How to encrypt connections to the cluster (cargo feature
/// `cassandra-rustls` or `cassandra-tls`: the same API through rustls or
/// OpenSSL, see [`TlsBackend`] for which is used when both are on).
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
    backend: TlsBackend,
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
            backend: TlsBackend::default(),
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

    /// The TLS library to use, where the build has both (otherwise the one it
    /// has is the default already).
    ///
    /// ```
    /// use taskrec::cassandra::{TlsBackend, TlsConfig};
    /// # #[cfg(feature = "cassandra-rustls")] {
    /// let tls = TlsConfig::new("certs/ca.pem").backend(TlsBackend::Rustls);
    /// assert!(format!("{tls:?}").contains("backend: Rustls"));
    /// # }
    /// ```
    pub fn backend(mut self, backend: TlsBackend) -> Self {
        self.backend = backend;
        self
    }

    /// The driver's TLS context, from the chosen library. The files are read
    /// here: any of them missing, unreadable or not what it should be is an
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) naming the file.
    pub(super) fn tls_context(&self) -> Result<TlsContext> {
        match self.backend {
            #[cfg(feature = "cassandra-tls")]
            TlsBackend::OpenSsl => openssl::context(self).map(TlsContext::from),
            #[cfg(feature = "cassandra-rustls")]
            TlsBackend::Rustls => rustls::context(self).map(TlsContext::from),
        }
    }
}
