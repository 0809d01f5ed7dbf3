//! TLS for every outgoing connection the product makes itself: Twitch's Helix and OAuth, the
//! EventSub WebSocket (`wss://eventsub.wss.twitch.tv/ws`), Discord's REST API (serenity's
//! reqwest 0.12 client), stats pages and the nginx control URL when they are `https`. Its
//! configuration is `tls` in `config.ron` ([`TlsConfig`]). The one connection outside it is
//! Discord's gateway: serenity 0.12 opens it with its own TLS (rustls 0.22, compiled-in webpki
//! roots), which takes no configuration.
//!
//! **Invariant:** one rustls [`ClientConfig`] per loaded configuration, built once by
//! [`Tls::new`] (held by `app::Context`), and one trust source for HTTP and WebSocket alike: the
//! system's roots (`rustls-native-certs`: `SSL_CERT_FILE`/`SSL_CERT_DIR` or the distribution's
//! bundle, read once per process) plus `tls.extra_ca_files`. The crypto provider is *ring*
//! (serenity's Discord clients use it already), so a second one (aws-lc-rs) is not linked in.
//!
//! Every reqwest client starts from [`Tls::http_client`] and every WebSocket from
//! [`Tls::websocket`]. The handle is passed explicitly, not kept in a global, so two
//! configurations (two tests in one process) never see each other's roots.

use crate::config::TlsConfig;
use rustls::pki_types::{CertificateDer, TrustAnchor};
use rustls::{ClientConfig, RootCertStore};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use tokio::net::TcpStream;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// What every HTTP request of ours says it is (`User-Agent`).
pub const USER_AGENT: &str = concat!("stream-control/", env!("CARGO_PKG_VERSION"));

/// Why the TLS configuration cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// An extra CA file cannot be used; `reason` says why, for the operator.
    #[error("{}: {reason}", path.display())]
    CaFile { path: PathBuf, reason: String },
    #[error("cannot build the TLS client configuration: {0}")]
    Build(#[from] rustls::Error),
}

/// The certificates of one extra CA file (read as the configuration's check reads it, see
/// `config::read_ca_file`).
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    crate::config::read_ca_file(path).map_err(|e| TlsError::CaFile {
        path: e.path,
        reason: e.reason,
    })
}

/// The system's roots, read once per process (they are the same for every configuration).
fn system_roots() -> &'static [TrustAnchor<'static>] {
    static ROOTS: OnceLock<Vec<TrustAnchor<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            tracing::warn!(%error, "a system root certificate could not be read");
        }
        let mut store = RootCertStore::empty();
        let (_, ignored) = store.add_parsable_certificates(found.certs);
        if ignored > 0 {
            tracing::debug!(ignored, "system root certificates rustls cannot use");
        }
        if store.is_empty() {
            tracing::warn!("no system root certificates found: only tls.extra_ca_files is trusted");
        }
        store.roots
    })
}

