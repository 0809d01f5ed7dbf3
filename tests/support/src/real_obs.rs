//! A real OBS Studio for tests: Debian 12's `obs-studio` (29.0.2 with obs-websocket 5.1.0) under
//! its own Xvfb, with a generated profile and scene collection (LIVE, LOW, BRB, OFFLINE,
//! Starting; a custom RTMP service pointing at the tests' nginx-rtmp when asked), the WebSocket
//! server on a free port with a password. Each program runs in its own process group and is
//! stopped by it. Needs the Debian packages obs-studio and xvfb (`tests/run.sh` installs them);
//! without them the tests that use this fail loudly.
//!
//! Facts this relies on: obs-websocket 5.1 reads its settings from `global.ini`'s
//! `[OBSWebSocket]` section and has no bind-address setting, so `--websocket_ipv4_only` (the
//! tests connect to 127.0.0.1 only); OBS tries to fetch service lists at start and fails
//! harmlessly offline; the WebSocket answers about a second after the spawn;
//! `--multi --minimize-to-tray --disable-shutdown-check` keep dialogs away (also after a
//! SIGKILL). A second client ([`SceneWatcher`]) sees OBS's own events.

#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// The scenes of the generated collection, top of the dock first.
pub const SCENES: [&str; 5] = ["LIVE", "LOW", "BRB", "OFFLINE", "Starting"];
/// How long OBS gets to open its WebSocket (about a second on an idle machine).
const READY_WITHIN: Duration = Duration::from_secs(30);

fn require(program: &str) -> PathBuf {
    crate::nginx::require_program(program, "obs-studio and xvfb")
}

/// A running OBS (and its X server).
pub struct RealObs {
    dir: tempfile::TempDir,
    xvfb: Child,
    display: u32,
    obs: Option<Child>,
    obs_program: PathBuf,
    pub port: u16,
    pub password: String,
}

impl RealObs {
    /// Start Xvfb and OBS; `ingest` is the RTMP server URL the stream output goes to (the key
    /// is `obs`). Returns once the WebSocket accepts connections.
    pub fn start(ingest: Option<&str>) -> RealObs {
        let xvfb_program = require("Xvfb");
        let obs_program = require("obs");
        let dir = tempfile::tempdir().unwrap();
        let port = crate::nginx::free_port();
        // The bot's tests read OBS_PASSWORD from the fake secrets.
        let password = crate::secret("OBS_PASSWORD");
        write_config(dir.path(), port, &password, ingest);
        let (xvfb, display) = start_xvfb(&xvfb_program, dir.path());
        let mut obs = RealObs {
            dir,
            xvfb,
            display,
            obs: None,
            obs_program,
            port,
            password,
        };
        obs.launch();
        obs
    }

    /// OBS's own log (stdout and stderr), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("obs.log")).unwrap_or_default()
    }

    fn launch(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("obs.log")).unwrap();
        let home = self.dir.path().join("home");
        // Line-buffered, so the log is complete when a test reads it.
        let child = Command::new("stdbuf")
            .arg("-oL")
            .arg("-eL")
            .arg(&self.obs_program)
            .args([
                "--multi",
                "--minimize-to-tray",
                "--disable-shutdown-check",
                "--websocket_ipv4_only",
            ])
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("DISPLAY", format!(":{}", self.display))
            .env_remove("WAYLAND_DISPLAY")
            .current_dir(&home)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("start obs");
        self.obs = Some(child);
        let deadline = Instant::now() + READY_WITHIN;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(Ok(Some(status))) = self.obs.as_mut().map(Child::try_wait) {
                panic!("OBS exited with {status}:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "OBS's WebSocket did not open within {READY_WITHIN:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL OBS's process group and reap it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.obs.take() {
            kill_group(&child, libc::SIGKILL);
            let _ = child.wait();
        }
    }

    /// Start OBS again with the same profile, scenes and port.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }
}

impl Drop for RealObs {
    fn drop(&mut self) {
        self.kill();
        // SIGTERM: Xvfb removes its lock file and socket (after SIGKILL they would stay and
        // take the display number).
        kill_group(&self.xvfb, libc::SIGTERM);
        let _ = self.xvfb.wait();
        let _ = std::fs::remove_file(format!("/tmp/.X{}-lock", self.display));
        let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{}", self.display));
    }
}

/// Signal the child's whole process group (it leads one: `process_group(0)`).
fn kill_group(child: &Child, signal: i32) {
    let group = i32::try_from(child.id()).expect("a pid");
    // SAFETY: kill(2) with a negative pid signals that process group; no memory is involved.
    unsafe {
        libc::kill(-group, signal);
    }
}

