//! A protocol-exact fake OBS Studio: an obs-websocket v5 server on `127.0.0.1` that the real
//! `obws` 0.15 client connects to.
//!
//! It speaks the real protocol (Hello / Identify with SHA-256 authentication / Identified /
//! Reidentify / Request / RequestResponse / RequestBatch / Event with subscription bitmasks),
//! keeps a small OBS state (scenes with UUIDs, program scene, stream and record outputs, media
//! inputs) and records every request it answers. Tests script failures with the `FakeObs`
//! methods (`refuse_auth`, `delay_answers`, `fail_stream_after_start`, `ignore_stop`,
//! `freeze_media`) and play the streamer with `set_scene`, `set_streaming`, `add_scene`, ...
//!
//! Include it with `#[path = "support/fake_obs.rs"] mod fake_obs;`.
//!
//! Guarantees: the state lives behind one `std::sync::Mutex` that is never held across an
//! `.await`; a misbehaving client is closed with the obs-websocket close code OBS would use and
//! never panics the fake; every task it spawns ends when the `FakeObs` is dropped or shut down.
//! Times (request `received`, stream duration, output bytes) use `tokio::time::Instant`, so the
//! fake also follows a paused tokio clock.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// obs-websocket `WebSocketOpCode` values.
pub mod op {
    /// Server → client, first message after the upgrade.
    pub const HELLO: u64 = 0;
    /// Client → server, answer to Hello.
    pub const IDENTIFY: u64 = 1;
    /// Server → client, identification accepted.
    pub const IDENTIFIED: u64 = 2;
    /// Client → server, change session parameters (event subscriptions).
    pub const REIDENTIFY: u64 = 3;
    /// Server → client, an OBS event.
    pub const EVENT: u64 = 5;
    /// Client → server, one request.
    pub const REQUEST: u64 = 6;
    /// Server → client, answer to one request.
    pub const REQUEST_RESPONSE: u64 = 7;
    /// Client → server, a batch of requests.
    pub const REQUEST_BATCH: u64 = 8;
    /// Server → client, answer to a batch.
    pub const REQUEST_BATCH_RESPONSE: u64 = 9;
}

/// obs-websocket `WebSocketCloseCode` values the fake uses.
pub mod close_code {
    /// Standard WebSocket "going away": used when the fake shuts down or restarts.
    pub const GOING_AWAY: u16 = 1001;
    /// The message was not valid JSON (or was binary).
    pub const MESSAGE_DECODE_ERROR: u16 = 4002;
    /// A required data field (`op`, `d`, `rpcVersion`, `requestId`, ...) is missing.
    pub const MISSING_DATA_FIELD: u16 = 4003;
    /// A data field has the wrong type.
    pub const INVALID_DATA_FIELD_TYPE: u16 = 4004;
    /// Unknown `op`.
    pub const UNKNOWN_OP_CODE: u16 = 4006;
    /// Something other than Identify was sent before Identified.
    pub const NOT_IDENTIFIED: u16 = 4007;
    /// Identify was sent twice.
    pub const ALREADY_IDENTIFIED: u16 = 4008;
    /// Wrong or missing authentication string (or `refuse_auth` is on).
    pub const AUTHENTICATION_FAILED: u16 = 4009;
    /// `rpcVersion` other than 1.
    pub const UNSUPPORTED_RPC_VERSION: u16 = 4010;
}

/// obs-websocket `RequestStatus` codes the fake answers with (all known to obws 0.15).
pub mod status {
    /// The request succeeded.
    pub const SUCCESS: u16 = 100;
    /// A batch entry has no `requestType`.
    pub const MISSING_REQUEST_TYPE: u16 = 203;
    /// The request type does not exist.
    pub const UNKNOWN_REQUEST_TYPE: u16 = 204;
    /// `Sleep` outside a batch.
    pub const UNSUPPORTED_REQUEST_BATCH_EXECUTION_TYPE: u16 = 206;
    /// A required request field is missing.
    pub const MISSING_REQUEST_FIELD: u16 = 300;
    /// A request field has an invalid value.
    pub const INVALID_REQUEST_FIELD: u16 = 400;
    /// A request field has the wrong JSON type.
    pub const INVALID_REQUEST_FIELD_TYPE: u16 = 401;
    /// The output is already running.
    pub const OUTPUT_RUNNING: u16 = 500;
    /// The output is not running.
    pub const OUTPUT_NOT_RUNNING: u16 = 501;
    /// Studio mode is off (preview scene requests).
    pub const STUDIO_MODE_NOT_ACTIVE: u16 = 506;
    /// No scene / input with that name or UUID.
    pub const RESOURCE_NOT_FOUND: u16 = 600;
    /// A scene with that name already exists.
    pub const RESOURCE_ALREADY_EXISTS: u16 = 601;
}

/// obs-websocket `EventSubscription` bits (the `eventIntent` of each event).
pub mod subscription {
    /// ExitStarted, CustomEvent, ...
    pub const GENERAL: u32 = 1;
    /// Profiles, scene collections.
    pub const CONFIG: u32 = 1 << 1;
    /// CurrentProgramSceneChanged, SceneListChanged, SceneCreated, SceneRemoved.
    pub const SCENES: u32 = 1 << 2;
    /// InputSettingsChanged, ...
    pub const INPUTS: u32 = 1 << 3;
    /// Transitions.
    pub const TRANSITIONS: u32 = 1 << 4;
    /// Filters.
    pub const FILTERS: u32 = 1 << 5;
    /// StreamStateChanged, RecordStateChanged.
    pub const OUTPUTS: u32 = 1 << 6;
    /// Scene items.
    pub const SCENE_ITEMS: u32 = 1 << 7;
    /// MediaInputActionTriggered, MediaInputPlaybackStarted, MediaInputPlaybackEnded.
    pub const MEDIA_INPUTS: u32 = 1 << 8;
    /// Vendor events.
    pub const VENDORS: u32 = 1 << 9;
    /// UI events.
    pub const UI: u32 = 1 << 10;
    /// Every low-volume category: the default when Identify has no `eventSubscriptions`.
    pub const ALL: u32 = (1 << 11) - 1;
}

/// `mediaState` strings (obs-websocket `ObsMediaState`).
pub mod media_state {
    /// No media.
    pub const NONE: &str = "OBS_MEDIA_STATE_NONE";
    /// Playing (the SRT feed is up).
    pub const PLAYING: &str = "OBS_MEDIA_STATE_PLAYING";
    /// Opening.
    pub const OPENING: &str = "OBS_MEDIA_STATE_OPENING";
    /// Buffering.
    pub const BUFFERING: &str = "OBS_MEDIA_STATE_BUFFERING";
    /// Paused.
    pub const PAUSED: &str = "OBS_MEDIA_STATE_PAUSED";
    /// Stopped.
    pub const STOPPED: &str = "OBS_MEDIA_STATE_STOPPED";
    /// Ended (the feed dropped).
    pub const ENDED: &str = "OBS_MEDIA_STATE_ENDED";
    /// Error.
    pub const ERROR: &str = "OBS_MEDIA_STATE_ERROR";
    /// Every valid state.
    pub const ALL: [&str; 8] = [
        NONE, PLAYING, OPENING, BUFFERING, PAUSED, STOPPED, ENDED, ERROR,
    ];
}

const OUTPUT_STARTING: &str = "OBS_WEBSOCKET_OUTPUT_STARTING";
const OUTPUT_STARTED: &str = "OBS_WEBSOCKET_OUTPUT_STARTED";
const OUTPUT_STOPPING: &str = "OBS_WEBSOCKET_OUTPUT_STOPPING";
const OUTPUT_STOPPED: &str = "OBS_WEBSOCKET_OUTPUT_STOPPED";

const MEDIA_ACTIONS: [&str; 7] = [
    "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_NONE",
    "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_PLAY",
    "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_PAUSE",
    "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_STOP",
    "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_RESTART",
    "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_NEXT",
    "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_PREVIOUS",
];

