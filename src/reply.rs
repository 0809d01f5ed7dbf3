//! What handlers return: a message key plus arguments, rendered by the surface in the invoker's
//! locale (`i18n`). Handlers never build user-facing strings.
//!
//! Keys can only come from [`keys`], so `tests/it/locales.rs` can check that every key a handler or
//! an error can produce exists in every locale.

use commands::Feature;
use std::fmt;

/// Intermediate replies of a long action (waking the stream PC, applying restream endpoints,
/// the service repair sequence).
/// Discord edits its answer with each; chat surfaces pass [`Progress::none`].
#[derive(Debug, Clone, Default)]
pub struct Progress(Option<tokio::sync::mpsc::UnboundedSender<Reply>>);

impl Progress {
    /// Nobody shows progress.
    pub fn none() -> Progress {
        Progress(None)
    }

    /// A progress sink and the receiver the surface reads.
    pub fn channel() -> (Progress, tokio::sync::mpsc::UnboundedReceiver<Reply>) {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        (Progress(Some(sender)), receiver)
    }

    /// Report a step. Never blocks; a surface that went away is ignored.
    pub fn send(&self, reply: Reply) {
        if let Some(sender) = &self.0 {
            let _ = sender.send(reply);
        }
    }
}

/// Progress carries no identity: two invocations are equal whatever their sinks.
impl PartialEq for Progress {
    fn eq(&self, _: &Progress) -> bool {
        true
    }
}

/// A feature's localised name ("the bitrate guard").
pub fn feature_name(feature: Feature) -> Key {
    match feature {
        Feature::Obs => keys::FEATURE_OBS,
        Feature::Guard => keys::FEATURE_GUARD,
        Feature::Twitch => keys::FEATURE_TWITCH,
        Feature::Discord => keys::FEATURE_DISCORD,
        Feature::Restream => keys::FEATURE_RESTREAM,
        Feature::Power => keys::FEATURE_POWER,
        Feature::Services => keys::FEATURE_SERVICES,
        Feature::Overlay => keys::FEATURE_OVERLAY,
        Feature::Web => keys::FEATURE_WEB,
    }
}

/// A message id in `locales/*/*.ftl`. Only constructible through [`keys`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(&'static str);

