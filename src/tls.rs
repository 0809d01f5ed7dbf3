//! TLS for every outgoing connection the product makes itself: Twitch's Helix and OAuth, the
//! EventSub WebSocket (`wss://eventsub.wss.twitch.tv/ws`), stats pages and the nginx control URL
//! when they are `https`. One rustls crypto provider for the whole process, *ring* (serenity's
//! Discord clients use it already), so a second one (aws-lc-rs) is not linked in.
//!
//! Every reqwest client starts from [`http_client`] and every WebSocket from [`websocket`]:
//! both install the provider first, since rustls refuses to guess one when none is installed.

use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Install *ring* as the process's rustls provider. Idempotent: a second call finds it
/// installed and does nothing.
fn install() {
    // Err means a provider is installed already, which can only be this same one.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A reqwest client builder whose TLS is ready (system roots, *ring*).
pub fn http_client() -> reqwest::ClientBuilder {
    install();
    reqwest::Client::builder()
}

/// A builder for serenity's HTTP client (reqwest 0.12, the version serenity is built on), TLS
/// ready (rustls, *ring*).
pub fn discord_http_client() -> reqwest_discord::ClientBuilder {
    install();
    reqwest_discord::Client::builder().use_rustls_tls()
}

/// Open a WebSocket, `ws://` or `wss://` (system roots, *ring*).
pub async fn websocket(
    url: &str,
) -> Result<WebSocketStream<MaybeTlsStream<TcpStream>>, tokio_tungstenite::tungstenite::Error> {
    install();
    tokio_tungstenite::connect_async(url)
        .await
        .map(|(socket, _)| socket)
}

#[cfg(test)]
mod tests {
    use super::*;
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
            websocket(&format!("wss://127.0.0.1:{port}/ws"))
                .await
                .map(drop)
        })
        .await;
        assert_eq!(bytes[..2], CLIENT_HELLO, "{bytes:?}");
    }

    #[tokio::test]
    async fn https_clients_open_a_tls_connection() {
        let client = http_client().build().expect("a client");
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
            websocket(&format!("ws://127.0.0.1:{port}/"))
                .await
                .map(drop)
        })
        .await;
        assert_eq!(bytes, b"GET");
    }
}
