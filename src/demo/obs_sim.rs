//! The demo's OBS Studio: an obs-websocket v5 server on `127.0.0.1` that the real `obws` 0.15
//! client connects to (the integration tests use it as their fake OBS too).
//!
//! It speaks the real protocol (Hello / Identify with SHA-256 authentication / Identified /
//! Reidentify / Request / RequestResponse / RequestBatch / Event with subscription bitmasks),
//! keeps a small OBS state (scenes with UUIDs, program scene, stream and record outputs, media
//! inputs, audio inputs with their mute state, scene items with their enabled state) and records
//! every request it answers. Failures are scripted with `refuse_auth`,
//! `delay_answers`, `fail_stream_after_start`, `ignore_stop` and `freeze_media`; the streamer is
//! played with `set_scene`, `set_streaming`, `set_recording`, `add_scene`, ...; the upload's
//! troubles with `set_reconnecting` (StreamStateChanged RECONNECTING/RECONNECTED and
//! `outputReconnecting`), `set_congestion`, `set_dropped_share` (`outputSkippedFrames`) and
//! `set_disk_space_mb` (GetStats `availableDiskSpace`).
//!
//! The protocol lives in `obs_sim/connection.rs` (one task per socket), OBS's state in
//! `obs_sim/state.rs`, the requests that read and change it in `obs_sim/requests.rs`.
//!
//! Guarantees: the state lives behind one `std::sync::Mutex` that is never held across an
//! `.await`; a misbehaving client is closed with the obs-websocket close code OBS would use and
//! never panics the simulator; every task it spawns ends when the [`ObsSim`] is dropped or shut
//! down. Times (request `received`, stream duration, output bytes) use `tokio::time::Instant`,
//! so the simulator also follows a paused tokio clock.

mod connection;
mod requests;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use connection::auth_string;
use connection::serve;
use state::{Ev, Outgoing, Shared};

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

/// obs-websocket `WebSocketCloseCode` values the simulator uses.
pub mod close_code {
    /// Standard WebSocket "going away": used when the simulator shuts down or restarts.
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

/// obs-websocket `RequestStatus` codes the simulator answers with (all known to obws 0.15).
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
    /// The input cannot do that (`SetInputMute` on an input without audio).
    pub const INVALID_RESOURCE_STATE: u16 = 604;
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
const OUTPUT_RECONNECTING: &str = "OBS_WEBSOCKET_OUTPUT_RECONNECTING";
const OUTPUT_RECONNECTED: &str = "OBS_WEBSOCKET_OUTPUT_RECONNECTED";

const MEDIA_ACTIONS: [&str; 7] = [
    "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_NONE",
    "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_PLAY",
    "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_PAUSE",
    "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_STOP",
    "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_RESTART",
    "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_NEXT",
    "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_PREVIOUS",
];

/// The request types the simulator implements (reported in GetVersion `availableRequests`).
pub const AVAILABLE_REQUESTS: [&str; 30] = [
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
    "GetInputMute",
    "SetInputMute",
    "GetSceneItemId",
    "GetSceneItemEnabled",
    "SetSceneItemEnabled",
    "CreateScene",
    "RemoveScene",
    "BroadcastCustomEvent",
    "Sleep",
];

/// Recording bitrate used for `outputBytes` of the record output.
const RECORD_KBPS: u32 = 6000;
/// Frame rate used for frame counters.
const FPS: u64 = 30;

/// How the simulated OBS starts.
#[derive(Clone, Debug)]
pub struct ObsSimOptions {
    /// obs-websocket password; `None` means no authentication block in Hello.
    pub password: Option<String>,
    /// OBS Studio version reported by GetVersion (`obsVersion`); must be semver, e.g. "31.0.2".
    pub obs_version: String,
    /// obs-websocket version reported in Hello and GetVersion; must be semver, e.g. "5.5.4".
    /// Before 5.3 the simulator answers as those versions do: no `*Uuid` field in any answer
    /// or event, `GetCurrentProgramScene` with `currentProgramSceneName` only, scenes and
    /// inputs found by name only.
    pub websocket_version: String,
    /// Scene names in OBS UI order (top of the Scenes dock first).
    pub scenes: Vec<String>,
    /// The program scene at start; must be one of `scenes`.
    pub current_scene: String,
    /// Whether the stream output is already live at start.
    pub streaming: bool,
    /// Rate at which `outputBytes` grows while streaming.
    pub stream_kbps: u32,
    /// Media inputs (kind `ffmpeg_source`, with audio), all `OBS_MEDIA_STATE_PLAYING` at start.
    pub media_inputs: Vec<String>,
    /// Audio capture inputs (kind `pulse_input_capture`), unmuted at start.
    pub audio_inputs: Vec<String>,
    /// Video capture inputs without audio (kind `v4l2_input`): `SetInputMute` refuses them.
    pub video_inputs: Vec<String>,
    /// Scene items as (scene, source) pairs, in order; each enabled at start, ids counting up
    /// from 1 in each scene. Every scene must be one of `scenes`.
    pub scene_items: Vec<(String, String)>,
}

impl Default for ObsSimOptions {
    fn default() -> Self {
        ObsSimOptions {
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
            audio_inputs: ["Mic/Aux", "Desktop Audio"].map(str::to_owned).to_vec(),
            video_inputs: vec!["Webcam".to_owned()],
            scene_items: [
                ("LIVE", "SRT Ingest"),
                ("LIVE", "Webcam"),
                ("LIVE", "Mic/Aux"),
                ("BRB", "Webcam"),
            ]
            .map(|(scene, source)| (scene.to_owned(), source.to_owned()))
            .to_vec(),
        }
    }
}

/// One request the simulator received.
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

/// What the simulator refuses to do.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The options name a current scene that is not in the scene list.
    #[error("the current scene {current:?} is not one of the scenes {scenes:?}")]
    CurrentSceneMissing {
        current: String,
        scenes: Vec<String>,
    },
    /// No scene with this name.
    #[error("no scene named {0:?}")]
    NoScene(String),
    /// OBS always keeps one scene.
    #[error("{0:?} is the last scene")]
    LastScene(String),
    /// No media input with this name.
    #[error("no input named {0:?}")]
    NoInput(String),
    /// Not one of [`media_state::ALL`].
    #[error("unknown media state {0:?}")]
    UnknownMediaState(String),
    /// The listening socket.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
}

