//! The OpenSSL backend (cargo feature `cassandra-tls`): a context builder
//! for the driver, through the system's OpenSSL.

use openssl::ssl::{
    SslContext, SslContextBuilder, SslFiletype, SslMethod, SslVerifyMode, SslVersion,
};
use scylla::client::session::OpenSsl010Config;

use crate::cassandra::config::invalid;
use crate::error::Result;

use super::TlsConfig;

/// The driver's TLS context. Built by the driver from our builder (not
/// from a finished `SslContext`, its deprecated form), so that it can
/// resume TLS sessions when connections are re-made.
pub(super) fn context(tls: &TlsConfig) -> Result<OpenSsl010Config> {
    let fail = |what: String, e: openssl::error::ErrorStack| invalid(format!("{what}: {e}"));
    let mut builder: SslContextBuilder = SslContext::builder(SslMethod::tls_client())
        .map_err(|e| fail("creating a TLS context".into(), e))?;
    builder
        .set_ca_file(&tls.ca_file)
        .map_err(|e| fail(format!("reading CA file {}", tls.ca_file.display()), e))?;
    builder
        .set_min_proto_version(Some(SslVersion::TLS1_2))
        .map_err(|e| fail("requiring TLS 1.2".into(), e))?;
    // What makes the builder "dangerous" to the driver is a missing
    // verification: it is set here, against the CA file alone.
    builder.set_verify(SslVerifyMode::PEER);
    if let Some((cert, key)) = &tls.client_cert {
        builder
            .set_certificate_chain_file(cert)
            .map_err(|e| fail(format!("reading client certificate {}", cert.display()), e))?;
        builder
            .set_private_key_file(key, SslFiletype::PEM)
            .map_err(|e| fail(format!("reading client key {}", key.display()), e))?;
    }
    Ok(OpenSsl010Config::from_dangerous_builder(builder))
}
