//! The `guard` section: the stats servers the bitrate guard polls and how it decides.

use super::values::{duration, optional_duration, positive};
use serde::Deserialize;
use std::fmt;
use std::time::Duration;

/// The bitrate guard: which stats servers to poll and how to decide.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardConfig {
    /// How often every stats server is polled.
    #[serde(default = "default_poll_interval", deserialize_with = "duration")]
    pub poll_interval: Duration,
    /// Stats servers in priority order: the first with a live publisher is used.
    pub servers: Vec<StatsServerConfig>,
    /// Thresholds and timings.
    #[serde(default)]
    pub policy: Policy,
    /// Only decide while OBS streams (samples are still shown in `bitrate` and the status page).
    #[serde(default = "default_true")]
    pub only_when_streaming: bool,
    /// Start with the guard switching (`guard off` pauses it until `guard on`; a runtime change
    /// is kept across restarts, see `state_dir/guard.json`).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Start the stream when the ingest's publisher appears (opt-in).
    #[serde(default)]
    pub auto_start: Option<AutoStartConfig>,
}

/// Auto-start: when a stats server reports a publisher and OBS is connected and not streaming,
/// start the stream as `start` does (confirmed, then the starting scene). Never while the guard
/// is off, never within `quiet_after_stop` of a stop (by command, in OBS, after a raid; the
/// guard's own offline-timeout stop excepted: the feed coming back is what it waited for).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoStartConfig {
    /// After a stop, no auto-start for this long.
    #[serde(default = "default_quiet_after_stop", deserialize_with = "duration")]
    pub quiet_after_stop: Duration,
    /// The publisher must be there this long (a blip starts nothing).
    #[serde(default = "default_publisher_for", deserialize_with = "duration")]
    pub publisher_for: Duration,
    /// After a start that failed, the next try waits this long.
    #[serde(default = "default_retry_after", deserialize_with = "duration")]
    pub retry_after: Duration,
}

fn default_quiet_after_stop() -> Duration {
    Duration::from_secs(600)
}

fn default_publisher_for() -> Duration {
    Duration::from_secs(2)
}

fn default_retry_after() -> Duration {
    Duration::from_secs(30)
}

/// Thresholds and timings (the `guard.policy` section of `config.ron`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// From LIVE, a bitrate below this is LOW. `None` disables.
    pub low_kbps: Option<u32>,
    /// From LOW or OFFLINE, the bitrate must reach this to count as LIVE (≥ `low_kbps`).
    pub recover_kbps: u32,
    /// A bitrate below this is OFFLINE (0 kbps always is). `None`: only 0 and no publisher.
    pub offline_kbps: Option<u32>,
    /// An RTT at or above this is at least LOW. `None` disables.
    pub rtt_low_ms: Option<u32>,
    /// An RTT at or above this is OFFLINE. `None` disables.
    pub rtt_offline_ms: Option<u32>,
    /// How long samples must be at least LOW before the guard goes to LOW (a mild dip).
    #[serde(deserialize_with = "duration")]
    pub degrade_after: Duration,
    /// How long samples must be OFFLINE (a total loss) before the guard goes to OFFLINE.
    #[serde(deserialize_with = "duration")]
    pub offline_after: Duration,
    /// How long samples must be better before the guard recovers.
    #[serde(deserialize_with = "duration")]
    pub recover_after: Duration,
    /// Leave the starting scene for LIVE on the first LIVE sample, and OFFLINE too after a real
    /// outage (no good sample for `recover_after`, and the last stay at LIVE held that long).
    pub instant_recover_from_offline: bool,
    /// After LIVE is entered, do not leave it for LOW for this long.
    #[serde(deserialize_with = "duration")]
    pub live_grace: Duration,
    /// A failing stats page counts as OFFLINE only after failing this long.
    #[serde(deserialize_with = "duration")]
    pub unreachable_grace: Duration,
    /// Stop the stream after this long at OFFLINE. `None`: never.
    #[serde(deserialize_with = "optional_duration")]
    pub offline_timeout: Option<Duration>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            low_kbps: Some(800),
            recover_kbps: 1200,
            offline_kbps: None,
            rtt_low_ms: Some(2500),
            rtt_offline_ms: None,
            degrade_after: Duration::from_secs(2),
            offline_after: Duration::from_secs(1),
            recover_after: Duration::from_secs(3),
            instant_recover_from_offline: true,
            live_grace: Duration::from_secs(3),
            unreachable_grace: Duration::from_secs(5),
            offline_timeout: None,
        }
    }
}