/// The simulated OBS. Dropping it stops every task and closes every socket without a close
/// frame.
pub struct ObsSim {
    shared: Arc<Shared>,
    port: u16,
    root: CancellationToken,
    listener_stop: CancellationToken,
    accept_task: Option<JoinHandle<()>>,
    tracker: TaskTracker,
}

impl ObsSim {
    /// Starts listening on `127.0.0.1:0` inside the current tokio runtime.
    pub async fn start(options: ObsSimOptions) -> Result<ObsSim, SimError> {
        if !options.scenes.contains(&options.current_scene) {
            return Err(SimError::CurrentSceneMissing {
                current: options.current_scene,
                scenes: options.scenes,
            });
        }
        if let Some((scene, _)) = options
            .scene_items
            .iter()
            .find(|(scene, _)| !options.scenes.contains(scene))
        {
            return Err(SimError::NoScene(scene.clone()));
        }
        let bind_error = |port, source| SimError::Bind { port, source };
        let listener = bind(0).map_err(|e| bind_error(0, e))?;
        let port = listener.local_addr().map_err(|e| bind_error(0, e))?.port();
        let root = CancellationToken::new();
        let mut obs = ObsSim {
            shared: Arc::new(Shared::new(options, root.child_token())),
            port,
            listener_stop: root.child_token(),
            root,
            accept_task: None,
            tracker: TaskTracker::new(),
        };
        obs.listen(listener);
        Ok(obs)
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

    /// The UUID the simulator gave a scene.
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

    /// Whether an input is muted; `None` for no such input, or one without audio.
    pub fn input_muted(&self, input: &str) -> Option<bool> {
        let st = self.shared.lock();
        st.inputs
            .iter()
            .find(|i| i.name == input && i.audio)
            .map(|i| i.muted)
    }

    /// Whether the first item of `source` in `scene` is enabled (visible); `None` when the
    /// scene has no such item.
    pub fn scene_item_enabled(&self, scene: &str, source: &str) -> Option<bool> {
        let st = self.shared.lock();
        st.scenes
            .iter()
            .find(|s| s.name == scene)?
            .items
            .iter()
            .find(|item| item.source == source)
            .map(|item| item.enabled)
    }

    /// Mutes or unmutes an input as if done in OBS's mixer: emits InputMuteStateChanged when it
    /// changes.
    pub fn set_input_muted(&self, input: &str, muted: bool) -> Result<(), SimError> {
        let mut st = self.shared.lock();
        let index = st
            .inputs
            .iter()
            .position(|i| i.name == input && i.audio)
            .ok_or_else(|| SimError::NoInput(input.to_owned()))?;
        if let Some(event) = st.mute_input(index, muted) {
            st.emit(&event);
        }
        Ok(())
    }

    /// Shows or hides the first item of `source` in `scene` as if clicked in OBS's Sources
    /// dock: emits SceneItemEnableStateChanged when it changes.
    pub fn set_scene_item_enabled(
        &self,
        scene: &str,
        source: &str,
        enabled: bool,
    ) -> Result<(), SimError> {
        let mut st = self.shared.lock();
        let uuid = st
            .scene_uuid(scene)
            .ok_or_else(|| SimError::NoScene(scene.to_owned()))?;
        let item = st
            .scenes
            .iter()
            .find(|s| s.uuid == uuid)
            .and_then(|s| s.items.iter().find(|i| i.source == source))
            .map(|i| i.id)
            .ok_or_else(|| SimError::NoInput(source.to_owned()))?;
        if let Some(event) = st.enable_item(&uuid, item, enabled) {
            st.emit(&event);
        }
        Ok(())
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
    /// CurrentProgramSceneChanged.
    pub fn set_scene(&self, name: &str) -> Result<(), SimError> {
        let mut st = self.shared.lock();
        let uuid = st
            .scene_uuid(name)
            .ok_or_else(|| SimError::NoScene(name.to_owned()))?;
        let event = st.switch_scene(uuid);
        st.emit(&event);
        Ok(())
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

    /// The stream output loses the ingest and reconnects (`true`: StreamStateChanged
    /// RECONNECTING, `outputReconnecting` in GetStreamStatus) or is connected again (`false`:
    /// RECONNECTED). The output stays active meanwhile, as OBS's does. No-op without a stream
    /// or when already so.
    pub fn set_reconnecting(&self, on: bool) {
        let mut st = self.shared.lock();
        if !st.stream.active || st.stream.reconnecting == on {
            return;
        }
        st.stream.reconnecting = on;
        let state = if on {
            OUTPUT_RECONNECTING
        } else {
            OUTPUT_RECONNECTED
        };
        st.emit(&state::stream_event(true, state));
    }

    /// The stream output's congestion (`outputCongestion`, 0 to 1) from now on.
    pub fn set_congestion(&self, congestion: f64) {
        self.shared.lock().stream.congestion = congestion.clamp(0.0, 1.0);
    }

    /// From now on the stream output drops this share (0 to 1) of its frames
    /// (`outputSkippedFrames`, in GetStreamStatus and GetStats).
    pub fn set_dropped_share(&self, share: f64) {
        self.shared
            .lock()
            .stream
            .set_dropped_share(Instant::now(), share);
    }

    /// GetStats `availableDiskSpace` (MB) from now on.
    pub fn set_disk_space_mb(&self, mb: f64) {
        self.shared.lock().disk_space_mb = mb;
    }

    /// Starts or stops the recording as if done in OBS: emits RecordStateChanged
    /// STARTING+STARTED or STOPPING+STOPPED. No-op when already so.
    pub fn set_recording(&self, active: bool) {
        let mut st = self.shared.lock();
        if st.record.active == active {
            return;
        }
        let events = if active {
            st.start_record(Instant::now())
        } else {
            st.stop_record().1
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
    /// becomes ENDED or STOPPED.
    pub fn set_media_state(&self, input: &str, state: &str) -> Result<(), SimError> {
        let state = media_state::ALL
            .into_iter()
            .find(|s| *s == state)
            .ok_or_else(|| SimError::UnknownMediaState(state.to_owned()))?;
        let mut st = self.shared.lock();
        let index = st
            .inputs
            .iter()
            .position(|i| i.name == input)
            .ok_or_else(|| SimError::NoInput(input.to_owned()))?;
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
        Ok(())
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
    /// first if it was the program scene; OBS then shows the top scene).
    pub fn remove_scene(&self, name: &str) -> Result<(), SimError> {
        let mut st = self.shared.lock();
        let uuid = st
            .scene_uuid(name)
            .ok_or_else(|| SimError::NoScene(name.to_owned()))?;
        if st.scenes.len() == 1 {
            return Err(SimError::LastScene(name.to_owned()));
        }
        let events = st.delete_scene(&uuid);
        for event in &events {
            st.emit(event);
        }
        Ok(())
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
    pub async fn restart(&mut self) -> Result<(), SimError> {
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
                Err(source) => {
                    return Err(SimError::Bind {
                        port: self.port,
                        source,
                    });
                }
            }
        };
        self.listen(listener);
        Ok(())
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

impl Drop for ObsSim {
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
// Randomness from the operating system (getrandom): the challenge and salt must not be
// guessable, and uuids must not repeat. Linux always has a source (getrandom(2) or
// /dev/urandom); without one the simulator cannot authenticate anyone, so it stops there.

fn random_u64() -> u64 {
    getrandom::u64().expect("the operating system's random source")
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
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