impl Key {
    pub fn id(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

macro_rules! keys {
    ($($name:ident = $id:literal,)*) => {
        /// Every message key the code can produce.
        pub mod keys {
            use super::Key;
            $(pub const $name: Key = Key($id);)*
            /// All of them, for the locale tests.
            pub const ALL: &[Key] = &[$($name,)*];
        }
    };
}

keys! {
    DISCORD_WRONG_GUILD = "discord-wrong-guild",
    DISCORD_BAD_INTERACTION = "discord-bad-interaction",
    DISCORD_PANEL_TITLE = "discord-panel-title",
    DISCORD_PANEL_START = "discord-panel-start",
    DISCORD_PANEL_STOP = "discord-panel-stop",
    DISCORD_PANEL_FIX = "discord-panel-fix",
    DISCORD_PANEL_GUARD_ON = "discord-panel-guard-on",
    DISCORD_PANEL_GUARD_OFF = "discord-panel-guard-off",
    DISCORD_CONFIRM = "discord-confirm",
    DISCORD_CONFIRM_YES = "discord-confirm-yes",
    DISCORD_CONFIRM_FORCE = "discord-confirm-force",
    DISCORD_ALERT_LOW = "discord-alert-low",
    DISCORD_ALERT_RESTORED = "discord-alert-restored",
    DISCORD_ALERT_OFFLINE = "discord-alert-offline",
    DISCORD_ALERT_RAID = "discord-alert-raid",
    DISCORD_ALERT_OBS_LOST = "discord-alert-obs-lost",
    DISCORD_ALERT_OBS_BACK = "discord-alert-obs-back",
    DISCORD_ALERT_TOKEN_FAILING = "discord-alert-token-failing",
    DISCORD_ALERTS_SUPPRESSED = "discord-alerts-suppressed",
    DISCORD_MIRROR_DROPPED = "discord-mirror-dropped",
    DISCORD_EMBED_TITLE = "discord-embed-title",
    DISCORD_EMBED_NONE = "discord-embed-none",
    DISCORD_EMBED_OBS = "discord-embed-obs",
    DISCORD_EMBED_OBS_DOWN = "discord-embed-obs-down",
    DISCORD_OBS_CONNECTING = "discord-obs-connecting",
    DISCORD_OBS_OFFLINE = "discord-obs-offline",
    DISCORD_OBS_WRONG_PASSWORD = "discord-obs-wrong-password",
    DISCORD_OBS_TOO_OLD = "discord-obs-too-old",
    DISCORD_EMBED_INGEST_NAME = "discord-embed-ingest-name",
    DISCORD_EMBED_INGEST = "discord-embed-ingest",
    DISCORD_EMBED_INGEST_NONE = "discord-embed-ingest-none",
    DISCORD_EMBED_TOKEN_MISSING = "discord-embed-token-missing",
    DISCORD_EMBED_TOKEN_LOGIN = "discord-embed-token-login",
    DISCORD_EMBED_TOKEN_FAILING = "discord-embed-token-failing",
    DISCORD_EMBED_TWITCH = "discord-embed-twitch",
    DISCORD_EMBED_CHART = "discord-embed-chart",
    DISCORD_PRIVATE_POSTED = "discord-private-posted",
    DISCORD_LOGS_FOLLOWING = "discord-logs-following",
    DISCORD_LOGS_FOLLOW_ENDED = "discord-logs-follow-ended",
    DISCORD_GATEWAY_TOKEN_REFUSED = "discord-gateway-token-refused",
    DISCORD_GATEWAY_INTENTS_REFUSED = "discord-gateway-intents-refused",
    DISCORD_ALERT_RESTREAM_FAILED = "discord-alert-restream-failed",
    DISCORD_EMBED_RESTREAM = "discord-embed-restream",
    DISCORD_EMBED_RESTREAM_TARGET = "discord-embed-restream-target",
    DISCORD_EMBED_RESTREAM_APPLY_FAILED = "discord-embed-restream-apply-failed",
    DISCORD_EMBED_PC = "discord-embed-pc",
    DISCORD_EMBED_PC_STATE = "discord-embed-pc-state",
    DISCORD_EMBED_SERVICES = "discord-embed-services",
    DISCORD_PANEL_WAKE = "discord-panel-wake",
    DISCORD_PANEL_RESTART = "discord-panel-restart",
    DISCORD_PANEL_SHUTDOWN = "discord-panel-shutdown",
    PONG = "pong",
    VERSION = "version",
    HELP_LIST = "help-list",
    HELP_COMMAND = "help-command",
    HELP_ALIAS = "help-alias",
    HELP_UNKNOWN = "help-unknown",
    STATUS_SUMMARY = "status-summary",
    STATUS_TASK_PROBLEM = "status-task-problem",
    STATUS_ALL_RUNNING = "status-all-running",
    STATUS_NONE = "status-none",
    ERROR_NOT_ENABLED = "error-not-enabled",
    ERROR_PERMISSION = "error-permission",
    ERROR_COOLDOWN = "error-cooldown",
    ERROR_PRIVATE = "error-private",
    ERROR_INTERNAL = "error-internal",
    ERROR_USAGE = "error-usage",
    ERROR_UNKNOWN_COMMAND = "error-unknown-command",
    PARSE_MISSING = "parse-missing",
    PARSE_UNEXPECTED = "parse-unexpected",
    PARSE_CHOICE = "parse-choice",
    PARSE_NOT_A_NUMBER = "parse-not-a-number",
    PARSE_OUT_OF_RANGE = "parse-out-of-range",
    PARSE_TOO_LONG = "parse-too-long",
    PARSE_BAD_CHARACTERS = "parse-bad-characters",
    PARSE_BAD_URL = "parse-bad-url",
    PARSE_NOT_AN_IP = "parse-not-an-ip",
    LEVEL_VIEWER = "level-viewer",
    LEVEL_VIP = "level-vip",
    LEVEL_MODERATOR = "level-moderator",
    LEVEL_ADMIN = "level-admin",
    LEVEL_BROADCASTER = "level-broadcaster",
    OBS_NOT_CONNECTED = "obs-not-connected",
    OBS_TIMEOUT = "obs-timeout",
    OBS_REFUSED = "obs-refused",
    OBS_UNKNOWN_SCENE = "obs-unknown-scene",
    OBS_UNKNOWN_SOURCE = "obs-unknown-source",
    OBS_START_NOT_CONFIRMED = "obs-start-not-confirmed",
    OBS_STOP_NOT_CONFIRMED = "obs-stop-not-confirmed",
    OBS_STREAM_FAILED = "obs-stream-failed",
    SCENE_SWITCHED = "scene-switched",
    SCENE_ALREADY = "scene-already",
    SCENE_AMBIGUOUS = "scene-ambiguous",
    SCENE_NOT_FOUND = "scene-not-found",
    SCENE_NOT_CONFIGURED = "scene-not-configured",
    FIX_RESTARTED = "fix-restarted",
    FIX_NOT_PLAYING = "fix-not-playing",
    FIX_BOUNCED = "fix-bounced",
    REFRESH_DONE = "refresh-done",
    STREAM_STARTED = "stream-started",
    STREAM_STARTED_SCENE = "stream-started-scene",
    STREAM_ALREADY_LIVE = "stream-already-live",
    STREAM_STOPPED = "stream-stopped",
    STREAM_NOT_LIVE = "stream-not-live",
    RECORD_STARTED = "record-started",
    RECORD_STOPPED = "record-stopped",
    GUARD_BITRATE = "guard-bitrate",
    GUARD_NO_SERVERS = "guard-no-servers",
    GUARD_SERVER_LIVE = "guard-server-live",
    GUARD_SERVER_LIVE_RTT = "guard-server-live-rtt",
    GUARD_SERVER_NO_PUBLISHER = "guard-server-no-publisher",
    GUARD_SERVER_ERROR = "guard-server-error",
    GUARD_SERVER_WAITING = "guard-server-waiting",
    GUARD_STATUS = "guard-status",
    GUARD_STATE_ON = "guard-state-on",
    GUARD_STATE_OFF = "guard-state-off",
    GUARD_STATE_DRY_RUN = "guard-state-dry-run",
    GUARD_LEVEL_MANUAL = "guard-level-manual",
    GUARD_IDLE_NOT_STREAMING = "guard-idle-not-streaming",
    GUARD_IDLE_OBS_OFFLINE = "guard-idle-obs-offline",
    GUARD_IDLE_NONE = "guard-idle-none",
    GUARD_ENABLED = "guard-enabled",
    GUARD_DISABLED = "guard-disabled",
    GUARD_DRY_RUN_ON = "guard-dry-run-on",
    GUARD_DRY_RUN_OFF = "guard-dry-run-off",
    TRIGGER_CURRENT = "trigger-current",
    TRIGGER_SET = "trigger-set",
    TRIGGER_OFF = "trigger-off",
    TRIGGER_KBPS = "trigger-kbps",
    TRIGGER_MS = "trigger-ms",
    TRIGGER_LOW_ABOVE_RECOVER = "trigger-low-above-recover",
    TRIGGER_OFFLINE_NOT_BELOW_LOW = "trigger-offline-not-below-low",
    TRIGGER_RTT_OFFLINE_NOT_ABOVE = "trigger-rtt-offline-not-above",
    ALERT_LOW = "alert-low",
    ALERT_RESTORED = "alert-restored",
    ALERT_OFFLINE = "alert-offline",
    ALERT_RAID = "alert-raid",
    ALERT_TEST_CUSTOM = "alert-test-custom",
    ALERT_TEST_SENT = "alert-test-sent",
    ALERT_TEST_NO_OVERLAY = "alert-test-no-overlay",
    BAN_ADDED = "ban-added",
    BAN_ALREADY = "ban-already",
    BAN_REMOVED = "ban-removed",
    BAN_NOT_FOUND = "ban-not-found",
    BANS_LIST = "bans-list",
    BANS_NONE = "bans-none",
    BAN_ENTRY_AUTO = "ban-entry-auto",
    BAN_ENTRY_MANUAL = "ban-entry-manual",
    TWITCH_NOT_LOGGED_IN = "twitch-not-logged-in",
    TWITCH_UNAUTHORIZED = "twitch-unauthorized",
    TWITCH_MISSING_SCOPE = "twitch-missing-scope",
    TWITCH_RATE_LIMITED = "twitch-rate-limited",
    TWITCH_REFUSED = "twitch-refused",
    TWITCH_UNREACHABLE = "twitch-unreachable",
    ANNOUNCE_LOW = "announce-low",
    ANNOUNCE_RESTORED = "announce-restored",
    ANNOUNCE_OFFLINE = "announce-offline",
    ANNOUNCE_DRY_RUN = "announce-dry-run",
    PANEL_POSTED = "panel-posted",
    PANEL_ON_DISCORD = "panel-on-discord",
    TITLE_SET = "title-set",
    CATEGORY_SET = "category-set",
    CATEGORY_AMBIGUOUS = "category-ambiguous",
    CATEGORY_NOT_FOUND = "category-not-found",
    RAID_STARTED = "raid-started",
    RAID_UNKNOWN_USER = "raid-unknown-user",
    COMMAND_START_FAILED = "command-start-failed",
    COMMAND_TIMEOUT = "command-timeout",
    COMMAND_FAILED = "command-failed",
    COMMAND_NEEDS_SUDO = "command-needs-sudo",
    ENDPOINT_NAME_EMPTY = "endpoint-name-empty",
    ENDPOINT_NAME_TOO_LONG = "endpoint-name-too-long",
    ENDPOINT_NAME_CHARACTERS = "endpoint-name-characters",
    ENDPOINT_NAME_TAKEN = "endpoint-name-taken",
    ENDPOINT_URL_TOO_LONG = "endpoint-url-too-long",
    ENDPOINT_URL_CHARACTERS = "endpoint-url-characters",
    ENDPOINT_URL_SCHEME = "endpoint-url-scheme",
    ENDPOINT_URL_HOST = "endpoint-url-host",
    ENDPOINT_URL_PORT = "endpoint-url-port",
    ENDPOINT_URL_PATH = "endpoint-url-path",
    ENDPOINT_KEY_MISSING = "endpoint-key-missing",
    ENDPOINT_KEY_TOO_LONG = "endpoint-key-too-long",
    ENDPOINT_KEY_CHARACTERS = "endpoint-key-characters",
    ENDPOINT_PLATFORM = "endpoint-platform",
    ENDPOINT_RTMPS_NEEDS_STUNNEL = "endpoint-rtmps-needs-stunnel",
    ENDPOINT_TOO_MANY = "endpoint-too-many",
    ENDPOINT_MALFORMED = "endpoint-malformed",
    RESTREAM_LIST = "restream-list",
    RESTREAM_LIST_EMPTY = "restream-list-empty",
    RESTREAM_ENDPOINT = "restream-endpoint",
    RESTREAM_STATE_ON = "restream-state-on",
    RESTREAM_STATE_OFF = "restream-state-off",
    RESTREAM_NAMES = "restream-names",
    RESTREAM_ENABLED = "restream-enabled",
    RESTREAM_DISABLED = "restream-disabled",
    RESTREAM_ALREADY_ON = "restream-already-on",
    RESTREAM_ALREADY_OFF = "restream-already-off",
    RESTREAM_ADDED = "restream-added",
    RESTREAM_REMOVED = "restream-removed",
    RESTREAM_ADD_PUBLIC = "restream-add-public",
    RESTREAM_UNKNOWN = "restream-unknown",
    RESTREAM_REFUSED = "restream-refused",
    RESTREAM_NOTE_NONE = "restream-note-none",
    RESTREAM_NOTE_NEXT_PUBLISH = "restream-note-next-publish",
    RESTREAM_NOTE_DROPPED = "restream-note-dropped",
    RESTREAM_NOTE_DROP_FAILED = "restream-note-drop-failed",
    RESTREAM_TESTING = "restream-testing",
    RESTREAM_RESTARTING_STUNNEL = "restream-restarting-stunnel",
    RESTREAM_DROPPING = "restream-dropping",
    RESTREAM_RELOADING = "restream-reloading",
    RESTREAM_APPLY_FAILED = "restream-apply-failed",
    RESTREAM_WRITE_FAILED = "restream-write-failed",
    RESTREAM_STUNNEL_FAILED = "restream-stunnel-failed",
    RESTREAM_ROLLBACK_FAILED = "restream-rollback-failed",
    RESTREAM_STORE_FAILED = "restream-store-failed",
    RESTREAM_STORE_INVALID = "restream-store-invalid",
    PC_ON = "pc-on",
    PC_OFF = "pc-off",
    PC_WAKE_SENT = "pc-wake-sent",
    PC_WAKE_WAITING = "pc-wake-waiting",
    PC_WAKE_UP = "pc-wake-up",
    PC_WAKE_TIMEOUT = "pc-wake-timeout",
    PC_WAKE_FAILED = "pc-wake-failed",
    PC_STREAMING = "pc-streaming",
    PC_RESTARTING = "pc-restarting",
    PC_SHUTTING_DOWN = "pc-shutting-down",
    PC_SSH_UNREACHABLE = "pc-ssh-unreachable",
    PC_COMMAND_FAILED = "pc-command-failed",
    SERVICE_UNKNOWN = "service-unknown",
    SERVICE_STATUS = "service-status",
    SERVICE_UNIT_STATE = "service-unit-state",
    SERVICE_STATE_ACTIVE = "service-state-active",
    SERVICE_STATE_INACTIVE = "service-state-inactive",
    SERVICE_STATE_FAILED = "service-state-failed",
    SERVICE_STATE_ACTIVATING = "service-state-activating",
    SERVICE_STATE_DEACTIVATING = "service-state-deactivating",
    SERVICE_STATE_RELOADING = "service-state-reloading",
    SERVICE_STATE_UNKNOWN = "service-state-unknown",
    SERVICE_STATE_OTHER = "service-state-other",
    SERVICE_RESTARTED = "service-restarted",
    SERVICE_REPAIR_STEP = "service-repair-step",
    SERVICE_REPAIR_STEP_FAILED = "service-repair-step-failed",
    SERVICE_REPAIR_DONE = "service-repair-done",
    LOGS_LINES = "logs-lines",
    LOGS_EMPTY = "logs-empty",
    FEATURE_OBS = "feature-obs",
    FEATURE_GUARD = "feature-guard",
    FEATURE_TWITCH = "feature-twitch",
    FEATURE_DISCORD = "feature-discord",
    FEATURE_RESTREAM = "feature-restream",
    FEATURE_POWER = "feature-power",
    FEATURE_SERVICES = "feature-services",
    FEATURE_OVERLAY = "feature-overlay",
    FEATURE_WEB = "feature-web",
    WEB_TITLE = "web-title",
    WEB_CONNECTING = "web-connecting",
    WEB_LIVE_UPDATES = "web-live-updates",
    WEB_RECONNECTING = "web-reconnecting",
    WEB_UNREACHABLE = "web-unreachable",
    WEB_HEALTH = "web-health",
    WEB_STREAM = "web-stream",
    WEB_CHART = "web-chart",
    WEB_CHART_EMPTY = "web-chart-empty",
    WEB_RESTREAM = "web-restream",
    WEB_RESTREAM_NONE = "web-restream-none",
    WEB_BOT = "web-bot",
    WEB_TASKS = "web-tasks",
    WEB_VERSION = "web-version",
    WEB_UP = "web-up",
    WEB_READ_ONLY = "web-read-only",
    WEB_OBS = "web-obs",
    WEB_INGEST = "web-ingest",
    WEB_TWITCH_TOKEN = "web-twitch-token",
    WEB_EVENTSUB = "web-eventsub",
    WEB_DISCORD = "web-discord",
    WEB_NGINX = "web-nginx",
    WEB_SERVICES = "web-services",
    WEB_POWER = "web-power",
    WEB_NOT_CONFIGURED = "web-not-configured",
    WEB_SCENE = "web-scene",
    WEB_STREAMING = "web-streaming",
    WEB_UPTIME = "web-uptime",
    WEB_VIEWERS = "web-viewers",
    WEB_STREAM_TITLE = "web-stream-title",
    WEB_CATEGORY = "web-category",
    WEB_YES = "web-yes",
    WEB_NO = "web-no",
    WEB_ON = "web-on",
    WEB_OFF = "web-off",
    WEB_BITRATE = "web-bitrate",
    WEB_RTT = "web-rtt",
    WEB_LOW_LINE = "web-low-line",
    WEB_RECOVER_LINE = "web-recover-line",
    WEB_ALL_RUNNING = "web-all-running",
    WEB_NO_PUBLISHER = "web-no-publisher",
    WEB_WAITING = "web-waiting",
    WEB_MISSING_SCOPES = "web-missing-scopes",
}

/// How an invocation ended; logged, counted and used by surfaces (e.g. ephemeral refusals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The command did what was asked.
    Done,
    /// Malformed arguments; the reply is the usage line.
    Usage,
    /// The invoker may not use this command.
    Refused,
    /// Still cooling down for this command or user.
    Cooldown,
    /// The feature's configuration section is absent.
    NotEnabled,
    /// The handler failed; the user gets a generic message, the log gets the details.
    Failed,
}

impl Outcome {
    /// The name as serialised (and as a metrics label).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Usage => "usage",
            Outcome::Refused => "refused",
            Outcome::Cooldown => "cooldown",
            Outcome::NotEnabled => "not_enabled",
            Outcome::Failed => "failed",
        }
    }
}

