//! Password authentication and TLS, on a node of the test's own started with
//! `CASSANDRA_AUTH=1` (PasswordAuthenticator) and client encryption required,
//! its certificate made by `scripts/make-test-certs`: the right credentials
//! and CA work; a wrong password, no password, an unrelated CA and a plain
//! connection are each refused with the driver's error as the source.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use scylla::errors::{
    ConnectionError, ConnectionPoolError, ConnectionSetupRequestErrorKind, DbError, MetadataError,
    NewSessionError,
};
use taskrec::cassandra::{CassandraAdapter, CassandraConfig, TlsConfig};
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
        let base = || {
            CassandraConfig::new([node.address()], "taskrec_secure")
                .create_schema(true)
                .tls(TlsConfig::new(&ca))
        };

        // The right password and CA. The readiness probe cannot speak TLS, so
        // the node may still be creating its superuser: try for a while.
        let started = Instant::now();
        let adapter = loop {
            match connect(base().credentials("cassandra", "cassandra")).await {
                Ok(adapter) => break adapter,
                Err(_) if started.elapsed() < Duration::from_secs(60) => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => panic!("the right credentials and CA were refused: {}", chain(&e)),
            }
        };
        let store = TaskStore::new(adapter);
        let task = Task::new(
            "secure",
            "s1",
            Secret {
                text: "over TLS".into(),
            },
        )
        .unwrap();
        store.save(&task).await.unwrap();
        assert_eq!(
            store
                .find::<Secret>("secure", "s1")
                .await
                .unwrap()
                .map(|t| t.into_data()),
            Some(task.data().clone())
        );
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

        // An unrelated CA: the node's certificate does not verify.
        let err = connect(
            base()
                .credentials("cassandra", "cassandra")
                .tls(TlsConfig::new(certs.path().join("other-ca.pem"))),
        )
        .await
        .unwrap_err();
        let cause = connection_error(session_error(&err));
        assert!(
            matches!(cause, ConnectionError::IoError(_))
                && chain(&err).contains("certificate verify failed"),
            "wrong CA: {cause:?}"
        );
        println!("wrong CA: {}", chain(&err));

        // No TLS against a node that requires it.
        let plain = CassandraConfig::new([node.address()], "taskrec_secure")
            .credentials("cassandra", "cassandra");
        let err = connect(plain).await.unwrap_err();
        session_error(&err);
        println!("plain connection: {}", chain(&err));

        // A client certificate is presented where configured (this node does
        // not ask for one, so the connection works either way)...
        let with_cert = connect(base().credentials("cassandra", "cassandra").tls(
            TlsConfig::new(&ca).client_certificate(
                certs.path().join("server.pem"),
                certs.path().join("server.key"),
            ),
        ))
        .await;
        assert!(with_cert.is_ok(), "{}", chain(&with_cert.unwrap_err()));
        // ...and a key that is not the certificate's is refused before connecting.
        let err =
            connect(base().credentials("cassandra", "cassandra").tls(
                TlsConfig::new(&ca).client_certificate(
                    certs.path().join("server.pem"),
                    certs.path().join("ca.key"),
                ),
            ))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidConfig { ref reason, .. } if reason.contains("key values mismatch")),
            "{}",
            chain(&err)
        );

        // A CA file that is not there: refused before connecting.
        let err = connect(
            base()
                .credentials("cassandra", "cassandra")
                .tls(TlsConfig::new(certs.path().join("missing.pem"))),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, Error::InvalidConfig { .. }),
            "{}",
            chain(&err)
        );
    });
}