/// The request types the fake implements (reported in GetVersion `availableRequests`).
pub const AVAILABLE_REQUESTS: [&str; 25] = [
    "GetVersion",
    "GetStats",
    "GetSceneList",
    "GetCurrentProgramScene",
    "SetCurrentProgramScene",
    "GetCurrentPreviewScene",
    "SetCurrentPreviewScene",
    "GetStudioModeEnabled",
    "GetStreamStatus",
    "StartStream",
    "StopStream",
    "ToggleStream",
    "GetRecordStatus",
    "StartRecord",
    "StopRecord",
    "ToggleRecord",
    "GetInputList",
    "GetInputSettings",
    "SetInputSettings",
    "GetMediaInputStatus",
    "TriggerMediaInputAction",
    "CreateScene",
    "RemoveScene",
    "BroadcastCustomEvent",
    "Sleep",
];

/// Recording bitrate used for `outputBytes` of the record output.
const RECORD_KBPS: u32 = 6000;
/// Frame rate used for frame counters.
const FPS: u64 = 30;

/// How the fake OBS starts.
#[derive(Clone, Debug)]
pub struct FakeObsOptions {
    /// obs-websocket password; `None` means no authentication block in Hello.
    pub password: Option<String>,
    /// OBS Studio version reported by GetVersion (`obsVersion`); must be semver, e.g. "31.0.2".
    pub obs_version: String,
    /// obs-websocket version reported in Hello and GetVersion; must be semver, e.g. "5.5.4".
    pub websocket_version: String,
    /// Scene names in OBS UI order (top of the Scenes dock first).
    pub scenes: Vec<String>,
    /// The program scene at start; must be one of `scenes`.
    pub current_scene: String,
    /// Whether the stream output is already live at start.
    pub streaming: bool,
    /// Rate at which `outputBytes` grows while streaming.
    pub stream_kbps: u32,
    /// Media inputs (kind `ffmpeg_source`), all `OBS_MEDIA_STATE_PLAYING` at start.
    pub media_inputs: Vec<String>,
}

impl Default for FakeObsOptions {
    fn default() -> Self {
        FakeObsOptions {
            password: None,
            obs_version: "31.0.2".to_owned(),
            websocket_version: "5.5.4".to_owned(),
            scenes: ["LIVE", "LOW", "BRB", "OFFLINE", "Starting soon"]
                .map(str::to_owned)
                .to_vec(),
            current_scene: "LIVE".to_owned(),
            streaming: false,
            stream_kbps: 2500,
            media_inputs: vec!["SRT Ingest".to_owned()],
        }
    }
}

/// One request the fake received.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `requestType`, e.g. "SetCurrentProgramScene".
    pub request_type: String,
    /// `requestData` as sent (`Value::Null` when absent).
    pub data: Value,
    /// When the message arrived (before any `delay_answers` delay).
    pub received: Instant,
    /// Which connection sent it (ids count up from 1 for every accepted socket).
    pub connection: u64,
    /// Whether it came inside a RequestBatch.
    pub in_batch: bool,
}

/// The fake OBS. Dropping it stops every task and closes every socket without a close frame.
pub struct FakeObs {
    shared: Arc<Shared>,
    port: u16,
    root: CancellationToken,
    listener_stop: CancellationToken,
    accept_task: Option<JoinHandle<()>>,
    tracker: TaskTracker,
}

impl FakeObs {
    /// Starts listening on `127.0.0.1:0` inside the current tokio runtime.
    ///
    /// Panics if `current_scene` is not in `scenes`, or if the port cannot be bound.
    pub async fn start(options: FakeObsOptions) -> FakeObs {
        assert!(
            options.scenes.contains(&options.current_scene),
            "fake OBS: current scene {:?} is not in {:?}",
            options.current_scene,
            options.scenes
        );
        let listener = bind(0).expect("fake OBS: bind 127.0.0.1:0");
        let port = listener
            .local_addr()
            .expect("fake OBS: local address")
            .port();
        let root = CancellationToken::new();
        let mut obs = FakeObs {
            shared: Arc::new(Shared::new(options, root.child_token())),
            port,
            listener_stop: root.child_token(),
            root,
            accept_task: None,
            tracker: TaskTracker::new(),
        };
        obs.listen(listener);
        obs
    }

    /// The TCP port on 127.0.0.1 (stable across `restart`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `ws://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// Name of the current program scene.
    pub fn current_scene(&self) -> String {
        let st = self.shared.lock();
        st.scene_name(&st.current_scene).unwrap_or_default()
    }

    /// Scene names in OBS UI order (top first). GetSceneList returns them reversed, like OBS:
    /// the array is sorted by `sceneIndex`, and index 0 is the bottom of the UI list.
    pub fn scenes(&self) -> Vec<String> {
        self.shared
            .lock()
            .scenes
            .iter()
            .map(|s| s.name.clone())
            .collect()
    }

