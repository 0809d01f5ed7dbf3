//! The two shared channels: `watch<Status>` (the current state of everything) and
//! `broadcast<Event>` (things that happened). Every subscriber (status page, `/api/status`,
//! Discord embed, overlay) reads these; nothing polls another component's internals.
//!
//! **Invariant:** `Status` holds no secret; `tests/it/web.rs` checks `/api/status` against the
//! secrets of a run.

mod health;

pub use health::{Health, Level, unit_level};
use serde::Serialize;
use std::collections::BTreeMap;
use tokio::sync::{broadcast, watch};

/// Now, in seconds since the Unix epoch: the unit of every `*_unix` field.
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// An error with its causes on one line (a cause its parent already quotes is not repeated), as
/// Status fields and log lines show errors.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Version of the `/api/status` JSON schema. Bumped on any incompatible change.
pub const STATUS_SCHEMA: u32 = 1;

/// The current state of everything, as served by `/api/status` (schema documented in docs/http.md).
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
    /// The bitrate guard, when the `guard` section is configured.
    pub guard: Option<GuardStatus>,
    /// Twitch, when the `twitch` section is configured.
    pub twitch: Option<TwitchStatus>,
    /// Kick chat, when the `kick` section is configured.
    pub kick: Option<KickStatus>,
    /// Discord, when the `discord` section is configured.
    pub discord: Option<DiscordStatus>,
    /// Restream endpoints and the last apply, when the `restream` section is configured.
    pub restream: Option<RestreamStatus>,
    /// The stream PC's reachability, when the `power` section is configured.
    pub power: Option<PowerStatus>,
    /// systemd unit states, when the `services` section is configured.
    pub services: Option<ServicesStatus>,
}

/// The Discord bot's connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DiscordStatus {
    /// `connecting`, `connected`, `resuming` or `failed`.
    pub state: &'static str,
    /// Why it is not connected (redacted).
    pub reason: Option<String>,
    /// The bot's user name, once connected.
    pub bot_user: Option<String>,
    /// Slash commands in the server: `registered` (changed and sent), `unchanged`, or
    /// `failed: …`.
    pub commands: Option<String>,
}

/// Restream endpoints (never a key) and how the last apply went.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RestreamStatus {
    pub endpoints: Vec<EndpointStatus>,
    /// `None` until the first apply (or check at start).
    pub last_apply: Option<ApplyStatus>,
}

/// One restream endpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointStatus {
    pub name: String,
    /// `twitch`, `youtube`, `kick` or `custom`.
    pub platform: &'static str,
    pub enabled: bool,
    /// The base URL, without the key.
    pub url_masked: String,
}

/// The last apply of the push list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplyStatus {
    pub ok: bool,
    pub at_unix: u64,
    /// nginx's (or stunnel's) error text, redacted.
    pub error: Option<String>,
}

/// The stream PC, probed every 10 s.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PowerStatus {
    /// Whether the probe port answered; `None` before the first probe.
    pub reachable: Option<bool>,
    pub checked_unix: Option<u64>,
    /// Why the probe failed.
    pub error: Option<String>,
}

/// systemd units by their configured key, polled every 10 s.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServicesStatus {
    pub units: BTreeMap<String, ServiceUnitStatus>,
}

/// One unit's state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceUnitStatus {
    pub unit: String,
    /// `systemctl is-active`'s answer: `active`, `inactive`, `failed`, `activating`,
    /// `deactivating`, `reloading`, or `unknown` (not asked yet, or systemctl failed).
    pub state: String,
    /// Why the state is unknown.
    pub error: Option<String>,
}

