//! The `twitch` section: the channel, admins, announcements and the Twitch endpoints.

use super::values::{check_locale, duration, positive};
use serde::Deserialize;
use std::time::Duration;

/// Twitch's own base URLs, as twitch_api builds them (the defaults of `helix_url` and
/// `oauth_url`).
pub const HELIX_URL: &str = "https://api.twitch.tv/helix/";
pub const OAUTH_URL: &str = "https://id.twitch.tv/oauth2/";

/// Twitch. Client id and secret come from `TWITCH_CLIENT_ID` / `TWITCH_CLIENT_SECRET`; tokens
/// from `stream-control twitch login` (stored in the state directory).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwitchConfig {
    /// Logins or user ids that may use admin commands in chat (besides the broadcaster).
    #[serde(default)]
    pub admins: Vec<String>,
    /// Language of replies in Twitch chat. `None`: the top-level `locale`.
    #[serde(default)]
    pub locale: Option<String>,
    /// Which guard transitions are announced in chat.
    #[serde(default)]
    pub announce: AnnounceConfig,
    /// Which guard transitions leave a stream marker in the VOD.
    #[serde(default)]
    pub markers: MarkersConfig,
    /// How often live state, viewers, title and category are read while live.
    #[serde(
        default = "default_stream_info_interval",
        deserialize_with = "duration"
    )]
    pub stream_info_interval: Duration,
    /// Twitch's API addresses; change only to go through a proxy (or a test double).
    #[serde(default = "default_helix_url")]
    pub helix_url: String,
    #[serde(default = "default_oauth_url")]
    pub oauth_url: String,
    #[serde(default = "default_eventsub_url")]
    pub eventsub_url: String,
    /// An EventSub session lost and not back within this is an alert (down, then back).
    #[serde(default = "default_eventsub_down_after", deserialize_with = "duration")]
    pub eventsub_down_after: Duration,
}

/// What is announced in chat: guard transitions (every transition, whether or not OBS
/// streams), the upload alerts viewers notice anyway (on by default), and, opt-in, what only
/// the streamer needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnnounceConfig {
    pub low: bool,
    pub restored: bool,
    pub offline: bool,
    /// Also announce what the guard decided in dry-run.
    pub dry_run: bool,
    /// The guard started the stream (`guard.auto_start`).
    pub auto_start: bool,
    /// Upload alerts (`obs.upload`), started and cleared: OBS's output reconnecting, …
    pub reconnecting: bool,
    /// … congestion, …
    pub congestion: bool,
    /// … dropped frames (all three visible to viewers: on by default), …
    pub dropped_frames: bool,
    /// … the recording disk running low (viewers see nothing of it: off by default).
    pub disk_low: bool,
    /// Opt-in: the guard stopped the stream after the offline timeout.
    pub offline_timeout: bool,
    /// Opt-in: one of the bot's tasks failed and restarts.
    pub task_failed: bool,
    /// Opt-in: a service (`services`) changed state.
    pub service: bool,
    /// Opt-in: the stream PC (`power`) started or stopped answering.
    pub pc: bool,
    /// Opt-in: EventSub down and back.
    pub eventsub: bool,
}

impl Default for AnnounceConfig {
    fn default() -> Self {
        AnnounceConfig {
            low: true,
            restored: true,
            offline: true,
            dry_run: true,
            auto_start: true,
            reconnecting: true,
            congestion: true,
            dropped_frames: true,
            disk_low: false,
            offline_timeout: false,
            task_failed: false,
            service: false,
            pc: false,
            eventsub: false,
        }
    }
}

/// Guard transitions marked in the VOD (Helix stream markers, described like "LOW 420 kbps",
/// "OFFLINE: no publisher", "back LIVE"), so the highlighter shows where the connection broke.
/// Only real switches are marked (not dry-run decisions), and only while live on Twitch.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarkersConfig {
    pub low: bool,
    pub offline: bool,
    pub restored: bool,
}

impl MarkersConfig {
    /// Whether any transition is marked.
    pub fn any(&self) -> bool {
        self.low || self.offline || self.restored
    }
}

impl Default for MarkersConfig {
    fn default() -> Self {
        MarkersConfig {
            low: true,
            offline: true,
            restored: true,
        }
    }
}

pub(super) fn default_stream_info_interval() -> Duration {
    Duration::from_secs(30)
}

pub(super) fn default_eventsub_down_after() -> Duration {
    Duration::from_secs(30)
}

pub(super) fn default_helix_url() -> String {
    HELIX_URL.into()
}

pub(super) fn default_oauth_url() -> String {
    OAUTH_URL.into()
}

pub(super) fn default_eventsub_url() -> String {
    "wss://eventsub.wss.twitch.tv/ws".into()
}

pub(super) fn validate_twitch(twitch: &TwitchConfig, problem: &mut impl FnMut(String, String)) {
    check_locale("twitch.locale", twitch.locale.as_ref(), problem);
    for (i, admin) in twitch.admins.iter().enumerate() {
        let valid = !admin.is_empty()
            && admin.len() <= 25
            && admin
                .trim_start_matches('@')
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            problem(
                format!("twitch.admins[{i}]"),
                format!("`{admin}` is not a Twitch login or user id"),
            );
        }
    }
    positive(
        "twitch.stream_info_interval",
        twitch.stream_info_interval,
        problem,
    );
    positive(
        "twitch.eventsub_down_after",
        twitch.eventsub_down_after,
        problem,
    );
    for (key, url, schemes) in [
        ("helix_url", &twitch.helix_url, ["http://", "https://"]),
        ("oauth_url", &twitch.oauth_url, ["http://", "https://"]),
        ("eventsub_url", &twitch.eventsub_url, ["ws://", "wss://"]),
    ] {
        if !schemes.iter().any(|s| url.starts_with(s)) {
            problem(
                format!("twitch.{key}"),
                format!("`{url}` must start with {}", schemes.join(" or ")),
            );
        }
    }
}