/// One argument of a reply.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyArg {
    Text(String),
    Number(f64),
    /// Another message, rendered in the same locale first (e.g. a permission level's name).
    Message(Box<Reply>),
    /// Several messages, rendered and joined with ", ".
    List(Vec<Reply>),
    /// A command's localised description (`cmd-<command>.description`).
    CommandDescription(&'static str),
}

/// A localisable answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub key: Key,
    pub args: Vec<(&'static str, ReplyArg)>,
    pub outcome: Outcome,
}

impl Reply {
    /// A successful reply.
    pub fn new(key: Key) -> Reply {
        Reply {
            key,
            args: Vec::new(),
            outcome: Outcome::Done,
        }
    }

    /// The same reply with another outcome.
    pub fn with_outcome(mut self, outcome: Outcome) -> Reply {
        self.outcome = outcome;
        self
    }

    pub fn arg(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.args.push((name, ReplyArg::Text(value.into())));
        self
    }

    pub fn number(mut self, name: &'static str, value: impl Into<f64>) -> Reply {
        self.args.push((name, ReplyArg::Number(value.into())));
        self
    }

    pub fn message(mut self, name: &'static str, value: Reply) -> Reply {
        self.args.push((name, ReplyArg::Message(Box::new(value))));
        self
    }