    /// The UUID the fake gave a scene.
    pub fn scene_uuid(&self, name: &str) -> Option<String> {
        let st = self.shared.lock();
        st.scenes
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.uuid.clone())
    }

    /// Whether the stream output is active.
    pub fn is_streaming(&self) -> bool {
        self.shared.lock().stream.active
    }

    /// Whether the record output is active.
    pub fn is_recording(&self) -> bool {
        self.shared.lock().record.active
    }

    /// `outputBytes` the stream would report now (0 when not streaming).
    pub fn stream_bytes(&self) -> u64 {
        self.shared.lock().stream.bytes(Instant::now())
    }

    /// The `mediaState` string of a media input, e.g. `OBS_MEDIA_STATE_PLAYING`.
    pub fn media_state(&self, input: &str) -> Option<String> {
        let st = self.shared.lock();
        st.inputs
            .iter()
            .find(|i| i.name == input)
            .map(|i| i.state.to_owned())
    }

    /// The current settings object of an input (after any SetInputSettings).
    pub fn input_settings(&self, input: &str) -> Option<Value> {
        let st = self.shared.lock();
        st.inputs
            .iter()
            .find(|i| i.name == input)
            .map(|i| i.settings.clone())
    }

    /// Every request received so far, in arrival order (batch entries when processed).
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    /// A marker for `wait_for_request_since`: the number of requests recorded so far.
    pub fn request_mark(&self) -> usize {
        self.shared.lock().requests.len()
    }

    /// Waits for the next request of this type recorded after this call. Without
    /// `delay_answers` a request is recorded, handled and answered under one lock, so its state
    /// change is visible when this returns; with a delay it is recorded on arrival and answered
    /// later. `None` on timeout. Event-driven, no polling.
    pub async fn wait_for_request(
        &self,
        request_type: &str,
        timeout: Duration,
    ) -> Option<Recorded> {
        let mark = self.request_mark();
        self.wait_for_request_since(mark, request_type, timeout)
            .await
    }

    /// Like `wait_for_request`, but also accepts requests answered after `mark`
    /// (from `request_mark`), so a test can mark, act, then wait without a race.
    pub async fn wait_for_request_since(
        &self,
        mark: usize,
        request_type: &str,
        timeout: Duration,
    ) -> Option<Recorded> {
        let deadline = Instant::now() + timeout;
        let mut seen = self.shared.requests_seen.subscribe();
        loop {
            {
                let st = self.shared.lock();
                let found = st
                    .requests
                    .iter()
                    .skip(mark)
                    .find(|r| r.request_type == request_type);
                if let Some(found) = found {
                    return Some(found.clone());
                }
            }
            match tokio::time::timeout_at(deadline, seen.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return None,
            }
        }
    }

    /// Switches the program scene as if the streamer clicked it in OBS: emits
    /// CurrentProgramSceneChanged. Panics if the scene does not exist.
    pub fn set_scene(&self, name: &str) {
        let mut st = self.shared.lock();
        let Some(uuid) = st.scene_uuid(name) else {
            drop(st);
            panic!("fake OBS: set_scene: no scene named {name:?}");
        };
        let event = st.switch_scene(uuid);
        st.emit(&event);
    }

    /// Starts or stops the stream as if done in OBS (no scripted failures apply): emits
    /// StreamStateChanged STARTING+STARTED or STOPPING+STOPPED. No-op when already so.
    pub fn set_streaming(&self, active: bool) {
        let mut st = self.shared.lock();
        if st.stream.active == active {
            return;
        }
        let now = Instant::now();
        let events = if active {
            st.start_stream(now, false)
        } else {
            st.stop_stream(false)
        };
        for event in &events {
            st.emit(event);
        }
    }

    /// Changes the rate at which `outputBytes` grows (bytes already sent are kept).
    pub fn set_stream_kbps(&self, kbps: u32) {
        let mut st = self.shared.lock();
        st.stream.set_kbps(Instant::now(), kbps);
    }

    /// Sets a media input's state as if the feed changed (`media_state::*`). Emits
    /// MediaInputPlaybackStarted when it becomes PLAYING and MediaInputPlaybackEnded when it
    /// becomes ENDED or STOPPED. Panics on an unknown input or state.
    pub fn set_media_state(&self, input: &str, state: &str) {
        let Some(state) = media_state::ALL.into_iter().find(|s| *s == state) else {
            panic!("fake OBS: set_media_state: unknown state {state:?}");
        };
        let mut st = self.shared.lock();
        let Some(index) = st.inputs.iter().position(|i| i.name == input) else {
            drop(st);
            panic!("fake OBS: set_media_state: no input named {input:?}");
        };
        let now = Instant::now();
        let entry = &mut st.inputs[index];
        let changed = entry.state != state;
        entry.state = state;
        if state == media_state::PLAYING {
            entry.playing_since = now;
        }
        let id = entry.id_json();
        if changed {
            let kind = match state {
                media_state::PLAYING => Some("MediaInputPlaybackStarted"),
                media_state::ENDED | media_state::STOPPED => Some("MediaInputPlaybackEnded"),
                _ => None,
            };
            if let Some(kind) = kind {
                st.emit(&Ev::new(subscription::MEDIA_INPUTS, kind, Some(id)));
            }
        }
    }

    /// Adds a scene at the bottom of the UI list: emits SceneCreated and SceneListChanged.
    pub fn add_scene(&self, name: &str) {
        let mut st = self.shared.lock();
        let events = st.create_scene(name);
        for event in &events {
            st.emit(event);
        }
    }

    /// Removes a scene: emits SceneRemoved and SceneListChanged (and CurrentProgramSceneChanged
    /// first if it was the program scene; OBS then shows the top scene). Panics if it does not
    /// exist or is the last one.
    pub fn remove_scene(&self, name: &str) {
        let mut st = self.shared.lock();
        let Some(uuid) = st.scene_uuid(name) else {
            drop(st);
            panic!("fake OBS: remove_scene: no scene named {name:?}");
        };
        if st.scenes.len() == 1 {
            drop(st);
            panic!("fake OBS: remove_scene: {name:?} is the last scene");
        }
        let events = st.delete_scene(&uuid);
        for event in &events {
            st.emit(event);
        }
    }

    /// Number of currently identified clients.
    pub fn connections(&self) -> usize {
        *self.shared.identified.borrow()
    }

    /// Waits until exactly `n` clients are identified (also works for `n = 0` after a
    /// disconnect). `false` on timeout.
    pub async fn wait_for_connections(&self, n: usize, timeout: Duration) -> bool {
        let mut rx = self.shared.identified.subscribe();
        matches!(
            tokio::time::timeout(timeout, rx.wait_for(|count| *count == n)).await,
            Ok(Ok(_))
        )
    }

    /// Closes every socket abruptly: no close frame, the TCP connection just ends. The listener
    /// keeps accepting, so clients can reconnect.
    pub fn drop_connections(&self) {
        let mut st = self.shared.lock();
        // Every connection task (identified, identifying or mid-upgrade) holds a child of this
        // token; new connections get children of the fresh one.
        let old = std::mem::replace(&mut st.connections, self.root.child_token());
        old.cancel();
        st.clients.clear();
        self.shared.identified.send_replace(0);
    }

    /// OBS quits: ExitStarted to subscribers, a close frame (1001 "Server stopping.") to every
    /// client, then stops listening and waits for every connection task to end.
    pub async fn shutdown(mut self) {
        self.close_gracefully(true).await;
        self.root.cancel();
    }

    /// The websocket server restarts (as when its settings change in OBS): close frames (1001)
    /// to every client without ExitStarted, then listens again on the same port. OBS state
    /// (scenes, outputs, scripts, recorded requests) is kept.
    pub async fn restart(&mut self) {
        self.close_gracefully(false).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match bind(self.port) {
                Ok(listener) => break listener,
                Err(error) if Instant::now() < deadline => {
                    // The port is briefly held by the old socket or another process: retry.
                    let _ = error;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(error) => panic!("fake OBS: rebinding 127.0.0.1:{}: {error}", self.port),
            }
        };
        self.listen(listener);
    }

    /// Script: answer Identify with close 4009 "Authentication failed." even when correct.
    pub fn refuse_auth(&self, on: bool) {
        self.shared.lock().script.refuse_auth = on;
    }

    /// Script: answer every request (and batch) only after this delay from its arrival.
    /// `Duration::ZERO` turns it off. Requests from one client stay in order.
    pub fn delay_answers(&self, by: Duration) {
        self.shared.lock().script.delay = by;
    }

    /// Script: StartStream (and ToggleStream) answers success, then StreamStateChanged
    /// STARTING → STOPPED and the output stays inactive (the ingest is down).
    pub fn fail_stream_after_start(&self, on: bool) {
        self.shared.lock().script.fail_stream = on;
    }

    /// Script: StopStream (and ToggleStream) answers success but emits nothing and the output
    /// stays active.
    pub fn ignore_stop(&self, on: bool) {
        self.shared.lock().script.ignore_stop = on;
    }

    /// Script: RESTART and PLAY media actions answer success and emit
    /// MediaInputActionTriggered, but the input goes to / stays in OBS_MEDIA_STATE_ERROR and no
    /// MediaInputPlaybackStarted follows.
    pub fn freeze_media(&self, on: bool) {
        self.shared.lock().script.freeze_media = on;
    }

    fn listen(&mut self, listener: TcpListener) {
        let stop = self.root.child_token();
        self.listener_stop = stop.clone();
        self.accept_task = Some(tokio::spawn(accept_loop(
            Arc::clone(&self.shared),
            listener,
            stop,
            self.tracker.clone(),
        )));
    }

    async fn close_gracefully(&mut self, exit_started: bool) {
        self.listener_stop.cancel();
        if let Some(task) = self.accept_task.take() {
            let _ = task.await;
        }
        {
            let mut st = self.shared.lock();
            if exit_started {
                st.emit(&Ev::new(subscription::GENERAL, "ExitStarted", None));
            }
            for client in st.clients.values() {
                let _ = client.tx.send(Outgoing::Close(
                    close_code::GOING_AWAY,
                    "Server stopping.".to_owned(),
                ));
            }
        }
        self.tracker.close();
        if tokio::time::timeout(Duration::from_secs(3), self.tracker.wait())
            .await
            .is_err()
        {
            self.drop_connections();
            self.tracker.wait().await;
        }
        self.tracker.reopen();
    }
}

impl Drop for FakeObs {
    fn drop(&mut self) {
        self.root.cancel();
    }
}

fn bind(port: u16) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
    socket.listen(128)
}

async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    stop: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                let cancel = shared.lock().connections.child_token();
                tracker.spawn(serve(Arc::clone(&shared), stream, cancel));
            }
            Err(_) => {
                // Out of file descriptors or similar: back off instead of spinning.
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_millis(10)) => {}
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared state

struct Shared {
    state: Mutex<State>,
    /// Number of recorded requests; bumped after each one.
    requests_seen: watch::Sender<usize>,
    /// Number of identified clients.
    identified: watch::Sender<usize>,
}