/// One stats server.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsServerConfig {
    /// A short name, shown in `bitrate` and the status page.
    pub name: String,
    /// The server type and where to find the stream.
    pub kind: StatsServerKind,
    /// Request timeout.
    #[serde(default = "default_stats_timeout", deserialize_with = "duration")]
    pub timeout: Duration,
}

/// Where a stats server's numbers come from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum StatsServerKind {
    /// nginx-rtmp `stat` page (XML), e.g. `http://127.0.0.1:8080/stat`.
    NginxRtmp {
        url: String,
        application: String,
        stream: String,
    },
    /// SRT Live Server JSON stats, e.g. `http://127.0.0.1:8181/stats`. Without a publisher,
    /// the publisher with the highest bitrate.
    SrtLiveServer {
        url: String,
        #[serde(default)]
        publisher: Option<String>,
    },
    /// BELABOX cloud relay or receiver stats, e.g. `http://host:8080/<streamid>`.
    Belabox {
        url: String,
        #[serde(default)]
        publisher: Option<String>,
    },
    /// MediaMTX v3 API path, e.g. `http://127.0.0.1:9997/v3/paths/get/live`.
    Mediamtx { url: String },
    /// SRS HTTP API, e.g. `http://127.0.0.1:1985/api/v1/streams/`.
    Srs {
        url: String,
        application: String,
        stream: String,
    },
    /// Node-Media-Server API, e.g. `http://127.0.0.1:8000/api/streams`.
    NodeMediaServer {
        url: String,
        application: String,
        stream: String,
    },
    /// Nimble Streamer's management API, e.g. `http://127.0.0.1:8082`; `id` is the SRT
    /// receiver's `ip:port`.
    Nimble {
        url: String,
        id: String,
        application: String,
        stream: String,
    },
    /// OpenIRL srtla receiver stats, e.g. `http://127.0.0.1:8080/stats/play_abc`.
    OpenIrl { url: String },
    /// OBS's own outgoing stream (last resort: it measures the upload, not the ingest).
    Obs,
}

pub(super) fn default_true() -> bool {
    true
}

pub(super) fn default_poll_interval() -> Duration {
    Duration::from_millis(250)
}

pub(super) fn default_stats_timeout() -> Duration {
    Duration::from_secs(2)
}

pub(super) fn validate_guard(guard: &GuardConfig, problem: &mut impl FnMut(String, String)) {
    if guard.poll_interval < Duration::from_millis(100) {
        problem(
            "guard.poll_interval".into(),
            "must be at least 100ms".into(),
        );
    }
    if let Some(auto) = &guard.auto_start {
        positive("guard.auto_start.retry_after", auto.retry_after, problem);
        if auto.quiet_after_stop > Duration::from_secs(24 * 3600) {
            problem(
                "guard.auto_start.quiet_after_stop".into(),
                "must be at most 24h".into(),
            );
        }
    }
    if guard.servers.is_empty() {
        problem(
            "guard.servers".into(),
            "list at least one stats server".into(),
        );
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, server) in guard.servers.iter().enumerate() {
        let path = format!("guard.servers[{i}]");
        if server.name.trim().is_empty() {
            problem(format!("{path}.name"), "must not be empty".into());
        } else if !names.insert(server.name.to_lowercase()) {
            problem(
                format!("{path}.name"),
                format!("duplicate server name `{}`", server.name),
            );
        }
        positive(&format!("{path}.timeout"), server.timeout, problem);
        if let Some(url) = server.kind.url()
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            problem(
                format!("{path}.kind.url"),
                // Shown as the status page would: the typed URL may hold a password.
                format!("`{}` must start with http:// or https://", shown_url(url)),
            );
        }
    }
    let policy = &guard.policy;
    if let Some(low) = policy.low_kbps {
        if policy.recover_kbps < low {
            problem(
                "guard.policy.recover_kbps".into(),
                format!("must be at least `low_kbps` ({low}): recovery needs a higher bar"),
            );
        }
        if let Some(offline) = policy.offline_kbps
            && offline >= low
        {
            problem(
                "guard.policy.offline_kbps".into(),
                format!("must be below `low_kbps` ({low})"),
            );
        }
    }
    if let (Some(low), Some(offline)) = (policy.rtt_low_ms, policy.rtt_offline_ms)
        && offline <= low
    {
        problem(
            "guard.policy.rtt_offline_ms".into(),
            format!("must be above `rtt_low_ms` ({low})"),
        );
    }
    if policy.offline_timeout.is_some_and(|t| t.is_zero()) {
        problem(
            "guard.policy.offline_timeout".into(),
            "must be longer than 0s".into(),
        );
    }
}

