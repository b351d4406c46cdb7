//! Password authentication and TLS, on a node of the test's own started with
//! `CASSANDRA_AUTH=1` (PasswordAuthenticator) and client encryption required,
//! its certificate made by `scripts/make-test-certs`: the right credentials
//! and CA work; a wrong password, no password, an unrelated CA and a plain
//! connection are each refused with the driver's error as the source. The
//! TLS checks run through each TLS library the build has (rustls, OpenSSL),
//! one after the other on the same node: starting a node is the slow part.

use std::io::ErrorKind;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use scylla::errors::{
    BrokenConnectionErrorKind, ConnectionError, ConnectionPoolError,
    ConnectionSetupRequestErrorKind, CqlRequestKind, DbError, FrameHeaderParseError, MetadataError,
    NewSessionError,
};
use taskrec::cassandra::{CassandraAdapter, CassandraConfig, TlsBackend, TlsConfig};
use taskrec::{Error, Task, TaskData, TaskStore};

use crate::own_node::OwnNode;
use crate::utils::{chain, run};

#[derive(Debug, Clone, PartialEq, TaskData)]
struct Secret {
    text: String,
}

fn make_certs(dir: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make-test-certs");
    let output = Command::new(script)
        .arg(dir)
        .output()
        .expect("make-test-certs runs");
    assert!(
        output.status.success(),
        "make-test-certs failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The driver's error under a taskrec storage error, as the session builder
/// gave it.
fn session_error(err: &Error) -> &NewSessionError {
    match err {
        Error::Storage { adapter, source } => {
            assert_eq!(*adapter, "cassandra");
            source.downcast_ref::<NewSessionError>().unwrap_or_else(|| {
                panic!(
                    "the source is not the driver's NewSessionError: {}",
                    chain(err)
                )
            })
        }
        other => panic!("expected a storage error, got {}", chain(other)),
    }
}

/// The error the node's connection pool broke with, the first connection's.
fn connection_error(err: &NewSessionError) -> &ConnectionError {
    match err {
        NewSessionError::MetadataError(MetadataError::ConnectionPoolError(
            ConnectionPoolError::Broken {
                last_connection_error,
            },
        )) => last_connection_error,
        other => panic!("expected a broken connection pool, got {other:?}"),
    }
}

/// Whether the connection failed on the server's authentication answer.
fn is_auth_error(err: &ConnectionError) -> bool {
    matches!(
        err,
        ConnectionError::ConnectionSetupRequestError(setup)
            if matches!(setup.error, ConnectionSetupRequestErrorKind::DbError(DbError::AuthenticationError, _))
                || matches!(setup.error, ConnectionSetupRequestErrorKind::MissingAuthentication)
    )
}

/// The TLS libraries this build has.
fn backends() -> Vec<TlsBackend> {
    vec![
        #[cfg(feature = "cassandra-rustls")]
        TlsBackend::Rustls,
        #[cfg(feature = "cassandra-tls")]
        TlsBackend::OpenSsl,
    ]
}

/// Checks that the connection broke on the TLS library's own verdict that
/// no trusted CA signed the node's certificate.
fn assert_untrusted_certificate(backend: TlsBackend, cause: &ConnectionError) {
    let ConnectionError::IoError(io) = cause else {
        panic!("{backend:?}, wrong CA: expected an I/O error, got {cause:?}");
    };
    let inner = io
        .get_ref()
        .unwrap_or_else(|| panic!("{backend:?}, wrong CA: a bare I/O error: {io:?}"));
    match backend {
        #[cfg(feature = "cassandra-rustls")]
        TlsBackend::Rustls => assert!(
            matches!(
                inner.downcast_ref::<rustls::Error>(),
                Some(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::UnknownIssuer
                ))
            ),
            "rustls, wrong CA: {io:?}"
        ),
        #[cfg(feature = "cassandra-tls")]
        TlsBackend::OpenSsl => {
            let ssl = inner
                .downcast_ref::<openssl::ssl::Error>()
                .unwrap_or_else(|| panic!("OpenSSL, wrong CA: not an SSL error: {io:?}"));
            let reasons: Vec<&str> = ssl
                .ssl_error()
                .map(|stack| stack.errors().iter().filter_map(|e| e.reason()).collect())
                .unwrap_or_default();
            assert_eq!(
                reasons,
                ["certificate verify failed"],
                "OpenSSL, wrong CA: {io:?}"
            );
        }
        _ => unreachable!("a backend this test does not know: {backend:?}"),
    }
}

/// The reason of a configuration error, refused before any node was asked.
fn invalid_reason(err: &Error) -> &str {
    match err {
        Error::InvalidConfig { adapter, reason } => {
            assert_eq!(*adapter, "cassandra");
            reason
        }
        other => panic!("expected InvalidConfig, got {}", chain(other)),
    }
}

/// Checks a refusal before connecting: taskrec's words naming the file,
/// then the TLS library's own (rustls's exactly; OpenSSL's contain the words
/// given, among its error codes and source lines).
// A build with one library leaves the other's words unread.
#[cfg_attr(
    not(all(feature = "cassandra-rustls", feature = "cassandra-tls")),
    allow(unused_variables)
)]
fn assert_refused(err: &Error, backend: TlsBackend, what: &str, rustls: &str, openssl: &str) {
    let reason = invalid_reason(err);
    match backend {
        #[cfg(feature = "cassandra-rustls")]
        TlsBackend::Rustls => assert_eq!(reason, format!("{what}: {rustls}")),
        #[cfg(feature = "cassandra-tls")]
        TlsBackend::OpenSsl => assert!(
            reason.starts_with(&format!("{what}: ")) && reason.contains(openssl),
            "OpenSSL: {reason}"
        ),
        _ => unreachable!("a backend this test does not know: {backend:?}"),
    }
}