/// Twitch as the bot sees it. Never a token.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TwitchStatus {
    pub token: TokenState,
    /// The broadcaster the token belongs to.
    pub login: Option<String>,
    pub user_id: Option<String>,
    pub token_expires_in_secs: Option<u64>,
    /// Scopes the token lacks for the enabled features (log in again to grant them).
    pub missing_scopes: Vec<String>,
    /// Why the token is not usable.
    pub token_error: Option<String>,
    /// Only a new login (`stream-control twitch login`) can help: none stored, or Twitch
    /// refused the refresh token (authorization revoked). Nothing is retried meanwhile.
    pub login_required: bool,
    pub live: Option<bool>,
    pub viewers: Option<u64>,
    pub title: Option<String>,
    pub category: Option<String>,
    pub live_since_unix: Option<u64>,
    /// The separate bot account chat is sent as, when one is logged in.
    pub bot_login: Option<String>,
    pub bot_token: Option<TokenState>,
    pub eventsub: EventSubStatus,
    /// The ad break running now (EventSub `channel.ad_break.begin`), until it is over.
    pub ad_break: Option<AdBreakStatus>,
}

/// Kick chat as the bot reads it. Never a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KickStatus {
    /// How chat is read: `pusher` (Kick's chat socket), `webhook`, or `none` (not read).
    pub reader: &'static str,
    /// The reader's state. Pusher: `connecting`, `connected`, `reconnecting`, `gave_up`
    /// (Pusher said retrying will not help: a restart is needed), `stopped`. Webhook:
    /// `waiting` (nothing from Kick yet) or `receiving`. `none`: not read.
    pub chat: &'static str,
    /// Why the reader is not connected, or the last refused delivery, for people.
    pub chat_error: Option<String>,
    /// Webhook deliveries handed over and refused since start.
    pub deliveries: Option<u64>,
    pub refused: Option<u64>,
}

/// An ad break Twitch is running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdBreakStatus {
    /// When it began (as the bot saw it), seconds since the epoch.
    pub started_at: u64,
    pub duration_secs: u32,
    /// Twitch's ads manager ran it, not a person (`ad`).
    pub automatic: bool,
}

/// The EventSub WebSocket session.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EventSubStatus {
    /// `waiting_for_token`, `connecting`, `connected`, `reconnecting`, `authorization_revoked`
    /// (until a new login).
    pub state: &'static str,
    pub session_id: Option<String>,
    /// Per subscription type: `enabled`, `waiting`, `failed: …`, `revoked: …`.
    pub subscriptions: BTreeMap<String, String>,
    /// When the last message (any kind) arrived, seconds since the epoch.
    pub last_message_unix: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenState {
    #[default]
    Checking,
    Valid,
    /// No token stored: `stream-control twitch login`.
    Missing,
    /// Invalid and could not be refreshed; retried with backoff.
    Failing,
}

/// The bitrate guard as it decides.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GuardStatus {
    /// Switching scenes (`guard on`/`off`).
    pub enabled: bool,
    /// Deciding and announcing without switching.
    pub dry_run: bool,
    /// The owned scene the guard believes OBS shows: `live`, `low`, `offline`, `starting`, or
    /// `None` on any other scene (manual override) or before OBS answered.
    pub level: Option<&'static str>,
    /// Why the guard is not deciding right now, if it is not.
    pub idle_reason: Option<&'static str>,
    /// The server whose numbers are used (the first with a publisher, in priority order).
    pub active_server: Option<String>,
    /// Every stats server, in priority order.
    pub servers: Vec<ServerStatus>,
    /// The thresholds in force (changed at run time by `trigger`).
    pub triggers: Triggers,
    /// The controls changed at run time and kept across restarts, by the command that changes
    /// each (`guard`, `dryrun`, `trigger low`, …); empty when all are as configured.
    pub changed_at_runtime: Vec<&'static str>,
}

/// One stats server's last answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerStatus {
    pub name: String,
    /// The server type, e.g. `nginx-rtmp`.
    pub kind: &'static str,
    /// `live`, `no_publisher`, `error`, or `waiting` (no answer yet).
    pub state: &'static str,
    pub bitrate_kbps: Option<u32>,
    pub rtt_ms: Option<u32>,
    /// Why there is no bitrate (unreachable, HTTP status, parse error naming the type).
    pub error: Option<String>,
}

/// The thresholds in force; `None` is disabled.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Triggers {
    pub low_kbps: Option<u32>,
    pub recover_kbps: u32,
    pub offline_kbps: Option<u32>,
    pub rtt_low_ms: Option<u32>,
    pub rtt_offline_ms: Option<u32>,
}