impl StatsServerKind {
    /// The stats URL, for the types that poll one.
    pub fn url(&self) -> Option<&str> {
        match self {
            StatsServerKind::NginxRtmp { url, .. }
            | StatsServerKind::SrtLiveServer { url, .. }
            | StatsServerKind::Belabox { url, .. }
            | StatsServerKind::Mediamtx { url }
            | StatsServerKind::Srs { url, .. }
            | StatsServerKind::NodeMediaServer { url, .. }
            | StatsServerKind::Nimble { url, .. }
            | StatsServerKind::OpenIrl { url } => Some(url),
            StatsServerKind::Obs => None,
        }
    }

    /// The server type.
    pub fn kind(&self) -> ServerKind {
        use ServerKind as K;
        match self {
            StatsServerKind::NginxRtmp { .. } => K::NginxRtmp,
            StatsServerKind::SrtLiveServer { .. } => K::SrtLiveServer,
            StatsServerKind::Belabox { .. } => K::Belabox,
            StatsServerKind::Mediamtx { .. } => K::Mediamtx,
            StatsServerKind::Srs { .. } => K::Srs,
            StatsServerKind::NodeMediaServer { .. } => K::NodeMediaServer,
            StatsServerKind::Nimble { .. } => K::Nimble,
            StatsServerKind::OpenIrl { .. } => K::OpenIrl,
            StatsServerKind::Obs => K::Obs,
        }
    }
}

/// The stats server types, as named in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerKind {
    /// nginx-rtmp `stat` XML page.
    NginxRtmp,
    /// SRT Live Server (SLS) JSON stats.
    SrtLiveServer,
    /// BELABOX cloud or self-hosted receiver JSON stats.
    Belabox,
    /// MediaMTX v3 API (`/v3/paths/get/<name>`).
    Mediamtx,
    /// SRS HTTP API v1 (`/api/v1/streams/`).
    Srs,
    /// Node-Media-Server API.
    NodeMediaServer,
    /// Softvelum Nimble Streamer.
    Nimble,
    /// OpenIRL srtla receiver stats.
    OpenIrl,
    /// OBS's own outgoing stream (last resort).
    Obs,
}

impl ServerKind {
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::NginxRtmp => "nginx-rtmp",
            ServerKind::SrtLiveServer => "SRT Live Server",
            ServerKind::Belabox => "BELABOX",
            ServerKind::Mediamtx => "MediaMTX",
            ServerKind::Srs => "SRS",
            ServerKind::NodeMediaServer => "Node-Media-Server",
            ServerKind::Nimble => "Nimble",
            ServerKind::OpenIrl => "OpenIRL",
            ServerKind::Obs => "OBS",
        }
    }
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The fixed words of the stats APIs' paths (the `Endpoint` of each `guard/stats/<server>.rs`): the
/// only path segments [`shown_url`] keeps. Everything else in a path may be a stream id or key
/// (BELABOX `/<stream id>`, MediaMTX `/v3/paths/get/<path name>`, Node-Media-Server
/// `/api/streams/<app>/<stream>`, OpenIRL `/stats/<player id>`).
const API_WORDS: &[&str] = &[
    "stat",
    "stats",
    "api",
    "v1",
    "v3",
    "paths",
    "get",
    "srtconns",
    "streams",
    "manage",
    "rtmp_status",
    "srt_receiver_stats",
];

/// A stats server's address as it may be shown (status, metrics, Discord, chat, doctor, logs):
/// `scheme://host[:port]` and the path with every segment that is not one of [`API_WORDS`]
/// replaced by `…` (a run of them by one `…`); never the user name, password, query or
/// fragment, which may hold credentials (issue #15 §3). Not a URL at all: a fixed text, since
/// whatever was typed may be a secret.
pub fn shown_url(url: &str) -> String {
    let Ok(parsed) = url::Url::parse(url.trim()) else {
        return "(not a valid URL)".into();
    };
    let Some(host) = parsed.host_str() else {
        return format!("{}:…", parsed.scheme());
    };
    let mut shown = format!("{}://{host}", parsed.scheme());
    if let Some(port) = parsed.port() {
        shown.push_str(&format!(":{port}"));
    }
    let mut hidden = false;
    for segment in parsed.path().split('/').skip(1) {
        if segment.is_empty() || API_WORDS.contains(&segment) {
            shown.push('/');
            shown.push_str(segment);
            hidden = false;
        } else if !hidden {
            shown.push_str("/…");
            hidden = true;
        }
    }
    shown
}