    pub fn list(mut self, name: &'static str, values: Vec<Reply>) -> Reply {
        self.args.push((name, ReplyArg::List(values)));
        self
    }

    pub fn command_description(mut self, name: &'static str, command: &'static str) -> Reply {
        self.args
            .push((name, ReplyArg::CommandDescription(command)));
        self
    }

    /// "<feature> is not enabled".
    pub fn not_enabled(feature: Feature) -> Reply {
        Reply::new(keys::ERROR_NOT_ENABLED)
            .message("feature", Reply::new(feature_name(feature)))
            .with_outcome(Outcome::NotEnabled)
    }

    /// The generic "something went wrong" answer; details go to the log only.
    pub fn internal_error() -> Reply {
        Reply::new(keys::ERROR_INTERNAL).with_outcome(Outcome::Failed)
    }
}

/// An error that should be told to the user as a localised reply (not logged as a fault).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("user error: {}", reply.key)]
pub struct UserError {
    pub reply: Reply,
}

impl From<Reply> for UserError {
    fn from(reply: Reply) -> Self {
        UserError { reply }
    }
}

/// The refusal for a command (as the user typed it, e.g. `!fix` or `/panel`) that needs `level`.
pub fn permission_refused(command: impl Into<String>, level_needed: commands::Permission) -> Reply {
    Reply::new(keys::ERROR_PERMISSION)
        .arg("command", command)
        .message("level", level(level_needed))
        .with_outcome(Outcome::Refused)
}

