//! The rustls backend (cargo feature `cassandra-rustls`): a `ClientConfig`
//! for the driver, with no system library.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::aws_lc_rs;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::version::{TLS12, TLS13};
use rustls::{ClientConfig, RootCertStore};

use crate::cassandra::config::invalid;
use crate::error::Result;

use super::TlsConfig;

/// The driver's TLS context: a client config that trusts the CA file's
/// certificates and nothing else (no system or bundled roots).
pub(super) fn context(tls: &TlsConfig) -> Result<Arc<ClientConfig>> {
    let reading_ca = |e: String| invalid(format!("reading CA file {}: {e}", tls.ca_file.display()));
    let mut roots = RootCertStore::empty();
    for cert in certificates(&tls.ca_file).map_err(reading_ca)? {
        roots.add(cert).map_err(|e| reading_ca(e.to_string()))?;
    }
    // The crypto provider is named here rather than taken from the
    // process-wide default: that default panics when the build has more
    // than one provider and the application installed none. aws-lc-rs is
    // the one the driver's own rustls dependency builds in any case (its
    // default features), so naming it adds no second crypto library.
    let builder = ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_protocol_versions(&[&TLS13, &TLS12])
        .map_err(|e| invalid(format!("requiring TLS 1.2: {e}")))?
        .with_root_certificates(roots);
    let config = match &tls.client_cert {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = certificates(cert).map_err(|e| {
                invalid(format!(
                    "reading client certificate {}: {e}",
                    cert.display()
                ))
            })?;
            let reading_key =
                |e: String| invalid(format!("reading client key {}: {e}", key.display()));
            let key_der = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| reading_key(pem_error(e, "private key")))?;
            // rustls checks here that the key is the certificate's.
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| reading_key(e.to_string()))?
        }
    };
    Ok(Arc::new(config))
}

/// The certificates of a PEM file, in order; at least one.
fn certificates(path: &Path) -> std::result::Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(e, "certificate"))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| pem_error(e, "certificate"))?;
    if certs.is_empty() {
        return Err("no certificate in it".into());
    }
    Ok(certs)
}

/// A PEM reading error as it reads after "reading CA file F: ", the file's
/// own I/O error without the PEM parser's prefix.
fn pem_error(e: pem::Error, what: &str) -> String {
    match e {
        pem::Error::Io(e) => e.to_string(),
        pem::Error::NoItemsFound => format!("no {what} in it"),
        e => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::Error;

    fn reason(tls: &TlsConfig) -> String {
        match context(tls) {
            Err(Error::InvalidConfig { adapter, reason }) => {
                assert_eq!(adapter, "cassandra");
                reason
            }
            Err(other) => panic!("expected InvalidConfig, got {other}"),
            Ok(_) => panic!("expected an error"),
        }
    }

    fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_ca_file_that_is_not_one_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        assert_eq!(
            reason(&TlsConfig::new(&missing)),
            format!(
                "reading CA file {}: No such file or directory (os error 2)",
                missing.display()
            )
        );
        let garbage = file(
            dir.path(),
            "garbage.pem",
            "garbage\n\x01\x02 not PEM at all\n",
        );
        assert_eq!(
            reason(&TlsConfig::new(&garbage)),
            format!(
                "reading CA file {}: no certificate in it",
                garbage.display()
            )
        );
        let empty = file(dir.path(), "empty.pem", "");
        assert_eq!(
            reason(&TlsConfig::new(&empty)),
            format!("reading CA file {}: no certificate in it", empty.display())
        );
        let bad_base64 = file(
            dir.path(),
            "bad-base64.pem",
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        );
        assert_eq!(
            reason(&TlsConfig::new(&bad_base64)),
            format!(
                "reading CA file {}: base64 decode error: InvalidCharacter(33)",
                bad_base64.display()
            )
        );
        // Valid PEM and base64, but no certificate inside.
        let not_der = file(
            dir.path(),
            "not-der.pem",
            "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n",
        );
        assert_eq!(
            reason(&TlsConfig::new(&not_der)),
            format!(
                "reading CA file {}: invalid peer certificate: BadEncoding",
                not_der.display()
            )
        );
        // A directory opens, but does not read.
        assert_eq!(
            reason(&TlsConfig::new(dir.path())),
            format!(
                "reading CA file {}: Is a directory (os error 21)",
                dir.path().display()
            )
        );
    }
}