impl Shared {
    fn new(options: FakeObsOptions, connections: CancellationToken) -> Shared {
        Shared {
            state: Mutex::new(State::new(options, connections)),
            requests_seen: watch::Sender::new(0),
            identified: watch::Sender::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Default)]
struct Script {
    refuse_auth: bool,
    delay: Duration,
    fail_stream: bool,
    ignore_stop: bool,
    freeze_media: bool,
}

struct SceneEntry {
    name: String,
    uuid: String,
}

struct InputEntry {
    name: String,
    uuid: String,
    kind: &'static str,
    state: &'static str,
    playing_since: Instant,
    settings: Value,
}

impl InputEntry {
    fn id_json(&self) -> Value {
        json!({ "inputName": self.name, "inputUuid": self.uuid })
    }
}

/// One output (stream or record): bytes grow at `kbps` while active.
struct Output {
    active: bool,
    started: Instant,
    kbps: u32,
    bytes_before: u64,
    segment_start: Instant,
}

impl Output {
    fn new(kbps: u32, now: Instant) -> Output {
        Output {
            active: false,
            started: now,
            kbps,
            bytes_before: 0,
            segment_start: now,
        }
    }

    fn start(&mut self, now: Instant) {
        self.active = true;
        self.started = now;
        self.bytes_before = 0;
        self.segment_start = now;
    }

    fn stop(&mut self) {
        self.active = false;
    }

    fn set_kbps(&mut self, now: Instant, kbps: u32) {
        self.bytes_before = self.bytes(now);
        self.segment_start = now;
        self.kbps = kbps;
    }

    fn duration(&self, now: Instant) -> Duration {
        if self.active {
            now.saturating_duration_since(self.started)
        } else {
            Duration::ZERO
        }
    }

    fn bytes(&self, now: Instant) -> u64 {
        if !self.active {
            return 0;
        }
        let millis = millis(now.saturating_duration_since(self.segment_start));
        self.bytes_before + millis * u64::from(self.kbps) / 8
    }

    fn frames(&self, now: Instant) -> u64 {
        millis(self.duration(now)) * FPS / 1000
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn timecode(duration: Duration) -> String {
    let total = duration.as_secs();
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        total / 3600,
        total % 3600 / 60,
        total % 60,
        duration.subsec_millis()
    )
}

enum Outgoing {
    Text(String),
    Close(u16, String),
}

struct ClientEntry {
    tx: mpsc::UnboundedSender<Outgoing>,
    identified: bool,
    subscriptions: u32,
    incoming: u64,
    outgoing: u64,
}

/// An event to send to subscribers.
struct Ev {
    intent: u32,
    kind: &'static str,
    data: Option<Value>,
}

impl Ev {
    fn new(intent: u32, kind: &'static str, data: Option<Value>) -> Ev {
        Ev { intent, kind, data }
    }
}

fn stream_event(active: bool, state: &str) -> Ev {
    Ev::new(
        subscription::OUTPUTS,
        "StreamStateChanged",
        Some(json!({ "outputActive": active, "outputState": state })),
    )
}

fn record_event(active: bool, state: &str, path: Option<&str>) -> Ev {
    Ev::new(
        subscription::OUTPUTS,
        "RecordStateChanged",
        Some(json!({ "outputActive": active, "outputState": state, "outputPath": path })),
    )
}

/// The outcome of one request.
struct Reply {
    code: u16,
    comment: Option<String>,
    data: Option<Value>,
    events: Vec<Ev>,
}

impl Reply {
    fn ok() -> Reply {
        Reply {
            code: status::SUCCESS,
            comment: None,
            data: None,
            events: Vec::new(),
        }
    }

    fn ok_with(data: Value) -> Reply {
        Reply {
            data: Some(data),
            ..Reply::ok()
        }
    }

    fn err(code: u16, comment: impl Into<String>) -> Reply {
        Reply {
            code,
            comment: Some(comment.into()),
            data: None,
            events: Vec::new(),
        }
    }

    fn with_events(mut self, events: Vec<Ev>) -> Reply {
        self.events = events;
        self
    }

    fn status_json(&self) -> Value {
        let mut status = json!({ "result": self.code == status::SUCCESS, "code": self.code });
        if let Some(comment) = &self.comment {
            status["comment"] = json!(comment);
        }
        status
    }

    /// The RequestResponse `d` object (also a RequestBatchResponse `results` entry).
    fn response_json(&self, request_type: &str, request_id: Option<&str>) -> Value {
        let mut d = json!({ "requestType": request_type, "requestStatus": self.status_json() });
        if let Some(id) = request_id {
            d["requestId"] = json!(id);
        }
        // Requests without response data must not carry `responseData`: obws deserializes
        // `()` from the missing (null) value, and `{}` would fail.
        if let Some(data) = &self.data {
            d["responseData"] = data.clone();
        }
        d
    }
}

struct State {
    obs_version: String,
    websocket_version: String,
    password: Option<String>,
    scenes: Vec<SceneEntry>,
    current_scene: String,
    stream: Output,
    record: Output,
    record_files: u32,
    inputs: Vec<InputEntry>,
    booted: Instant,
    requests: Vec<Recorded>,
    clients: HashMap<u64, ClientEntry>,
    /// Parent of every connection task's cancellation token (see `drop_connections`).
    connections: CancellationToken,
    next_client: u64,
    script: Script,
}

impl State {
    fn new(options: FakeObsOptions, connections: CancellationToken) -> State {
        let now = Instant::now();
        let scenes: Vec<SceneEntry> = options
            .scenes
            .iter()
            .map(|name| SceneEntry {
                name: name.clone(),
                uuid: new_uuid(),
            })
            .collect();
        let current_scene = scenes
            .iter()
            .find(|s| s.name == options.current_scene)
            .map(|s| s.uuid.clone())
            .unwrap_or_default();
        let inputs = options
            .media_inputs
            .iter()
            .enumerate()
            .map(|(i, name)| InputEntry {
                name: name.clone(),
                uuid: new_uuid(),
                kind: "ffmpeg_source",
                state: media_state::PLAYING,
                playing_since: now,
                settings: json!({
                    "input": format!("srt://0.0.0.0:{}?mode=listener", 9000 + i),
                    "is_local_file": false,
                    "restart_on_activate": true,
                }),
            })
            .collect();
        let mut stream = Output::new(options.stream_kbps, now);
        if options.streaming {
            stream.start(now);
        }
        State {
            obs_version: options.obs_version,
            websocket_version: options.websocket_version,
            password: options.password,
            scenes,
            current_scene,
            stream,
            record: Output::new(RECORD_KBPS, now),
            record_files: 0,
            inputs,
            booted: now,
            requests: Vec::new(),
            clients: HashMap::new(),
            connections,
            next_client: 1,
            script: Script::default(),
        }
    }

    fn identified_count(&self) -> usize {
        self.clients.values().filter(|c| c.identified).count()
    }

    fn send_to(&mut self, client: u64, op: u64, d: Value) {
        if let Some(entry) = self.clients.get_mut(&client) {
            entry.outgoing += 1;
            let text = json!({ "op": op, "d": d }).to_string();
            let _ = entry.tx.send(Outgoing::Text(text));
        }
    }

    /// Sends an event to every identified client subscribed to its intent.
    fn emit(&mut self, event: &Ev) {
        let mut d = json!({ "eventType": event.kind, "eventIntent": event.intent });
        if let Some(data) = &event.data {
            d["eventData"] = data.clone();
        }
        let text = json!({ "op": op::EVENT, "d": d }).to_string();
        for client in self.clients.values_mut() {
            if client.identified && client.subscriptions & event.intent != 0 {
                client.outgoing += 1;
                let _ = client.tx.send(Outgoing::Text(text.clone()));
            }
        }
    }

    fn scene_name(&self, uuid: &str) -> Option<String> {
        self.scenes
            .iter()
            .find(|s| s.uuid == uuid)
            .map(|s| s.name.clone())
    }

    fn scene_uuid(&self, name: &str) -> Option<String> {
        self.scenes
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.uuid.clone())
    }

    /// Scenes as GetSceneList / SceneListChanged list them: sorted by `sceneIndex`, index 0 =
    /// bottom of the UI list.
    fn scene_list_json(&self) -> Vec<Value> {
        self.scenes
            .iter()
            .rev()
            .enumerate()
            .map(|(index, s)| json!({ "sceneIndex": index, "sceneName": s.name, "sceneUuid": s.uuid }))
            .collect()
    }