/// The one rustls client configuration for `config`: the system's roots plus the extra CA
/// files, *ring*, TLS 1.2 and 1.3, no ALPN (each client sets its own on a copy).
fn client_config(config: &TlsConfig) -> Result<Arc<ClientConfig>, TlsError> {
    install();
    let mut roots = RootCertStore {
        roots: system_roots().to_vec(),
    };
    for path in &config.extra_ca_files {
        for cert in read_ca_file(path)? {
            roots.add(cert).map_err(|e| TlsError::CaFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(client))
}

/// Install *ring* as the process's rustls provider, for a library that builds a rustls 0.23
/// configuration of its own from the default provider. Idempotent.
fn install() {
    // Err means a provider is installed already, which can only be this same one.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The TLS side of every outgoing connection: a cheap clone of the one [`ClientConfig`].
#[derive(Clone, Debug)]
pub struct Tls {
    config: Arc<ClientConfig>,
}

impl Tls {
    /// Build the configuration once, from the loaded `config.ron`.
    pub fn new(config: &TlsConfig) -> Result<Tls, TlsError> {
        client_config(config).map(|config| Tls { config })
    }

    /// The system's roots only (no `tls` section): for tools and tests without a
    /// configuration. Built once per process.
    pub fn system() -> Tls {
        static SYSTEM: OnceLock<Tls> = OnceLock::new();
        SYSTEM
            .get_or_init(|| {
                // Without extra files nothing is read that could fail, and *ring* supports the
                // safe default versions.
                Tls::new(&TlsConfig::default()).expect("system roots with ring")
            })
            .clone()
    }

    /// The rustls configuration every client here uses.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        Arc::clone(&self.config)
    }

    /// A reqwest client builder on this configuration (HTTP/2 offered by ALPN, as reqwest
    /// would). Callers name themselves with [`USER_AGENT`].
    pub fn http_client(&self) -> reqwest::ClientBuilder {
        let mut config = (*self.config).clone();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        reqwest::Client::builder().tls_backend_preconfigured(config)
    }

    /// A builder for serenity's HTTP client (reqwest 0.12, the version serenity is built on) on
    /// this configuration (HTTP/1.1: serenity's reqwest has no HTTP/2). The same rustls 0.23,
    /// so Discord's API trusts the same roots as everything else.
    pub fn discord_http_client(&self) -> reqwest_discord::ClientBuilder {
        let mut config = (*self.config).clone();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        reqwest_discord::Client::builder().use_preconfigured_tls(config)
    }

    /// Open a WebSocket, `ws://` or `wss://` (this configuration, no ALPN).
    pub async fn websocket(
        &self,
        url: &str,
    ) -> Result<WebSocketStream<MaybeTlsStream<TcpStream>>, tokio_tungstenite::tungstenite::Error>
    {
        self.open_websocket(url, None, false).await
    }

    /// [`websocket`](Self::websocket) with tungstenite's limits (`max_message_size`,
    /// `max_frame_size`) set for a peer that is not ours to trust with tungstenite's defaults
    /// (64 MiB messages), and Nagle's algorithm off (a ping or pong is one small frame that
    /// must not wait for the ACK of the one before): Kick's Pusher socket (`kick::pusher`).
    pub async fn websocket_with_config(
        &self,
        url: &str,
        config: tokio_tungstenite::tungstenite::protocol::WebSocketConfig,
    ) -> Result<WebSocketStream<MaybeTlsStream<TcpStream>>, tokio_tungstenite::tungstenite::Error>
    {
        self.open_websocket(url, Some(config), true).await
    }

    async fn open_websocket(
        &self,
        url: &str,
        config: Option<tokio_tungstenite::tungstenite::protocol::WebSocketConfig>,
        disable_nagle: bool,
    ) -> Result<WebSocketStream<MaybeTlsStream<TcpStream>>, tokio_tungstenite::tungstenite::Error>
    {
        let connector = Connector::Rustls(self.client_config());
        tokio_tungstenite::connect_async_tls_with_config(
            url,
            config,
            disable_nagle,
            Some(connector),
        )
        .await
        .map(|(socket, _)| socket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::{PrivateKeyDer, ServerName};
    use rustls::{ClientConnection, ServerConfig, ServerConnection};
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    /// The first three bytes a client sends to a silent 127.0.0.1 listener: a TLS client starts
    /// with a handshake record (0x16, version 3.x), a plain WebSocket with its request line.
    /// `connect` gets the port and must not finish (the listener never answers).
    async fn first_bytes<F, E>(connect: impl FnOnce(u16) -> F) -> Vec<u8>
    where
        F: Future<Output = Result<(), E>>,
        E: std::fmt::Debug,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accept = async {
            let (mut socket, _) = listener.accept().await.expect("a connection");
            let mut bytes = vec![0; 3];
            socket.read_exact(&mut bytes).await.expect("three bytes");
            bytes
        };
        tokio::select! {
            bytes = accept => bytes,
            result = connect(port) => panic!("cannot finish against a silent peer: {result:?}"),
        }
    }

    const CLIENT_HELLO: [u8; 2] = [0x16, 0x03];

    #[tokio::test]
    async fn a_wss_url_opens_a_tls_connection() {
        let bytes = first_bytes(|port| async move {
            Tls::system()
                .websocket(&format!("wss://127.0.0.1:{port}/ws"))
                .await
                .map(drop)
        })
        .await;
        assert_eq!(bytes[..2], CLIENT_HELLO, "{bytes:?}");
    }

    #[tokio::test]
    async fn https_clients_open_a_tls_connection() {
        let client = Tls::system().http_client().build().expect("a client");
        let bytes = first_bytes(|port| async move {
            client
                .get(format!("https://127.0.0.1:{port}/stat"))
                .send()
                .await
                .map(drop)
        })
        .await;
        assert_eq!(bytes[..2], CLIENT_HELLO, "{bytes:?}");
    }

    #[tokio::test]
    async fn ws_urls_stay_plain() {
        let bytes = first_bytes(|port| async move {
            Tls::system()
                .websocket(&format!("ws://127.0.0.1:{port}/"))
                .await
                .map(drop)
        })
        .await;
        assert_eq!(bytes, b"GET");
    }

    /// A CA (PEM) and a server configuration with a certificate it signed for 127.0.0.1.
    fn test_ca() -> (String, Arc<ServerConfig>) {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "stream-control unit test CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let server =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(
                    vec![leaf.der().clone()],
                    PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
                )
                .unwrap();
        (ca_cert.pem(), Arc::new(server))
    }

    /// A whole handshake in memory between `client` (to 127.0.0.1) and `server`.
    fn handshake(
        client: Arc<ClientConfig>,
        server: Arc<ServerConfig>,
    ) -> Result<(), rustls::Error> {
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let mut client = ClientConnection::new(client, name)?;
        let mut server = ServerConnection::new(server)?;
        for _ in 0..10 {
            let mut bytes = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut bytes).unwrap();
            }
            server.read_tls(&mut bytes.as_slice()).unwrap();
            server.process_new_packets()?;
            let mut bytes = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut bytes).unwrap();
            }
            client.read_tls(&mut bytes.as_slice()).unwrap();
            client.process_new_packets()?;
            if !client.is_handshaking() && !server.is_handshaking() {
                return Ok(());
            }
        }
        panic!("the handshake did not finish");
    }

    fn write(path: &Path, bytes: &[u8]) {
        use crate::state_store::{Sensitivity, write_atomic};
        write_atomic(path, bytes, Sensitivity::Public).unwrap();
    }

    fn with_files(files: &[&Path]) -> TlsConfig {
        TlsConfig {
            extra_ca_files: files.iter().map(|p| p.to_path_buf()).collect(),
        }
    }

    #[test]
    fn the_one_client_config_trusts_the_extra_ca_files_and_the_system_roots() {
        let (ca_pem, server) = test_ca();
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        write(&ca_file, ca_pem.as_bytes());

        let tls = Tls::new(&with_files(&[&ca_file])).unwrap();
        handshake(tls.client_config(), server.clone()).expect("the extra CA is trusted");
        // The HTTP and WebSocket clients are handed this same configuration.
        assert!(Arc::ptr_eq(&tls.client_config(), &tls.config));

        let refused = handshake(Tls::system().client_config(), server).unwrap_err();
        assert_eq!(
            refused,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
        );
        // The system's roots are still there beside the extra one.
        let roots = system_roots().len();
        let mut config = RootCertStore {
            roots: system_roots().to_vec(),
        };
        config.add_parsable_certificates(read_ca_file(&ca_file).unwrap());
        assert_eq!(config.len(), roots + 1);
    }

    #[test]
    fn unusable_ca_files_are_named_with_the_reason() {
        let (ca_pem, _) = test_ca();
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &[u8]| {
            let path = dir.path().join(name);
            write(&path, text);
            path
        };
        let two = write("two.pem", format!("{ca_pem}{ca_pem}").as_bytes());
        assert_eq!(read_ca_file(&two).unwrap().len(), 2);

        let missing = dir.path().join("missing.pem");
        let directory = dir.path().to_path_buf();
        let der = write("ca.der", &[0x30, 0x82, 0x01, 0x0a, 0x02]);
        let key = write(
            "key.pem",
            b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
        );
        let garbage = write(
            "garbage.pem",
            b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
        );
        let broken = write(
            "broken.pem",
            b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        );
        for (path, reason) in [
            (&missing, "cannot read it"),
            (&directory, "not a regular file"),
            (&der, "not a PEM file"),
            (&key, "no certificate in it"),
            (&garbage, "cannot be a certificate authority"),
            (&broken, "not a valid PEM file"),
        ] {
            let error = read_ca_file(path).unwrap_err().to_string();
            assert!(
                error.starts_with(&path.display().to_string()) && error.contains(reason),
                "{error}"
            );
            let error = Tls::new(&with_files(&[&two, path]))
                .unwrap_err()
                .to_string();
            assert!(error.contains(reason), "{error}");
        }
    }
}