/// OBS as the bot sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObsStatus {
    pub connection: ObsConnection,
    /// OBS Studio version, once connected.
    pub version: Option<String>,
    /// obs-websocket's version, once connected.
    pub websocket_version: Option<String>,
    /// Talking to obs-websocket 5.0–5.4 (OBS 28.0–30.1) through the compat client.
    pub compatibility: bool,
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
    /// Free space on the recording disk, MB (OBS's `availableDiskSpace`).
    pub disk_space_mb: Option<f64>,
    /// The upload alerts in force (`obs.upload`), in this order: `reconnecting`, `congestion`,
    /// `dropped_frames`, `disk_low`.
    pub upload_problems: Vec<UploadProblem>,
    /// The configured audio inputs (`obs.audio_inputs`), in order, with their mute state.
    pub audio: Vec<AudioInputStatus>,
    /// The configured sources (`obs.sources`), in order, with their visibility.
    pub sources: Vec<SourceStatus>,
}

/// A configured audio input, kept current from `InputMuteStateChanged`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AudioInputStatus {
    pub name: String,
    /// `None`: not known (not connected, OBS has no such input, or it has no audio).
    pub muted: Option<bool>,
}

/// A configured source, kept current from `SceneItemEnableStateChanged` (and re-read when the
/// program scene changes, for a source without a scene of its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceStatus {
    pub name: String,
    /// The scene it is shown or hidden in: the configured one, or the program scene.
    pub scene: Option<String>,
    /// `None`: not known (not connected, or the scene has no such source).
    pub visible: Option<bool>,
    /// Its scene item in `scene`, to recognise OBS's events (which name the item, not the
    /// source).
    #[serde(skip)]
    pub item_id: Option<i64>,
}

/// An upload alert (`obs.upload`): OBS's output reconnecting, congestion held above its level,
/// dropped frames above their share over the window, or the recording disk running low.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadProblem {
    Reconnecting,
    Congestion,
    DroppedFrames,
    DiskLow,
}

impl UploadProblem {
    pub const ALL: [UploadProblem; 4] = [
        UploadProblem::Reconnecting,
        UploadProblem::Congestion,
        UploadProblem::DroppedFrames,
        UploadProblem::DiskLow,
    ];