/// Xvfb on the first free display from 90 on, in its own process group.
fn start_xvfb(program: &Path, dir: &Path) -> (Child, u32) {
    for display in 90..190 {
        let lock = PathBuf::from(format!("/tmp/.X{display}-lock"));
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{display}"));
        if lock.exists() || socket.exists() {
            continue;
        }
        let log = std::fs::File::create(dir.join("xvfb.log")).unwrap();
        let mut child = Command::new(program)
            .args([
                &format!(":{display}"),
                "-screen",
                "0",
                "640x360x24",
                "-nolisten",
                "tcp",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("start Xvfb");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if socket.exists() {
                return (child, display);
            }
            if let Ok(Some(_)) = child.try_wait() {
                // Another test took this display in between: try the next.
                break;
            }
            assert!(Instant::now() < deadline, "Xvfb :{display} did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("no free X display between :90 and :189");
}

/// `global.ini` (no first-run wizard, the profile and collection, the WebSocket server), the
/// profile (a small, cheap video; x264 ultrafast; the custom RTMP service) and the scenes.
fn write_config(dir: &Path, port: u16, password: &str, ingest: Option<&str>) {
    let config = dir.join("home/.config/obs-studio");
    let profile = config.join("basic/profiles/test");
    let scenes = config.join("basic/scenes");
    std::fs::create_dir_all(&profile).unwrap();
    std::fs::create_dir_all(&scenes).unwrap();
    std::fs::write(
        config.join("global.ini"),
        format!(
            "[General]\nFirstRun=false\nLastVersion=486539266\nEnableAutoUpdates=false\nConfirmOnExit=false\n\n\
             [Basic]\nProfile=test\nProfileDir=test\nSceneCollection=test\nSceneCollectionFile=test\n\n\
             [OBSWebSocket]\nFirstLoad=false\nServerEnabled=true\nServerPort={port}\n\
             AlertsEnabled=false\nAuthRequired=true\nServerPassword={password}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        profile.join("basic.ini"),
        "[General]\nName=test\n\n\
         [Video]\nBaseCX=320\nBaseCY=180\nOutputCX=320\nOutputCY=180\nFPSType=1\nFPSInt=10\n\n\
         [Output]\nMode=Simple\n\n\
         [SimpleOutput]\nStreamEncoder=x264\nVBitrate=300\nABitrate=64\nPreset=ultrafast\n",
    )
    .unwrap();
    if let Some(ingest) = ingest {
        let service = json!({
            "type": "rtmp_custom",
            "settings": { "server": ingest, "key": "obs", "use_auth": false, "bwtest": false },
        });
        std::fs::write(profile.join("service.json"), service.to_string()).unwrap();
    }
    let scene = |name: &str| {
        json!({
            "id": "scene", "versioned_id": "scene", "name": name, "uuid": "",
            "settings": { "items": [], "id_counter": 0, "custom_size": false },
            "mixers": 0, "sync": 0, "flags": 0, "volume": 1.0, "balance": 0.5, "enabled": true,
            "muted": false, "hotkeys": {}, "private_settings": {},
        })
    };
    let collection = json!({
        "name": "test",
        "current_scene": "LIVE",
        "current_program_scene": "LIVE",
        "scene_order": SCENES.iter().map(|n| json!({ "name": n })).collect::<Vec<_>>(),
        "sources": SCENES.iter().map(|n| scene(n)).collect::<Vec<_>>(),
        "groups": [],
        "transitions": [],
        "current_transition": "Cut",
        "transition_duration": 0,
        "quick_transitions": [],
        "modules": {},
    });
    std::fs::write(scenes.join("test.json"), collection.to_string()).unwrap();
}

/// A second WebSocket client that records OBS's `CurrentProgramSceneChanged` events: what OBS
/// itself says it shows, independent of the bot.
pub struct SceneWatcher {
    scenes: tokio::sync::mpsc::UnboundedReceiver<String>,
    task: tokio::task::JoinHandle<()>,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A client of our own, identified with `password`, subscribed to `subscriptions`
/// (protocol.md's `EventSubscription` bits).
async fn identified(port: u16, password: &str, subscriptions: u64) -> Socket {
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}"))
        .await
        .expect("connect to OBS");
    let hello = next_json(&mut socket).await;
    let auth = &hello["d"]["authentication"];
    let string = stream_control::demo::obs_sim::auth_string(
        password,
        auth["salt"].as_str().unwrap(),
        auth["challenge"].as_str().unwrap(),
    );
    let identify = json!({ "op": 1, "d": {
        "rpcVersion": 1, "authentication": string, "eventSubscriptions": subscriptions } });
    socket
        .send(Message::text(identify.to_string()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut socket).await["op"], 2, "identified");
    socket
}

/// Send one request to OBS from a client of our own (no events) and return its
/// RequestResponse `d` (`requestStatus`, `responseData`): to set OBS up, or to check what it
/// did, independent of the bot.
pub async fn request(obs: &RealObs, request_type: &str, data: Value) -> Value {
    let mut socket = identified(obs.port, &obs.password, 0).await;
    let message = json!({ "op": 6, "d": {
        "requestType": request_type, "requestId": "test", "requestData": data } });
    socket
        .send(Message::text(message.to_string()))
        .await
        .unwrap();
    loop {
        let answer = next_json(&mut socket).await;
        if answer["op"] == 7 {
            return answer["d"].clone();
        }
    }
}

impl SceneWatcher {
    pub async fn connect(port: u16, password: &str) -> SceneWatcher {
        // Scenes events only (EventSubscription::Scenes = 1 << 2).
        let mut socket = identified(port, password, 4).await;
        let (tx, scenes) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Some(Ok(Message::Text(text))) = socket.next().await {
                let Ok(message) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                if message["d"]["eventType"] == "CurrentProgramSceneChanged" {
                    let scene = message["d"]["eventData"]["sceneName"]
                        .as_str()
                        .unwrap_or("");
                    if tx.send(scene.to_string()).is_err() {
                        return;
                    }
                }
            }
        });
        SceneWatcher { scenes, task }
    }

    /// The next scene OBS switched to, within `within`.
    pub async fn next(&mut self, within: Duration) -> Option<String> {
        tokio::time::timeout(within, self.scenes.recv())
            .await
            .ok()
            .flatten()
    }

    /// Every switch seen so far and not yet taken.
    pub fn taken(&mut self) -> Vec<String> {
        let mut seen = Vec::new();
        while let Ok(scene) = self.scenes.try_recv() {
            seen.push(scene);
        }
        seen
    }
}

impl Drop for SceneWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn next_json(socket: &mut Socket) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                return serde_json::from_str(text.as_str()).unwrap();
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("OBS closed the watcher's handshake: {other:?}"),
        }
    }
}
