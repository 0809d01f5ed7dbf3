//! Reads obs-websocket's `Hello` without identifying, to learn its version when obws cannot
//! talk to it (obws 0.15 fails to parse the answers of OBS before 30.2).

use futures_util::StreamExt;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// obs-websocket's address (`ws://`: it has no TLS of its own), an IPv6 host in brackets.
pub fn websocket_url(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("ws://[{host}]:{port}")
    } else {
        format!("ws://{host}:{port}")
    }
}

/// The `obsWebSocketVersion` from the server's Hello, if it says one within `timeout`.
pub async fn websocket_version(
    tls: &crate::tls::Tls,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Option<String> {
    let url = websocket_url(host, port);
    let probe = async {
        let mut socket = tls.websocket(&url).await.ok()?;
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Text(text) = message {
                let hello: serde_json::Value = serde_json::from_str(text.as_str()).ok()?;
                let _ = socket.close(None).await;
                return hello["d"]["obsWebSocketVersion"]
                    .as_str()
                    .map(str::to_string);
            }
        }
        None
    };
    tokio::time::timeout(timeout, probe).await.ok().flatten()
}