    /// The name as serialised (and as the alert kinds name it).
    pub fn as_str(self) -> &'static str {
        match self {
            UploadProblem::Reconnecting => "reconnecting",
            UploadProblem::Congestion => "congestion",
            UploadProblem::DroppedFrames => "dropped_frames",
            UploadProblem::DiskLow => "disk_low",
        }
    }
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
            guard: None,
            twitch: None,
            kick: None,
            discord: None,
            restream: None,
            power: None,
            services: None,
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
    /// OBS began starting the stream, then stopped without going live (the ingest refused it).
    ObsStreamFailed,
    /// An upload alert started (`active`) or cleared. `value`: the congestion (0 to 1), the
    /// share of dropped frames (percent) or the free disk space (MB) that decided; none for
    /// reconnecting, or when it cleared because the stream (or recording) or OBS went away
    /// (`gone`: not because the condition ended).
    ObsUpload {
        problem: UploadProblem,
        active: bool,
        value: Option<f64>,
        gone: bool,
    },
    /// The guard saw the ingest drop below a threshold (or RTT rise above one).
    BitrateLow(GuardTransition),
    /// The guard saw the ingest recover.
    BitrateRestored(GuardTransition),
    /// The guard saw the ingest go away (no publisher, 0 kbps, unreachable stats).
    IngestOffline(GuardTransition),
    /// An outgoing raid was handled: whether the stream was stopped, and the chat message to
    /// post (the Twitch surface posts it).
    RaidHandled {
        channel: String,
        outcome: RaidOutcome,
        message: Option<String>,
    },
    /// A Twitch chat message (any chatter, commands included), for the Discord chat mirror.
    TwitchChatMessage {
        user_id: String,
        display_name: String,
        text: String,
    },
    /// A Kick chat message (any chatter, commands included), for the Discord chat mirror.
    KickChatMessage {
        user_id: String,
        display_name: String,
        text: String,
    },
    /// The stream went live or offline on Twitch.
    TwitchLive { live: bool },
    /// Twitch began an ad break (`channel.ad_break.begin`).
    AdBreakBegan { duration_secs: u32, automatic: bool },
    /// The ad break is over (its duration passed).
    AdBreakEnded,
    /// The Twitch token is not usable (refresh failed, revoked…); the reason, redacted.
    TwitchTokenFailing { reason: String },
    /// The guard stopped the stream after the offline timeout.
    OfflineTimeout { stopped: bool },
    /// Auto-start started the stream for `server`'s publisher (`error`: it did not start).
    AutoStart {
        server: String,
        error: Option<String>,
    },
    /// The bot switched a scene.
    SceneSwitched {
        by: SwitchedBy,
        from: Option<String>,
        to: String,
    },
    /// nginx took a new push list: the enabled endpoints' names.
    RestreamApplied { enabled: Vec<String> },
    /// nginx refused a new push list (the previous one is back): its error text, redacted.
    RestreamApplyFailed { error: String },
    /// A polled systemd unit changed state (`from`/`to` as `systemctl is-active` says).
    ServiceStateChanged {
        key: String,
        unit: String,
        from: String,
        to: String,
    },
    /// The stream PC started or stopped answering its probe.
    PowerStateChanged { reachable: bool },
    /// A journal line of a followed service (`services::follow`), redacted.
    LogLine { key: String, line: String },
    /// The EventSub session is connected again: after the connection was lost
    /// (`requested: false`), or moved to a new socket at Twitch's request (`session_reconnect`,
    /// `requested: true`).
    EventSubReconnected { requested: bool },
    /// The EventSub session was lost and is not back within `twitch.eventsub_down_after`: chat
    /// commands, raids and live state wait for it (the first loss's reason).
    EventSubDown { reason: String },
    /// A session is welcomed again after [`Event::EventSubDown`].
    EventSubBack,
}

impl Event {
    /// Whether the event travels on the bus's chatter lane ([`EventBus`]): things as frequent
    /// as viewers and services make them, which no alert depends on.
    pub fn is_chatter(&self) -> bool {
        matches!(
            self,
            Event::TwitchChatMessage { .. }
                | Event::KickChatMessage { .. }
                | Event::LogLine { .. }
                | Event::CommandHandled { .. }
        )
    }
}

/// What the guard decided and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardTransition {
    /// `live`, `low`, `offline` or `starting`.
    pub from: &'static str,
    pub to: &'static str,
    /// `low_bitrate`, `zero_bitrate`, `high_rtt`, `no_publisher`, `unreachable`, `recovered`.
    pub cause: &'static str,
    /// The stats error, for `unreachable`.
    pub error: Option<String>,
    pub bitrate_kbps: Option<u32>,
    pub rtt_ms: Option<u32>,
    /// The server whose numbers decided.
    pub server: Option<String>,
    /// Decided in dry-run: announced, not switched.
    pub dry_run: bool,
}

/// What the raid stop did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RaidOutcome {
    /// Stopped (confirmed), offline scene shown.
    Stopped,
    /// Raid stop is not configured.
    Disabled,
    /// The same raid (or another) was handled less than 30 s ago.
    Duplicate,
    NotStreaming,
    /// Live for less than `min_live`.
    TooShort,
    /// The stop failed (the error).
    Failed(String),
}

/// Who switched a scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchedBy {
    Guard,
    Command,
    /// The stop after an outgoing raid.
    Raid,
    /// The ad scene during a Twitch ad break, and back.
    AdBreak,
}

impl SwitchedBy {
    /// The name as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            SwitchedBy::Guard => "guard",
            SwitchedBy::Command => "command",
            SwitchedBy::Raid => "raid",
            SwitchedBy::AdBreak => "ad_break",
        }
    }
}

/// How many events of each lane the bus keeps for a receiver that falls behind.
pub const NOTABLE_CAPACITY: usize = 1024;
pub const CHATTER_CAPACITY: usize = 1024;

