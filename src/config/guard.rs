//! The `guard` section: the stats servers the bitrate guard polls and how it decides.

use super::values::{duration, positive};
use serde::Deserialize;
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
    pub policy: crate::guard::decide::Policy,
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
                format!(
                    "`{}` must start with http:// or https://",
                    crate::guard::stats::shown_url(url)
                ),
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
    pub fn kind(&self) -> crate::guard::stats::ServerKind {
        use crate::guard::stats::ServerKind as K;
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
