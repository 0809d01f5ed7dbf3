//! A certificate authority made at test time (rcgen, *ring*), a server certificate it signed
//! for `127.0.0.1` (IP SAN) and `localhost`, its PEM in a temporary file for
//! `tls.extra_ca_files`, and the server side of TLS for the fakes: a [`TlsAcceptor`] and
//! [`TlsListener`], an `axum::serve` listener that runs each handshake in its own task.
//!
//! `fake_twitch::test_ca` and `fake_discord::test_ca` name this module too.

#![allow(dead_code)]

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

/// A test CA, one server certificate it signed, and the CA's PEM file.
pub struct TestCa {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    ca_file: PathBuf,
    server: Arc<ServerConfig>,
    issuer: Issuer<'static, KeyPair>,
    ca_der: CertificateDer<'static>,
    _dir: tempfile::TempDir,
}

impl TestCa {
    /// A fresh CA (its own key) and a server certificate for `127.0.0.1` and `localhost`.
    // Each call makes new keys and a temporary directory: not a `Default`.
    #[allow(clippy::new_without_default)]
    pub fn new() -> TestCa {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "stream-control test CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca, ca_key);

        let ca_der = CertificateDer::from(ca_cert.der().to_vec());
        // rcgen makes "127.0.0.1" an IP address SAN and "localhost" a DNS name SAN.
        let server = server_config(&issuer, &ca_der, &["127.0.0.1", "localhost"]);

        let dir = tempfile::tempdir().expect("temporary directory");
        let ca_file = dir.path().join("test-ca.pem");
        let ca_pem = ca_cert.pem();
        std::fs::write(&ca_file, &ca_pem).expect("write the CA file");
        TestCa {
            ca_pem,
            ca_file,
            server,
            issuer,
            ca_der,
            _dir: dir,
        }
    }

    /// The CA's PEM file, for `tls.extra_ca_files`.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// `tls: (extra_ca_files: ["<ca file>"])`, for a test's config.ron.
    pub fn config_entry(&self) -> String {
        format!(
            "tls: (extra_ca_files: [{:?}])",
            self.ca_file.display().to_string()
        )
    }

    /// The server side of TLS with the CA-signed certificate (HTTP/1.1 only: no ALPN).
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(Arc::clone(&self.server))
    }

    /// The server side of TLS with a new certificate this CA signs for `names` (DNS names or
    /// IP addresses), e.g. `discord.com` for a fake reached through a proxy.
    pub fn acceptor_for(&self, names: &[&str]) -> TlsAcceptor {
        TlsAcceptor::from(server_config(&self.issuer, &self.ca_der, names))
    }
}

/// A server configuration (*ring*) with a certificate for `names` signed by `issuer`.
fn server_config(
    issuer: &Issuer<'static, KeyPair>,
    ca_der: &CertificateDer<'static>,
    names: &[&str],
) -> Arc<ServerConfig> {
    let key = KeyPair::generate().expect("server key");
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut leaf = CertificateParams::new(names.clone()).expect("server parameters");
    leaf.distinguished_name.push(DnType::CommonName, &names[0]);
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf.signed_by(&key, issuer).expect("server certificate");
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone(), ca_der.clone()],
            PrivateKeyDer::try_from(key.serialize_der()).expect("server key DER"),
        )
        .expect("server configuration");
    Arc::new(server)
}

/// An `axum::serve` listener on `127.0.0.1:0` that speaks TLS: accepted connections handshake
/// in their own tasks (a slow or refusing client holds up no one), finished ones are handed to
/// axum, failed ones are dropped and their error kept ([`TlsListener::handshake_errors`]).
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    addr: SocketAddr,
    errors: Arc<Mutex<Vec<String>>>,
    accepting: AbortOnDrop,
}

/// A task aborted when this is dropped (a fake's server ends with its last handle).
pub struct AbortOnDrop(pub JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl TlsListener {
    pub async fn bind(acceptor: TlsAcceptor) -> TlsListener {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let (tx, ready) = mpsc::channel(16);
        let errors = Arc::new(Mutex::new(Vec::new()));
        let failed = Arc::clone(&errors);
        let accepting = tokio::spawn(async move {
            loop {
                let Ok((tcp, peer)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                let failed = Arc::clone(&failed);
                tokio::spawn(async move {
                    match acceptor.accept(tcp).await {
                        Ok(tls) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Err(error) => failed
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(error.to_string()),
                    }
                });
            }
        });
        TlsListener {
            ready,
            addr,
            errors,
            accepting: AbortOnDrop(accepting),
        }
    }

    /// The errors of the handshakes that failed so far (shared: stays valid after `serve`).
    pub fn handshake_errors(&self) -> Arc<Mutex<Vec<String>>> {
        Arc::clone(&self.errors)
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accepting task only ends when the listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

/// A fake's HTTP server: where it listens, its scheme, its failed TLS handshakes (always empty
/// over plain HTTP), and its task.
pub struct Served {
    pub addr: SocketAddr,
    /// `http`, or `https` with TLS.
    pub scheme: &'static str,
    pub handshake_errors: Arc<Mutex<Vec<String>>>,
    pub task: AbortOnDrop,
}

/// Serve `app` on `127.0.0.1:0`, over TLS when `tls` holds a certificate.
pub async fn serve(app: axum::Router, tls: Option<TlsAcceptor>) -> Served {
    match tls {
        None => {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind 127.0.0.1:0");
            let addr = listener.local_addr().expect("local address");
            let task = tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            Served {
                addr,
                scheme: "http",
                handshake_errors: Arc::default(),
                task: AbortOnDrop(task),
            }
        }
        Some(acceptor) => {
            let listener = TlsListener::bind(acceptor).await;
            let addr = axum::serve::Listener::local_addr(&listener).expect("local address");
            let handshake_errors = listener.handshake_errors();
            let task = tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            Served {
                addr,
                scheme: "https",
                handshake_errors,
                task: AbortOnDrop(task),
            }
        }
    }
}