/// The event bus: two lanes. Chatter (chat messages, journal lines, commands handled: as many
/// as viewers and services make) has its own lane, so a burst of it can never push a notable
/// event (a guard transition, a raid, OBS lost, a failing token) out of a receiver that is busy
/// with a slow call: a receiver that falls behind loses chatter only, unless it falls behind
/// by [`NOTABLE_CAPACITY`] notable events. Order is kept within a lane, not across lanes.
#[derive(Debug, Clone)]
pub struct EventBus {
    notable: broadcast::Sender<Event>,
    chatter: broadcast::Sender<Event>,
}

impl Default for EventBus {
    fn default() -> EventBus {
        EventBus {
            notable: broadcast::channel(NOTABLE_CAPACITY).0,
            chatter: broadcast::channel(CHATTER_CAPACITY).0,
        }
    }
}

impl EventBus {
    /// Publish an event on its lane: how many receivers it reached, `Err` when none listens.
    pub fn send(&self, event: Event) -> Result<usize, NoReceivers> {
        let lane = match event.is_chatter() {
            true => &self.chatter,
            false => &self.notable,
        };
        lane.send(event).map_err(|_| NoReceivers)
    }

    /// Every event from now on.
    pub fn subscribe(&self) -> Events {
        Events {
            notable: self.notable.subscribe(),
            chatter: Some(self.chatter.subscribe()),
        }
    }

    /// Notable events only (no chat, journal lines or commands handled): for tasks that only
    /// react to what happened to the stream.
    pub fn subscribe_notable(&self) -> Events {
        Events {
            notable: self.notable.subscribe(),
            chatter: None,
        }
    }
}

/// Nobody listened to an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoReceivers;

/// A receiver of both lanes (or of the notable lane only). Notable events are taken first.
#[derive(Debug)]
pub struct Events {
    notable: broadcast::Receiver<Event>,
    chatter: Option<broadcast::Receiver<Event>>,
}

impl Events {
    /// The next event. `Lagged(n)`: `n` events of one lane were skipped (chatter, unless this
    /// receiver fell behind by a whole notable lane). Cancel safe.
    pub async fn recv(&mut self) -> Result<Event, broadcast::error::RecvError> {
        let Some(chatter) = self.chatter.as_mut() else {
            return self.notable.recv().await;
        };
        tokio::select! {
            biased;
            event = self.notable.recv() => event,
            event = chatter.recv() => event,
        }
    }

    /// The next event if one is waiting (notable first).
    pub fn try_recv(&mut self) -> Result<Event, broadcast::error::TryRecvError> {
        match self.notable.try_recv() {
            Err(broadcast::error::TryRecvError::Empty) => match self.chatter.as_mut() {
                Some(chatter) => chatter.try_recv(),
                None => Err(broadcast::error::TryRecvError::Empty),
            },
            other => other,
        }
    }
}

/// The current [`Status`] as handlers and surfaces see it: read and watch, never write. Each peer
/// writes only its own part, through the [`Publisher`] the app built it with.
#[derive(Debug, Clone)]
pub struct SharedStatus(watch::Sender<Status>);

impl SharedStatus {
    pub fn new(status: Status) -> SharedStatus {
        SharedStatus(watch::channel(status).0)
    }

    /// The status now. Hold the guard briefly (it blocks writers).
    pub fn borrow(&self) -> watch::Ref<'_, Status> {
        self.0.borrow()
    }

    /// A receiver that sees every later change.
    pub fn subscribe(&self) -> watch::Receiver<Status> {
        self.0.subscribe()
    }

    /// The writer of one part. Only the wiring (`app`) hands these out, one per peer
    /// (`tests/it/layering.rs` checks that no other module calls this).
    pub fn publisher<T>(&self, part: fn(&mut Status) -> &mut T) -> Publisher<T> {
        Publisher {
            status: self.0.clone(),
            part,
        }
    }
}

/// The writer of one part of [`Status`] (a peer's section, or the task table): it can change that
/// part and nothing else.
pub struct Publisher<T> {
    status: watch::Sender<Status>,
    part: fn(&mut Status) -> &mut T,
}

