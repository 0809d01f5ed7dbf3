//! The two shared channels: `watch<Status>` (the current state of everything) and
//! `broadcast<Event>` (things that happened). Every subscriber (status page, `/api/status`,
//! Discord embed, overlay) reads these; nothing polls another component's internals.
//!
//! **Invariant:** `Status` holds no secret; `tests/web.rs` checks `/api/status` against the
//! secrets of a run.

use serde::Serialize;
use std::collections::BTreeMap;

/// Version of the `/api/status` JSON schema. Bumped on any incompatible change.
pub const STATUS_SCHEMA: u32 = 1;

/// The current state of everything, as served by `/api/status` (schema documented in README).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    /// [`STATUS_SCHEMA`].
    pub schema: u32,
    /// The bot's version.
    pub version: &'static str,
    /// When the process started, seconds since the Unix epoch.
    pub started_at_unix: u64,
    /// Which features are configured (config section present).
    pub features: BTreeMap<&'static str, bool>,
    /// Supervised tasks by name.
    pub tasks: BTreeMap<String, TaskStatus>,
    /// The web server, once it listens.
    pub web: Option<WebStatus>,
    /// OBS, when the `obs` section is configured.
    pub obs: Option<ObsStatus>,
}

/// OBS as the bot sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObsStatus {
    pub connection: ObsConnection,
    /// OBS Studio version, once connected.
    pub version: Option<String>,
    /// The current program scene.
    pub scene: Option<String>,
    /// Every scene, in OBS's order.
    pub scenes: Vec<String>,
    /// Whether the stream output is active (from `StreamStateChanged`/`GetStreamStatus`).
    pub streaming: bool,
    /// The stream output's state, as OBS last reported it.
    pub stream_state: StreamState,
    pub recording: bool,
    /// How long the stream has been live, in seconds, as OBS reports it.
    pub stream_uptime_secs: Option<u64>,
    /// Outgoing bitrate (from `outputBytes` deltas), kbps.
    pub outgoing_kbps: Option<u32>,
    /// Frames OBS dropped because of network congestion since the stream started.
    pub skipped_frames: Option<u32>,
    pub total_frames: Option<u32>,
    pub congestion: Option<f32>,
    pub fps: Option<f64>,
    pub cpu_percent: Option<f64>,
}

/// The stream output's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamState {
    #[default]
    Idle,
    Starting,
    Live,
    Stopping,
    Reconnecting,
}

/// The connection to OBS, with the reason when there is none.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum ObsConnection {
    #[default]
    Connecting,
    Connected,
    /// Not reachable (the reason: connection refused, timed out…).
    Offline(String),
    /// OBS refused the password.
    AuthenticationFailed,
    /// OBS or obs-websocket is too old for this bot (the version found).
    TooOld(String),
}

/// One supervised task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskStatus {
    pub state: TaskState,
    /// How many times it was restarted after a failure.
    pub restarts: u32,
    /// The last failure, redacted.
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    Running,
    /// Failed; waiting for its backoff before the next start.
    Restarting,
    /// Finished (shut down, or done, e.g. the console at end of input).
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebStatus {
    /// The address the web server listens on.
    pub listening: String,
}

impl Status {
    pub fn new(features: BTreeMap<&'static str, bool>, started_at_unix: u64) -> Status {
        Status {
            schema: STATUS_SCHEMA,
            version: env!("CARGO_PKG_VERSION"),
            started_at_unix,
            features,
            tasks: BTreeMap::new(),
            web: None,
            obs: None,
        }
    }
}

/// Something that happened. Serialised as `{"event": "...", "data": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum Event {
    /// A command went through dispatch.
    CommandHandled {
        surface: crate::dispatch::Surface,
        user_id: String,
        command: &'static str,
        outcome: crate::reply::Outcome,
    },
    /// A supervised task failed or panicked and will be restarted.
    TaskFailed { task: String, error: String },
    /// Connected to OBS.
    ObsConnected { version: String },
    /// The connection to OBS was lost.
    ObsLost { reason: String },
    /// OBS shows another program scene (whoever switched it).
    ObsSceneChanged { scene: String },
    /// OBS's stream output started or stopped.
    ObsStreamChanged { streaming: bool },
    /// The bot switched a scene.
    SceneSwitched {
        by: SwitchedBy,
        from: Option<String>,
        to: String,
    },
}

/// Who switched a scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchedBy {
    Guard,
    Command,
}