    fn switch_scene(&mut self, uuid: String) -> Ev {
        let name = self.scene_name(&uuid).unwrap_or_default();
        self.current_scene = uuid.clone();
        Ev::new(
            subscription::SCENES,
            "CurrentProgramSceneChanged",
            Some(json!({ "sceneName": name, "sceneUuid": uuid })),
        )
    }

    fn scene_list_changed(&self) -> Ev {
        Ev::new(
            subscription::SCENES,
            "SceneListChanged",
            Some(json!({ "scenes": self.scene_list_json() })),
        )
    }

    fn create_scene(&mut self, name: &str) -> Vec<Ev> {
        let uuid = new_uuid();
        self.scenes.push(SceneEntry {
            name: name.to_owned(),
            uuid: uuid.clone(),
        });
        vec![
            Ev::new(
                subscription::SCENES,
                "SceneCreated",
                Some(json!({ "sceneName": name, "sceneUuid": uuid, "isGroup": false })),
            ),
            self.scene_list_changed(),
        ]
    }

    fn delete_scene(&mut self, uuid: &str) -> Vec<Ev> {
        let Some(index) = self.scenes.iter().position(|s| s.uuid == uuid) else {
            return Vec::new();
        };
        let removed = self.scenes.remove(index);
        let mut events = Vec::new();
        if self.current_scene == removed.uuid
            && let Some(first) = self.scenes.first()
        {
            let first = first.uuid.clone();
            events.push(self.switch_scene(first));
        }
        events.push(Ev::new(
            subscription::SCENES,
            "SceneRemoved",
            Some(json!({ "sceneName": removed.name, "sceneUuid": removed.uuid, "isGroup": false })),
        ));
        events.push(self.scene_list_changed());
        events
    }

    /// Finds the scene named by `sceneName` or `sceneUuid` in the request data.
    fn find_scene(&self, data: &Value) -> Result<String, Reply> {
        if let Some(name) = data.get("sceneName") {
            let Some(name) = name.as_str() else {
                return Err(Reply::err(
                    status::INVALID_REQUEST_FIELD_TYPE,
                    "The field value of `sceneName` must be a string.",
                ));
            };
            return self.scene_uuid(name).ok_or_else(|| {
                Reply::err(
                    status::RESOURCE_NOT_FOUND,
                    format!("No source was found by the name of `{name}`."),
                )
            });
        }
        if let Some(uuid) = data.get("sceneUuid") {
            let uuid = uuid.as_str().unwrap_or_default();
            return self
                .scenes
                .iter()
                .find(|s| s.uuid == uuid)
                .map(|s| s.uuid.clone())
                .ok_or_else(|| {
                    Reply::err(
                        status::RESOURCE_NOT_FOUND,
                        format!("No source was found by the UUID of `{uuid}`."),
                    )
                });
        }
        Err(Reply::err(
            status::MISSING_REQUEST_FIELD,
            "Your request must contain at least one of the following fields: `sceneName` or `sceneUuid`.",
        ))
    }

    /// Finds the input named by `inputName` or `inputUuid` in the request data.
    fn find_input(&self, data: &Value) -> Result<usize, Reply> {
        let (field, key) = if let Some(name) = data.get("inputName") {
            (name, "name")
        } else if let Some(uuid) = data.get("inputUuid") {
            (uuid, "UUID")
        } else {
            return Err(Reply::err(
                status::MISSING_REQUEST_FIELD,
                "Your request must contain at least one of the following fields: `inputName` or `inputUuid`.",
            ));
        };
        let wanted = field.as_str().unwrap_or_default();
        self.inputs
            .iter()
            .position(|i| {
                if key == "name" {
                    i.name == wanted
                } else {
                    i.uuid == wanted
                }
            })
            .ok_or_else(|| {
                Reply::err(
                    status::RESOURCE_NOT_FOUND,
                    format!("No source was found by the {key} of `{wanted}`."),
                )
            })
    }

    fn start_stream(&mut self, now: Instant, scripted: bool) -> Vec<Ev> {
        if scripted && self.script.fail_stream {
            return vec![
                stream_event(false, OUTPUT_STARTING),
                stream_event(false, OUTPUT_STOPPED),
            ];
        }
        self.stream.start(now);
        vec![
            stream_event(false, OUTPUT_STARTING),
            stream_event(true, OUTPUT_STARTED),
        ]
    }

    fn stop_stream(&mut self, scripted: bool) -> Vec<Ev> {
        if scripted && self.script.ignore_stop {
            return Vec::new();
        }
        self.stream.stop();
        vec![
            stream_event(true, OUTPUT_STOPPING),
            stream_event(false, OUTPUT_STOPPED),
        ]
    }

    fn start_record(&mut self, now: Instant) -> Vec<Ev> {
        self.record.start(now);
        self.record_files += 1;
        let path = self.record_path();
        vec![
            record_event(false, OUTPUT_STARTING, None),
            record_event(true, OUTPUT_STARTED, Some(&path)),
        ]
    }

    fn stop_record(&mut self) -> (String, Vec<Ev>) {
        self.record.stop();
        let path = self.record_path();
        let events = vec![
            record_event(true, OUTPUT_STOPPING, None),
            record_event(false, OUTPUT_STOPPED, Some(&path)),
        ];
        (path, events)
    }

    fn record_path(&self) -> String {
        format!(
            "/home/streamer/Videos/fake-obs-recording-{:03}.mkv",
            self.record_files
        )
    }

    fn stream_status_json(&self, now: Instant) -> Value {
        let duration = self.stream.duration(now);
        json!({
            "outputActive": self.stream.active,
            "outputReconnecting": false,
            "outputTimecode": timecode(duration),
            "outputDuration": millis(duration),
            "outputCongestion": 0.0,
            "outputBytes": self.stream.bytes(now),
            "outputSkippedFrames": 0,
            "outputTotalFrames": self.stream.frames(now),
        })
    }

    fn record_status_json(&self, now: Instant) -> Value {
        let duration = self.record.duration(now);
        json!({
            "outputActive": self.record.active,
            "outputPaused": false,
            "outputTimecode": timecode(duration),
            "outputDuration": millis(duration),
            "outputBytes": self.record.bytes(now),
        })
    }

    fn version_json(&self) -> Value {
        json!({
            // The real field name; obws reads it through its `obsVersion` alias. Sending both
            // `obsVersion` and `obsStudioVersion` would be a duplicate field for obws.
            "obsVersion": self.obs_version,
            "obsWebSocketVersion": self.websocket_version,
            "rpcVersion": 1,
            "availableRequests": AVAILABLE_REQUESTS,
            "supportedImageFormats": ["bmp", "jpeg", "jpg", "png", "webp"],
            "platform": "linux",
            "platformDescription": "Fake OBS (stream-control tests)",
        })
    }

    fn stats_json(&self, client: u64, now: Instant) -> Value {
        let uptime = millis(now.saturating_duration_since(self.booted));
        let (incoming, outgoing) = self
            .clients
            .get(&client)
            .map_or((0, 0), |c| (c.incoming, c.outgoing));
        json!({
            "cpuUsage": 4.25,
            "memoryUsage": 612.5,
            "availableDiskSpace": 184_320.0,
            "activeFps": 30.0,
            "averageFrameRenderTime": 1.4,
            "renderSkippedFrames": 0,
            "renderTotalFrames": uptime * FPS / 1000,
            "outputSkippedFrames": 0,
            "outputTotalFrames": self.stream.frames(now),
            "webSocketSessionIncomingMessages": incoming,
            "webSocketSessionOutgoingMessages": outgoing,
        })
    }

    fn media_status_json(&self, index: usize, now: Instant) -> Value {
        let input = &self.inputs[index];
        if input.state == media_state::PLAYING || input.state == media_state::PAUSED {
            let cursor = millis(now.saturating_duration_since(input.playing_since));
            json!({ "mediaState": input.state, "mediaDuration": 0, "mediaCursor": cursor })
        } else {
            json!({ "mediaState": input.state, "mediaDuration": null, "mediaCursor": null })
        }
    }

