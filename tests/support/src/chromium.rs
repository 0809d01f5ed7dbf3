//! Headless Chromium driven over the DevTools protocol (a WebSocket, spoken with
//! tokio-tungstenite): open a page, evaluate JavaScript in it, wait for a condition, take a
//! screenshot into `target/test-artefacts/`. A fresh profile per browser; only 127.0.0.1.
//!
//! A test that needs Chromium fails loudly when it is missing (`tests/run.sh` installs it).

#![allow(dead_code)]

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long Chromium may take to start, and a condition to become true.
const DEADLINE: Duration = Duration::from_secs(30);

/// The flags every run uses: headless, no sandbox (containers), no GPU, nothing that talks to
/// the network on its own; audio may play without a click (as in OBS) but is muted.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
    "--window-size=1280,800",
];

fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(path);
    }
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let path = dir.join(name);
            if path.is_file() {
                return path;
            }
        }
    }
    panic!(
        "this test needs Chromium and none was found on PATH (chromium, chromium-browser, \
         google-chrome) or in $CHROMIUM: apt-get install chromium (tests/run.sh installs it)"
    );
}

/// A running headless Chromium.
pub struct Chromium {
    child: tokio::process::Child,
    _profile: tempfile::TempDir,
    socket: Socket,
    next_id: u64,
}

/// An open page (a DevTools session).
#[derive(Debug, Clone)]
pub struct Page {
    session: String,
}

impl Chromium {
    pub async fn launch() -> Chromium {
        let profile = tempfile::tempdir().unwrap();
        let mut command = tokio::process::Command::new(binary());
        command
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            // Its own process group, so the helpers it starts go with it.
            .process_group(0);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start Chromium: {e}"));
        // Chromium writes the port it chose, then the browser's DevTools path.
        let file = profile.path().join("DevToolsActivePort");
        let deadline = tokio::time::Instant::now() + DEADLINE;
        let (port, path) = loop {
            if let Ok(text) = std::fs::read_to_string(&file) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    break (port.trim().to_string(), path.trim().to_string());
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "Chromium did not open its DevTools port within {DEADLINE:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let url = format!("ws://127.0.0.1:{port}{path}");
        let (socket, _) = tokio_tungstenite::connect_async(&url)
            .await
            .unwrap_or_else(|e| panic!("DevTools at {url}: {e}"));
        Chromium {
            child,
            _profile: profile,
            socket,
            next_id: 1,
        }
    }

    /// One DevTools call; events that arrive meanwhile are skipped.
    pub async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = session.into();
        }
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
        loop {
            let frame = tokio::time::timeout(DEADLINE, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("no answer to {method}"))
                .expect("DevTools closed")
                .expect("a DevTools frame");
            let Message::Text(text) = frame else { continue };
            let answer: Value = serde_json::from_str(&text).unwrap();
            if answer["id"] == id {
                if let Some(error) = answer.get("error") {
                    panic!("{method}: {error}");
                }
                return answer["result"].clone();
            }
        }
    }

    /// Open `url` in a new tab of `width`×`height` CSS pixels.
    pub async fn open(&mut self, url: &str, width: u32, height: u32) -> Page {
        let target = self
            .call(None, "Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let attached = self
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        let page = Page {
            session: attached["sessionId"].as_str().unwrap().to_string(),
        };
        self.resize(&page, width, height).await;
        self.call(Some(&page.session), "Page.navigate", json!({"url": url}))
            .await;
        page
    }

    /// Emulate a screen of `width`×`height` CSS pixels (a phone, a 1080p browser source).
    pub async fn resize(&mut self, page: &Page, width: u32, height: u32) {
        self.call(
            Some(&page.session),
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}),
        )
        .await;
    }

    /// The value of a JavaScript expression in the page (`null` when it throws).
    pub async fn eval(&mut self, page: &Page, expression: &str) -> Value {
        let result = self
            .call(
                Some(&page.session),
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        if result.get("exceptionDetails").is_some() {
            return Value::Null;
        }
        result["result"]["value"].clone()
    }

    /// Poll `expression` until it is truthy (not null, false, 0 or ""); returns its value.
    pub async fn wait_for(&mut self, page: &Page, expression: &str) -> Value {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let value = self.eval(page, expression).await;
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return value;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "still not true after {DEADLINE:?}: {expression} (last: {value})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A PNG of the page, saved as `target/test-artefacts/<name>.png`.
    pub async fn screenshot(&mut self, page: &Page, name: &str) -> PathBuf {
        let shot = self
            .call(
                Some(&page.session),
                "Page.captureScreenshot",
                json!({"format": "png"}),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artefacts");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Close the browser and wait for it.
    pub async fn close(mut self) {
        // The browser closes the socket instead of answering.
        let close = json!({"id": self.next_id, "method": "Browser.close", "params": {}});
        let _ = self
            .socket
            .send(Message::Text(close.to_string().into()))
            .await;
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            self.kill_group();
        }
    }

    fn kill_group(&mut self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: signals the process group this browser was started in, nothing else.
            unsafe {
                libc::kill(-(pid as i32), libc::SIGKILL);
            }
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // A test that failed half-way: the browser and its helpers go too.
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill_group();
        }
    }
}