impl<T> Clone for Publisher<T> {
    fn clone(&self) -> Self {
        Publisher {
            status: self.status.clone(),
            part: self.part,
        }
    }
}

impl<T> std::fmt::Debug for Publisher<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Publisher")
    }
}

impl<T> Publisher<T> {
    /// Change the part; watchers are woken.
    pub fn modify(&self, change: impl FnOnce(&mut T)) {
        self.status
            .send_modify(|status| change((self.part)(status)));
    }

    /// Change the part; watchers are woken only when `change` returns true.
    pub fn modify_if(&self, change: impl FnOnce(&mut T) -> bool) -> bool {
        self.status
            .send_if_modified(|status| change((self.part)(status)))
    }

    /// The whole status now (reading is free; writing is limited to the part).
    pub fn borrow(&self) -> watch::Ref<'_, Status> {
        self.status.borrow()
    }

    /// A receiver of the whole status.
    pub fn subscribe(&self) -> watch::Receiver<Status> {
        self.status.subscribe()
    }
}

impl<T: Default> Publisher<Option<T>> {
    /// Change the section, created with its defaults when absent.
    pub fn update(&self, change: impl FnOnce(&mut T)) {
        self.modify(|part| change(part.get_or_insert_with(T::default)))
    }
}

/// A receiver of the event bus subscribed when the [`crate::context::Context`] is built, so the task
/// that takes it also sees events sent before it first ran. A restarted task subscribes anew.
#[derive(Debug)]
pub struct EarlyReceiver {
    early: std::sync::Mutex<Option<Events>>,
    notable_only: bool,
}

impl EarlyReceiver {
    pub fn new(events: &EventBus) -> EarlyReceiver {
        EarlyReceiver {
            early: std::sync::Mutex::new(Some(events.subscribe())),
            notable_only: false,
        }
    }

    /// Of the notable lane only ([`EventBus::subscribe_notable`]).
    pub fn notable(events: &EventBus) -> EarlyReceiver {
        EarlyReceiver {
            early: std::sync::Mutex::new(Some(events.subscribe_notable())),
            notable_only: true,
        }
    }

    /// The early receiver the first time, a fresh subscription (of the same lanes) afterwards.
    pub fn take(&self, events: &EventBus) -> Events {
        let early = self.early.lock().unwrap_or_else(|e| e.into_inner()).take();
        early.unwrap_or_else(|| match self.notable_only {
            true => events.subscribe_notable(),
            false => events.subscribe(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use broadcast::error::{RecvError, TryRecvError};

    fn chat(i: usize) -> Event {
        Event::TwitchChatMessage {
            user_id: "2002".into(),
            display_name: "someone".into(),
            text: format!("line {i}"),
        }
    }

    #[tokio::test]
    async fn a_chat_flood_never_pushes_a_notable_event_out() {
        let bus = EventBus::default();
        let mut all = bus.subscribe();
        let mut notable = bus.subscribe_notable();
        // Neither receiver reads while 3,000 chat lines go by, with one notable event early on.
        for i in 0..3000 {
            if i == 500 {
                bus.send(Event::ObsStreamFailed).unwrap();
            }
            bus.send(chat(i)).unwrap();
        }
        assert_eq!(all.recv().await, Ok(Event::ObsStreamFailed));
        let skipped = 3000 - CHATTER_CAPACITY as u64;
        assert_eq!(all.recv().await, Err(RecvError::Lagged(skipped)));
        assert_eq!(all.recv().await, Ok(chat(skipped as usize)));
        assert_eq!(notable.try_recv(), Ok(Event::ObsStreamFailed));
        assert_eq!(notable.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn restarted_tasks_subscribe_to_the_same_lanes() {
        let bus = EventBus::default();
        let early = EarlyReceiver::notable(&bus);
        drop(early.take(&bus));
        let mut again = early.take(&bus);
        bus.send(chat(1)).unwrap_err();
        bus.send(Event::ObsStreamFailed).unwrap();
        assert_eq!(again.try_recv(), Ok(Event::ObsStreamFailed));
        assert_eq!(again.try_recv(), Err(TryRecvError::Empty));
    }
}