    /// Handles one request (not `Sleep`): mutates state and says what to answer and emit.
    fn handle(&mut self, client: u64, request_type: &str, data: &Value) -> Reply {
        let now = Instant::now();
        match request_type {
            "GetVersion" => Reply::ok_with(self.version_json()),
            "GetStats" => Reply::ok_with(self.stats_json(client, now)),
            "GetSceneList" => {
                let current = self.scene_name(&self.current_scene);
                Reply::ok_with(json!({
                    "currentProgramSceneName": current,
                    "currentProgramSceneUuid": self.current_scene,
                    "currentPreviewSceneName": null,
                    "currentPreviewSceneUuid": null,
                    "scenes": self.scene_list_json(),
                }))
            }
            "GetCurrentProgramScene" => {
                let name = self.scene_name(&self.current_scene);
                Reply::ok_with(json!({
                    "sceneName": name,
                    "sceneUuid": self.current_scene,
                    "currentProgramSceneName": name,
                    "currentProgramSceneUuid": self.current_scene,
                }))
            }
            "SetCurrentProgramScene" => match self.find_scene(data) {
                Ok(uuid) => {
                    let event = self.switch_scene(uuid);
                    Reply::ok().with_events(vec![event])
                }
                Err(reply) => reply,
            },
            "GetCurrentPreviewScene" | "SetCurrentPreviewScene" => Reply::err(
                status::STUDIO_MODE_NOT_ACTIVE,
                "Studio mode is not enabled.",
            ),
            "GetStudioModeEnabled" => Reply::ok_with(json!({ "studioModeEnabled": false })),
            "CreateScene" => match data.get("sceneName").and_then(Value::as_str) {
                None => Reply::err(
                    status::MISSING_REQUEST_FIELD,
                    "Your request is missing the `sceneName` field.",
                ),
                Some(name) if self.scene_uuid(name).is_some() => Reply::err(
                    status::RESOURCE_ALREADY_EXISTS,
                    format!("A source already exists by that scene name: `{name}`."),
                ),
                Some(name) => {
                    let events = self.create_scene(name);
                    let uuid = self.scene_uuid(name).unwrap_or_default();
                    Reply::ok_with(json!({ "sceneUuid": uuid })).with_events(events)
                }
            },
            "RemoveScene" => match self.find_scene(data) {
                Ok(_) if self.scenes.len() == 1 => Reply::err(
                    status::INVALID_REQUEST_FIELD,
                    "You cannot remove the last scene.",
                ),
                Ok(uuid) => {
                    let events = self.delete_scene(&uuid);
                    Reply::ok().with_events(events)
                }
                Err(reply) => reply,
            },
            "BroadcastCustomEvent" => match data.get("eventData") {
                Some(event_data) if event_data.is_object() => {
                    Reply::ok().with_events(vec![Ev::new(
                        subscription::GENERAL,
                        "CustomEvent",
                        Some(event_data.clone()),
                    )])
                }
                _ => Reply::err(
                    status::MISSING_REQUEST_FIELD,
                    "Your request is missing the `eventData` field.",
                ),
            },
            "GetStreamStatus" => Reply::ok_with(self.stream_status_json(now)),
            "StartStream" => {
                if self.stream.active {
                    Reply::err(
                        status::OUTPUT_RUNNING,
                        "The stream output is already active.",
                    )
                } else {
                    Reply::ok().with_events(self.start_stream(now, true))
                }
            }
            "StopStream" => {
                if self.stream.active {
                    Reply::ok().with_events(self.stop_stream(true))
                } else {
                    Reply::err(
                        status::OUTPUT_NOT_RUNNING,
                        "The stream output is not active.",
                    )
                }
            }
            "ToggleStream" => {
                let was_active = self.stream.active;
                let events = if was_active {
                    self.stop_stream(true)
                } else {
                    self.start_stream(now, true)
                };
                Reply::ok_with(json!({ "outputActive": !was_active })).with_events(events)
            }
            "GetRecordStatus" => Reply::ok_with(self.record_status_json(now)),
            "StartRecord" => {
                if self.record.active {
                    Reply::err(
                        status::OUTPUT_RUNNING,
                        "The record output is already active.",
                    )
                } else {
                    Reply::ok().with_events(self.start_record(now))
                }
            }
            "StopRecord" => {
                if self.record.active {
                    let (path, events) = self.stop_record();
                    Reply::ok_with(json!({ "outputPath": path })).with_events(events)
                } else {
                    Reply::err(
                        status::OUTPUT_NOT_RUNNING,
                        "The record output is not active.",
                    )
                }
            }
            "ToggleRecord" => {
                let was_active = self.record.active;
                let events = if was_active {
                    self.stop_record().1
                } else {
                    self.start_record(now)
                };
                Reply::ok_with(json!({ "outputActive": !was_active })).with_events(events)
            }
            "GetInputList" => {
                let kind = data.get("inputKind").and_then(Value::as_str);
                let inputs: Vec<Value> = self
                    .inputs
                    .iter()
                    .filter(|i| kind.is_none_or(|k| k == i.kind))
                    .map(|i| {
                        json!({
                            "inputName": i.name,
                            "inputUuid": i.uuid,
                            "inputKind": i.kind,
                            "unversionedInputKind": i.kind,
                        })
                    })
                    .collect();
                Reply::ok_with(json!({ "inputs": inputs }))
            }
            "GetInputSettings" => match self.find_input(data) {
                Ok(index) => {
                    let input = &self.inputs[index];
                    Reply::ok_with(
                        json!({ "inputSettings": input.settings, "inputKind": input.kind }),
                    )
                }
                Err(reply) => reply,
            },
            "SetInputSettings" => self.set_input_settings(data),
            "GetMediaInputStatus" => match self.find_input(data) {
                Ok(index) => Reply::ok_with(self.media_status_json(index, now)),
                Err(reply) => reply,
            },
            "TriggerMediaInputAction" => self.trigger_media_action(data, now),
            _ => Reply::err(
                status::UNKNOWN_REQUEST_TYPE,
                format!("Your request type is not valid: {request_type}"),
            ),
        }
    }

    fn set_input_settings(&mut self, data: &Value) -> Reply {
        let index = match self.find_input(data) {
            Ok(index) => index,
            Err(reply) => return reply,
        };
        let Some(settings) = data.get("inputSettings") else {
            return Reply::err(
                status::MISSING_REQUEST_FIELD,
                "Your request is missing the `inputSettings` field.",
            );
        };
        let Some(settings) = settings.as_object() else {
            return Reply::err(
                status::INVALID_REQUEST_FIELD_TYPE,
                "The field value of `inputSettings` must be an object.",
            );
        };
        let overlay = data.get("overlay").and_then(Value::as_bool).unwrap_or(true);
        let input = &mut self.inputs[index];
        let mut merged = if overlay {
            input.settings.as_object().cloned().unwrap_or_default()
        } else {
            Map::new()
        };
        for (key, value) in settings {
            merged.insert(key.clone(), value.clone());
        }
        input.settings = Value::Object(merged);
        let mut event = input.id_json();
        event["inputSettings"] = input.settings.clone();
        Reply::ok().with_events(vec![Ev::new(
            subscription::INPUTS,
            "InputSettingsChanged",
            Some(event),
        )])
    }