/// Checks that a plain connection to a node that requires TLS broke on its
/// first request (OPTIONS): the node read a frame that was no TLS record and
/// closed the connection (a reset, as seen here, or a plain close).
fn assert_closed_on_first_request(cause: &ConnectionError) {
    let ConnectionError::ConnectionSetupRequestError(setup) = cause else {
        panic!("plain connection: expected a setup request error, got {cause:?}");
    };
    assert!(
        matches!(setup.request_kind, CqlRequestKind::Options),
        "{setup:?}"
    );
    let ConnectionSetupRequestErrorKind::BrokenConnection(broken) = &setup.error else {
        panic!("plain connection: expected a broken connection, got {setup:?}");
    };
    let closed = matches!(
        broken.downcast_ref::<BrokenConnectionErrorKind>(),
        Some(BrokenConnectionErrorKind::FrameHeaderParseError(
            FrameHeaderParseError::HeaderIoError(io)
        )) if matches!(io.kind(), ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof)
    );
    assert!(closed, "plain connection: {setup:?}");
}

async fn connect(config: CassandraConfig) -> taskrec::Result<CassandraAdapter> {
    CassandraAdapter::connect(config.connect_timeout(Duration::from_secs(5))).await
}

#[test]
fn password_auth_and_tls_let_the_right_client_in_and_refuse_the_rest() {
    run(async {
        let certs = tempfile::tempdir().unwrap();
        make_certs(certs.path());
        let tls_dir = certs.path().to_str().unwrap().to_owned();
        let node =
            OwnNode::start(&[("CASSANDRA_AUTH", "1"), ("CASSANDRA_TLS_DIR", &tls_dir)]).await;
        let ca = certs.path().join("ca.pem");
        let first = backends()[0];
        let base = || {
            CassandraConfig::new([node.address()], "taskrec_secure")
                .create_schema(true)
                .tls(TlsConfig::new(&ca).backend(first))
        };

        // The right password and CA. The readiness probe cannot speak TLS, so
        // the node may still be creating its superuser: try for a while.
        let started = Instant::now();
        loop {
            match connect(base().credentials("cassandra", "cassandra")).await {
                Ok(_) => break,
                Err(_) if started.elapsed() < Duration::from_secs(60) => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => panic!("the right credentials and CA were refused: {}", chain(&e)),
            }
        }
        println!("auth+TLS: connected after {:.1?}", started.elapsed());

        // A wrong password: the server's authentication error is the source.
        let err = connect(base().credentials("cassandra", "not the password"))
            .await
            .unwrap_err();
        let cause = connection_error(session_error(&err));
        assert!(is_auth_error(cause), "wrong password: {cause:?}");
        println!("wrong password: {}", chain(&err));

        // No credentials at all against PasswordAuthenticator.
        let err = connect(base()).await.unwrap_err();
        let cause = connection_error(session_error(&err));
        assert!(is_auth_error(cause), "no credentials: {cause:?}");
        println!("no credentials: {}", chain(&err));

        // No TLS against a node that requires it.
        let plain = CassandraConfig::new([node.address()], "taskrec_secure")
            .credentials("cassandra", "cassandra");
        let err = connect(plain).await.unwrap_err();
        assert_closed_on_first_request(connection_error(session_error(&err)));
        println!("plain connection: {}", chain(&err));

        for backend in backends() {
            tls_checks(backend, &node.address(), certs.path()).await;
        }
    });
}

