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
}