    fn trigger_media_action(&mut self, data: &Value, now: Instant) -> Reply {
        let index = match self.find_input(data) {
            Ok(index) => index,
            Err(reply) => return reply,
        };
        let Some(action) = data.get("mediaAction") else {
            return Reply::err(
                status::MISSING_REQUEST_FIELD,
                "Your request is missing the `mediaAction` field.",
            );
        };
        let Some(action) = action
            .as_str()
            .and_then(|a| MEDIA_ACTIONS.into_iter().find(|known| *known == a))
        else {
            return Reply::err(
                status::INVALID_REQUEST_FIELD,
                "You have specified an invalid media input action.",
            );
        };
        let freeze = self.script.freeze_media;
        let input = &mut self.inputs[index];
        let id = input.id_json();
        let mut triggered = id.clone();
        triggered["mediaAction"] = json!(action);
        let mut events = vec![Ev::new(
            subscription::MEDIA_INPUTS,
            "MediaInputActionTriggered",
            Some(triggered),
        )];
        match action {
            "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_RESTART"
            | "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_PLAY" => {
                if freeze {
                    input.state = media_state::ERROR;
                } else {
                    input.state = media_state::PLAYING;
                    input.playing_since = now;
                    events.push(Ev::new(
                        subscription::MEDIA_INPUTS,
                        "MediaInputPlaybackStarted",
                        Some(id),
                    ));
                }
            }
            "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_PAUSE" => input.state = media_state::PAUSED,
            "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_STOP" => {
                input.state = media_state::STOPPED;
                events.push(Ev::new(
                    subscription::MEDIA_INPUTS,
                    "MediaInputPlaybackEnded",
                    Some(id),
                ));
            }
            _ => {}
        }
        Reply::ok().with_events(events)
    }
}

// ---------------------------------------------------------------------------------------------
// One connection

/// Removes the client from the shared state however the connection task ends.
struct ClientGuard {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        if st.clients.remove(&self.id).is_some() {
            self.shared.identified.send_replace(st.identified_count());
        }
    }
}

struct Pending {
    due: Instant,
    received: Instant,
    op: u64,
    d: Value,
}

/// One request as the fake handles it.
struct Call {
    request_type: String,
    request_id: Option<String>,
    data: Value,
    received: Instant,
    in_batch: bool,
}

impl Call {
    /// From a validated Request (op 6) `d` object.
    fn request(d: &Value, received: Instant) -> Call {
        Call {
            request_type: d["requestType"].as_str().unwrap_or_default().to_owned(),
            request_id: d["requestId"].as_str().map(str::to_owned),
            data: d.get("requestData").cloned().unwrap_or(Value::Null),
            received,
            in_batch: false,
        }
    }
}

enum Step {
    Abort,
    Out(Option<Outgoing>),
    Due,
    In(Option<Result<Message, WsError>>),
}

type Close = Option<(u16, String)>;

fn close(code: u16, reason: impl Into<String>) -> Close {
    Some((code, reason.into()))
}