/// The same checks through one TLS library: the right CA connects, saves
/// and finds; an unrelated CA is refused by the library's verification; a
/// client certificate is presented where configured; bad files are refused
/// before connecting, naming the file.
async fn tls_checks(backend: TlsBackend, address: &str, certs: &Path) {
    let file = |name: &str| certs.join(name);
    let tls = |ca: &str| TlsConfig::new(file(ca)).backend(backend);
    let connect_with = |tls: TlsConfig| {
        connect(
            CassandraConfig::new([address], "taskrec_secure")
                .create_schema(true)
                .credentials("cassandra", "cassandra")
                .tls(tls),
        )
    };

    // The right CA: a task saved and found over the encrypted connection.
    let adapter = connect_with(tls("ca.pem"))
        .await
        .unwrap_or_else(|e| panic!("{backend:?}, the right CA was refused: {}", chain(&e)));
    let store = TaskStore::new(adapter);
    let id = format!("over-{backend:?}");
    let task = Task::new(
        "secure",
        id.as_str(),
        Secret {
            text: format!("over TLS through {backend:?}"),
        },
    )
    .unwrap();
    store.save(&task).await.unwrap();
    assert_eq!(
        store
            .find::<Secret>("secure", &id)
            .await
            .unwrap()
            .map(|t| t.into_data()),
        Some(task.data().clone())
    );
    println!("{backend:?}: saved and found {id}");

    // An unrelated CA: the node's certificate does not verify.
    let err = connect_with(tls("other-ca.pem")).await.unwrap_err();
    assert_untrusted_certificate(backend, connection_error(session_error(&err)));
    println!("{backend:?}, wrong CA: {}", chain(&err));

    // A client certificate is presented where configured (this node does
    // not ask for one, so the connection works either way)...
    let with_cert =
        connect_with(tls("ca.pem").client_certificate(file("server.pem"), file("server.key")))
            .await;
    assert!(
        with_cert.is_ok(),
        "{backend:?}: {}",
        chain(&with_cert.unwrap_err())
    );

    // ...and a key that is not the certificate's is refused before connecting.
    let err = connect_with(tls("ca.pem").client_certificate(file("server.pem"), file("ca.key")))
        .await
        .unwrap_err();
    let key = format!("reading client key {}", file("ca.key").display());
    assert_refused(
        &err,
        backend,
        &key,
        "keys may not be consistent: KeyMismatch",
        "key values mismatch",
    );

    // A key file with no key in it.
    let err = connect_with(tls("ca.pem").client_certificate(file("server.pem"), file("ca.pem")))
        .await
        .unwrap_err();
    let key = format!("reading client key {}", file("ca.pem").display());
    assert_refused(&err, backend, &key, "no private key in it", "PEM lib");

    // A CA file that is not there.
    let err = connect_with(tls("missing.pem")).await.unwrap_err();
    let ca = format!("reading CA file {}", file("missing.pem").display());
    assert_refused(
        &err,
        backend,
        &ca,
        "No such file or directory (os error 2)",
        "no such file",
    );
}