/// The localised name of a permission level.
pub fn level(permission: commands::Permission) -> Reply {
    use commands::Permission as P;
    Reply::new(match permission {
        P::Viewer => keys::LEVEL_VIEWER,
        P::Vip => keys::LEVEL_VIP,
        P::Moderator => keys::LEVEL_MODERATOR,
        P::Admin => keys::LEVEL_ADMIN,
        P::Broadcaster => keys::LEVEL_BROADCASTER,
    })
}

/// At most `max` characters; a shortened text ends in `…` (counted in `max`). For platform limits
/// (Discord's 100-character choices, 1,024-character fields) and for echoing user input.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().nth(max).is_none() {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Where [`split`] may break a text that is over a platform's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breaks {
    /// Between words; runs of whitespace (newlines too) become one space. Twitch chat shows
    /// one line per message anyway.
    Words,
    /// After a newline; the text is kept as it is (the parts concatenate to it). Discord keeps
    /// line breaks, and a reply's lines (a list, a log block) should stay whole where they fit.
    Lines,
}

/// The one splitter of long replies: parts of at most `limit` characters (not bytes), broken at
/// `breaks` where a piece fits; a single word or line longer than `limit` is cut. No empty part
/// (an empty or blank text gives none). Each surface adds its own rules on top: Twitch its
/// command defusing, Discord no blank message and its code fences.
pub fn split(text: &str, limit: usize, breaks: Breaks) -> Vec<String> {
    let (pieces, separator): (Box<dyn Iterator<Item = &str>>, &str) = match breaks {
        Breaks::Words => (Box::new(text.split_whitespace()), " "),
        Breaks::Lines => (Box::new(text.split_inclusive('\n')), ""),
    };
    let mut parts = Vec::new();
    let mut current = String::new();
    // Counted as we go: `chars().count()` of a growing part would make splitting quadratic.
    let mut current_len = 0;
    for piece in pieces {
        let mut piece = piece;
        loop {
            let joint = if current.is_empty() { "" } else { separator };
            let needed = joint.chars().count() + piece.chars().count();
            if current_len + needed <= limit {
                current.push_str(joint);
                current.push_str(piece);
                current_len += needed;
                break;
            }
            if !current.is_empty() {
                parts.push(std::mem::take(&mut current));
                current_len = 0;
                continue;
            }
            // One piece longer than the limit on its own: cut it.
            let cut = piece
                .char_indices()
                .nth(limit.max(1))
                .map_or(piece.len(), |(at, _)| at);
            parts.push(piece[..cut].to_string());
            piece = &piece[cut..];
            if piece.is_empty() {
                break;
            }
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// The usage answer for a malformed command. Never echoes a URL (it may hold a stream key).
pub fn usage(error: &commands::ParseError, prefix: &str) -> Reply {
    use commands::{ParseErrorKind as K, ValueProblem as V};
    // Anything URL-like may carry a stream key: never echo it.
    let shorten = |text: &str| -> String {
        if text.contains("://") {
            return "…".to_string();
        }
        clip(text, 41)
    };
    let problem = match &error.kind {
        K::MissingArgument { argument } => {
            Reply::new(keys::PARSE_MISSING).arg("argument", *argument)
        }
        K::UnexpectedArgument { found } => {
            Reply::new(keys::PARSE_UNEXPECTED).arg("found", shorten(found))
        }
        K::UnknownChoice {
            argument,
            found,
            expected,
        } => Reply::new(keys::PARSE_CHOICE)
            .arg("argument", *argument)
            .arg("found", shorten(found))
            .arg("expected", expected.join(", ")),
        K::InvalidValue {
            argument,
            found,
            problem,
        } => {
            let base = |key| Reply::new(key).arg("argument", *argument);
            match problem {
                V::NotANumber => base(keys::PARSE_NOT_A_NUMBER).arg("found", shorten(found)),
                V::OutOfRange { min, max } => base(keys::PARSE_OUT_OF_RANGE)
                    .number("min", *min as f64)
                    .number("max", *max as f64),
                V::TooLong { max } => base(keys::PARSE_TOO_LONG).number("max", *max as f64),
                V::BadCharacters => base(keys::PARSE_BAD_CHARACTERS),
                V::BadUrl => base(keys::PARSE_BAD_URL),
                V::NotAnIp => base(keys::PARSE_NOT_AN_IP).arg("found", shorten(found)),
            }
        }
    };
    Reply::new(keys::ERROR_USAGE)
        .arg("usage", format!("{prefix}{}", error.usage()))
        .message("problem", problem)
        .with_outcome(Outcome::Usage)
}

#[cfg(test)]
mod tests {
    use super::{Breaks, clip, split};

    #[test]
    fn clip_keeps_short_text_and_counts_the_ellipsis() {
        assert_eq!(clip("scene", 5), "scene");
        assert_eq!(clip("scenes", 5), "scen…");
        assert_eq!(clip("ææææææ", 3), "ææ…");
        assert_eq!(clip("", 0), "");
        assert_eq!(clip("x", 0), "");
    }

    #[test]
    fn words_split_within_the_limit_and_long_words_are_cut() {
        assert_eq!(split("a b c", 500, Breaks::Words), ["a b c"]);
        assert_eq!(split("aaa bbb ccc", 7, Breaks::Words), ["aaa bbb", "ccc"]);
        assert_eq!(
            split("abcdefghij", 4, Breaks::Words),
            ["abcd", "efgh", "ij"]
        );
        assert_eq!(split("  ", 10, Breaks::Words), Vec::<String>::new());
        assert_eq!(split("a\n\n b", 10, Breaks::Words), ["a b"]);
        assert_eq!(split("aa bbbbbb", 4, Breaks::Words), ["aa", "bbbb", "bb"]);
        let long = "word ".repeat(300);
        for part in split(&long, 500, Breaks::Words) {
            assert!(part.chars().count() <= 500);
        }
        assert_eq!(
            split("ééé ééé", 3, Breaks::Words),
            ["ééé", "ééé"],
            "counts characters, not bytes"
        );
    }

    #[test]
    fn lines_split_after_newlines_and_keep_the_text() {
        let text = "a".repeat(1500) + "\n" + &"b".repeat(1500) + "\n" + &"c".repeat(4500);
        let parts = split(&text, 2000, Breaks::Lines);
        assert!(parts.iter().all(|p| p.chars().count() <= 2000));
        assert_eq!(parts.concat(), text);
        assert!(parts[0].ends_with('\n'));
        assert_eq!(split("ab\ncd\n", 3, Breaks::Lines), ["ab\n", "cd\n"]);
        assert_eq!(split("ab\ncd", 6, Breaks::Lines), ["ab\ncd"]);
        assert_eq!(split("æææææ\n", 2, Breaks::Lines), ["ææ", "ææ", "æ\n"]);
        assert_eq!(split("", 10, Breaks::Lines), Vec::<String>::new());
    }
}