async fn serve(shared: Arc<Shared>, stream: TcpStream, cancel: CancellationToken) {
    let _ = stream.set_nodelay(true);
    let ws = tokio::select! {
        () = cancel.cancelled() => return,
        ws = tokio::time::timeout(Duration::from_secs(5), tokio_tungstenite::accept_async(stream)) => ws,
    };
    let Ok(Ok(ws)) = ws else {
        return;
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let (id, hello, expected_auth) = {
        let mut st = shared.lock();
        let id = st.next_client;
        st.next_client += 1;
        st.clients.insert(
            id,
            ClientEntry {
                tx,
                identified: false,
                subscriptions: 0,
                incoming: 0,
                outgoing: 1,
            },
        );
        let mut hello = json!({ "obsWebSocketVersion": st.websocket_version, "rpcVersion": 1 });
        let mut expected_auth = None;
        if let Some(password) = &st.password {
            let challenge = BASE64.encode(random_bytes(32));
            let salt = BASE64.encode(random_bytes(32));
            expected_auth = Some(auth_string(password, &salt, &challenge));
            hello["authentication"] = json!({ "challenge": challenge, "salt": salt });
        }
        (id, hello, expected_auth)
    };
    let _guard = ClientGuard {
        shared: Arc::clone(&shared),
        id,
    };
    let mut conn = Conn {
        shared,
        id,
        ws,
        rx,
        cancel,
        identified: false,
        expected_auth,
        pending: VecDeque::new(),
    };
    let hello = json!({ "op": op::HELLO, "d": hello }).to_string();
    if conn.send(Message::text(hello)).await {
        conn.run().await;
    }
}

/// The obs-websocket authentication string:
/// `base64(sha256(base64(sha256(password + salt)) + challenge))`.
pub fn auth_string(password: &str, salt: &str, challenge: &str) -> String {
    let secret = BASE64.encode(Sha256::digest(format!("{password}{salt}")));
    BASE64.encode(Sha256::digest(format!("{secret}{challenge}")))
}

async fn sleep_until_opt(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

struct Conn {
    shared: Arc<Shared>,
    id: u64,
    ws: WebSocketStream<TcpStream>,
    rx: mpsc::UnboundedReceiver<Outgoing>,
    cancel: CancellationToken,
    identified: bool,
    expected_auth: Option<String>,
    pending: VecDeque<Pending>,
}

impl Conn {
    async fn run(&mut self) {
        loop {
            let due = self.pending.front().map(|p| p.due);
            let step = tokio::select! {
                biased;
                () = self.cancel.cancelled() => Step::Abort,
                out = self.rx.recv() => Step::Out(out),
                () = sleep_until_opt(due) => Step::Due,
                msg = self.ws.next() => Step::In(msg),
            };
            let close = match step {
                Step::Abort | Step::Out(None) | Step::In(None | Some(Err(_))) => return,
                Step::Out(Some(Outgoing::Text(text))) => {
                    if !self.send(Message::text(text)).await {
                        return;
                    }
                    None
                }
                Step::Out(Some(Outgoing::Close(code, reason))) => Some((code, reason)),
                Step::Due => match self.pending.pop_front() {
                    Some(pending) if pending.op == op::REQUEST_BATCH => {
                        self.process_batch(pending).await
                    }
                    Some(pending) => {
                        self.process_request(&pending);
                        None
                    }
                    None => None,
                },
                Step::In(Some(Ok(msg))) => self.on_message(msg),
            };
            if let Some((code, reason)) = close {
                self.close_and_linger(code, &reason).await;
                return;
            }
        }
    }

    /// Sends one frame; `false` when the socket is gone or the fake is stopping.
    async fn send(&mut self, msg: Message) -> bool {
        tokio::select! {
            () = self.cancel.cancelled() => false,
            sent = self.ws.send(msg) => sent.is_ok(),
        }
    }

    async fn close_and_linger(&mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        if !self.send(Message::Close(Some(frame))).await {
            return;
        }
        // Wait for the client's close reply (or the socket end) so the close handshake
        // completes cleanly, but never for long.
        let ws = &mut self.ws;
        let drain = async move { while let Some(Ok(_)) = ws.next().await {} };
        tokio::select! {
            () = self.cancel.cancelled() => {}
            _ = tokio::time::timeout(Duration::from_secs(2), drain) => {}
        }
    }

    fn on_message(&mut self, msg: Message) -> Close {
        match msg {
            Message::Text(text) => self.on_text(text.as_str()),
            Message::Binary(_) => close(
                close_code::MESSAGE_DECODE_ERROR,
                "Binary messages are not supported with the JSON encoding.",
            ),
            // Pings are answered by tungstenite; a Close is answered on the next read.
            _ => None,
        }
    }

    fn on_text(&mut self, text: &str) -> Close {
        let now = Instant::now();
        let delay = {
            let mut st = self.shared.lock();
            if let Some(client) = st.clients.get_mut(&self.id) {
                client.incoming += 1;
            }
            st.script.delay
        };
        let Ok(message) = serde_json::from_str::<Value>(text) else {
            return close(
                close_code::MESSAGE_DECODE_ERROR,
                "Unable to decode the message as JSON.",
            );
        };
        let Some(op) = message.get("op") else {
            return close(
                close_code::MISSING_DATA_FIELD,
                "Your request is missing an `op`.",
            );
        };
        let Some(op) = op.as_u64() else {
            return close(
                close_code::INVALID_DATA_FIELD_TYPE,
                "Your `op` is not a number.",
            );
        };
        let Some(d) = message.get("d").filter(|d| d.is_object()).cloned() else {
            return close(
                close_code::MISSING_DATA_FIELD,
                "Your request is missing a `d` object.",
            );
        };
        if !self.identified {
            return if op == op::IDENTIFY {
                self.identify(&d)
            } else {
                close(
                    close_code::NOT_IDENTIFIED,
                    "You attempted to send a non-Identify message while not identified.",
                )
            };
        }
        match op {
            op::IDENTIFY => close(
                close_code::ALREADY_IDENTIFIED,
                "You are already Identified with the obs-websocket server.",
            ),
            op::REIDENTIFY => self.reidentify(&d),
            op::REQUEST | op::REQUEST_BATCH => {
                if !d.get("requestId").is_some_and(Value::is_string) {
                    return close(
                        close_code::MISSING_DATA_FIELD,
                        "Your request is missing a `requestId` string.",
                    );
                }
                if op == op::REQUEST && !d.get("requestType").is_some_and(Value::is_string) {
                    return close(
                        close_code::MISSING_DATA_FIELD,
                        "Your request is missing a `requestType` string.",
                    );
                }
                if op == op::REQUEST_BATCH && !d.get("requests").is_some_and(Value::is_array) {
                    return close(
                        close_code::MISSING_DATA_FIELD,
                        "Your request batch is missing a `requests` array.",
                    );
                }
                if op == op::REQUEST {
                    let call = Call::request(&d, now);
                    if delay.is_zero() && self.pending.is_empty() {
                        // Answer at once: recorded, state changed and answer queued under one
                        // lock, so `wait_for_request` sees the new state.
                        self.answer(&call, false, true);
                        return None;
                    }
                    // Delayed: recorded now (a test can see it arrived), answered when due.
                    let mut st = self.shared.lock();
                    self.record(&mut st, &call);
                }
                self.pending.push_back(Pending {
                    due: now + delay,
                    received: now,
                    op,
                    d,
                });
                None
            }
            _ => close(close_code::UNKNOWN_OP_CODE, format!("Unknown OpCode: {op}")),
        }
    }

    fn subscriptions(d: &Value) -> Result<u32, Close> {
        match d.get("eventSubscriptions") {
            None | Some(Value::Null) => Ok(subscription::ALL),
            Some(value) => value
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| {
                    close(
                        close_code::INVALID_DATA_FIELD_TYPE,
                        "Your `eventSubscriptions` is not a number.",
                    )
                }),
        }
    }

    fn identify(&mut self, d: &Value) -> Close {
        let Some(rpc) = d.get("rpcVersion") else {
            return close(
                close_code::MISSING_DATA_FIELD,
                "Your payload's data is missing an `rpcVersion`.",
            );
        };
        let Some(rpc) = rpc.as_u64() else {
            return close(
                close_code::INVALID_DATA_FIELD_TYPE,
                "Your `rpcVersion` is not a number.",
            );
        };
        if rpc != 1 {
            return close(
                close_code::UNSUPPORTED_RPC_VERSION,
                format!("Requested an unsupported RPC version: {rpc}"),
            );
        }
        let subscriptions = match Self::subscriptions(d) {
            Ok(subscriptions) => subscriptions,
            Err(close) => return close,
        };
        let sent = d.get("authentication").and_then(Value::as_str);
        let auth_ok = match &self.expected_auth {
            None => true,
            Some(expected) => sent == Some(expected.as_str()),
        };
        let mut st = self.shared.lock();
        if st.script.refuse_auth || !auth_ok {
            return close(close_code::AUTHENTICATION_FAILED, "Authentication failed.");
        }
        let Some(client) = st.clients.get_mut(&self.id) else {
            // drop_connections raced with Identify: the task is about to end anyway.
            return None;
        };
        client.identified = true;
        client.subscriptions = subscriptions;
        st.send_to(
            self.id,
            op::IDENTIFIED,
            json!({ "negotiatedRpcVersion": 1 }),
        );
        self.shared.identified.send_replace(st.identified_count());
        self.identified = true;
        None
    }

    fn reidentify(&mut self, d: &Value) -> Close {
        let subscriptions = match Self::subscriptions(d) {
            Ok(subscriptions) => subscriptions,
            Err(close) => return close,
        };
        let mut st = self.shared.lock();
        if let Some(client) = st.clients.get_mut(&self.id) {
            client.subscriptions = subscriptions;
        }
        st.send_to(
            self.id,
            op::IDENTIFIED,
            json!({ "negotiatedRpcVersion": 1 }),
        );
        None
    }

    /// Records a request (under the lock) and wakes `wait_for_request`.
    fn record(&self, st: &mut State, call: &Call) {
        st.requests.push(Recorded {
            request_type: call.request_type.clone(),
            data: call.data.clone(),
            received: call.received,
            connection: self.id,
            in_batch: call.in_batch,
        });
        self.shared.requests_seen.send_replace(st.requests.len());
    }

    /// Handles one request under the lock: records it unless it already was, queues its answer
    /// (when `send`) then its events. Returns the RequestResponse `d` object and success.
    fn answer(&self, call: &Call, already_recorded: bool, send: bool) -> (Value, bool) {
        let mut st = self.shared.lock();
        let reply = if call.request_type == "Sleep" {
            Reply::err(
                status::UNSUPPORTED_REQUEST_BATCH_EXECUTION_TYPE,
                "Sleep is only available in request batches.",
            )
        } else {
            st.handle(self.id, &call.request_type, &call.data)
        };
        let response = reply.response_json(&call.request_type, call.request_id.as_deref());
        if send {
            st.send_to(self.id, op::REQUEST_RESPONSE, response.clone());
        }
        for event in &reply.events {
            st.emit(event);
        }
        if !already_recorded {
            self.record(&mut st, call);
        }
        (response, reply.code == status::SUCCESS)
    }

    fn process_request(&mut self, pending: &Pending) {
        let call = Call::request(&pending.d, pending.received);
        self.answer(&call, true, true);
    }

    async fn process_batch(&mut self, pending: Pending) -> Close {
        let halt_on_failure = pending.d["haltOnFailure"].as_bool().unwrap_or(false);
        let requests = pending.d["requests"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut results = Vec::with_capacity(requests.len());
        for request in requests {
            let call = Call {
                request_type: request["requestType"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                request_id: request["requestId"].as_str().map(str::to_owned),
                data: request.get("requestData").cloned().unwrap_or(Value::Null),
                received: pending.received,
                in_batch: true,
            };
            let (result, ok) = match call.request_type.as_str() {
                "" => {
                    let reply = Reply::err(
                        status::MISSING_REQUEST_TYPE,
                        "Your request is missing a `requestType`.",
                    );
                    (reply.response_json("", call.request_id.as_deref()), false)
                }
                "Sleep" => {
                    let data = &call.data;
                    let millis = data["sleepMillis"]
                        .as_u64()
                        .unwrap_or_else(|| data["sleepFrames"].as_u64().unwrap_or(0) * 1000 / FPS);
                    tokio::select! {
                        () = self.cancel.cancelled() => return None,
                        () = tokio::time::sleep(Duration::from_millis(millis.min(50_000))) => {}
                    }
                    let mut st = self.shared.lock();
                    self.record(&mut st, &call);
                    (
                        Reply::ok().response_json("Sleep", call.request_id.as_deref()),
                        true,
                    )
                }
                _ => self.answer(&call, false, false),
            };
            results.push(result);
            if halt_on_failure && !ok {
                break;
            }
        }
        let mut st = self.shared.lock();
        st.send_to(
            self.id,
            op::REQUEST_BATCH_RESPONSE,
            json!({ "requestId": pending.d["requestId"], "results": results }),
        );
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Randomness without a rand dependency

fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(since_epoch) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(since_epoch.as_nanos());
    }
    hasher.finish()
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        bytes.extend_from_slice(&random_u64().to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// A random version-4 UUID string, e.g. `1b4e28ba-2fa1-4d2b-883f-0016d3cca427`.
pub fn new_uuid() -> String {
    let high = random_u64();
    let low = random_u64();
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        (high & 0x0fff) | 0x4000,
        ((low >> 48) & 0x3fff) | 0x8000,
        low & 0xffff_ffff_ffff
    )
}
