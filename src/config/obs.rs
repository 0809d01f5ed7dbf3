//! The `obs` section: the OBS connection, scene names and how stream actions behave.

use super::values::{duration, positive};
use serde::Deserialize;
use std::time::Duration;

/// OBS connection, scene names and how stream actions behave. The password comes from
/// `OBS_PASSWORD`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObsConfig {
    /// Host of the OBS PC (obs-websocket server).
    #[serde(default = "default_obs_host")]
    pub host: String,
    /// obs-websocket port.
    #[serde(default = "default_obs_port")]
    pub port: u16,
    /// First reconnect delay; doubles after each failure up to `reconnect_max`.
    #[serde(default = "default_reconnect_min", deserialize_with = "duration")]
    pub reconnect_min: Duration,
    #[serde(default = "default_reconnect_max", deserialize_with = "duration")]
    pub reconnect_max: Duration,
    /// Every request to OBS gives up after this long.
    #[serde(default = "default_request_timeout", deserialize_with = "duration")]
    pub request_timeout: Duration,
    #[serde(default)]
    pub scenes: SceneNames,
    /// Scenes `scene <name>` may switch to besides those named in `scenes`. Empty: only those.
    /// Any other OBS scene is answered like an unknown one and never listed.
    #[serde(default)]
    pub switchable_scenes: Vec<String>,
    /// Audio inputs `mute`/`unmute` may reach, by their names in OBS. Empty (the default): none.
    /// Any other input is answered like an unknown one and never listed.
    #[serde(default)]
    pub audio_inputs: Vec<String>,
    /// Sources `source <name> show|hide` may reach. Empty (the default): none. Any other source
    /// is answered like an unknown one and never listed.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    #[serde(default)]
    pub stop: StopConfig,
    #[serde(default)]
    pub fix: FixConfig,
    /// `refresh`: switch to this scene (default: the BRB scene), hold, switch back.
    #[serde(default)]
    pub refresh_scene: Option<String>,
    #[serde(default = "default_refresh_hold", deserialize_with = "duration")]
    pub refresh_hold: Duration,
    /// Stop the stream after an outgoing raid. Absent: raids do not stop the stream.
    #[serde(default)]
    pub raid_stop: Option<RaidStopConfig>,
    /// When the upload from OBS is in trouble (alerts).
    #[serde(default)]
    pub upload: UploadConfig,
}

/// The upload alerts' thresholds. Judged on each reading of OBS's statistics (every 5 s); an
/// alert is raised once when its condition has held for its time and cleared once when it no
/// longer holds (congestion: for the same time).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UploadConfig {
    /// OBS's stream output reconnecting to the ingest for at least this long.
    #[serde(deserialize_with = "duration")]
    pub reconnecting_for: Duration,
    /// Congestion as OBS measures it (0 to 1, the colour of its status bar square) at or
    /// above this level …
    pub congestion: f64,
    /// … for at least this long; below it for as long clears it.
    #[serde(deserialize_with = "duration")]
    pub congestion_for: Duration,
    /// Frames OBS dropped (network) at or above this percentage of its frames …
    pub dropped_percent: f64,
    /// … over this window (the alert clears when the window's share is below it).
    #[serde(deserialize_with = "duration")]
    pub dropped_window: Duration,
    /// While recording: the recording disk has less than this many MB free (cleared with 10 %
    /// to spare). `None`: not watched.
    pub disk_low_mb: Option<u64>,
}

impl Default for UploadConfig {
    fn default() -> Self {
        UploadConfig {
            reconnecting_for: Duration::from_secs(5),
            congestion: 0.5,
            congestion_for: Duration::from_secs(30),
            dropped_percent: 5.0,
            dropped_window: Duration::from_secs(60),
            disk_low_mb: Some(5120),
        }
    }
}

/// The shortest `obs.upload.dropped_window`: two readings of OBS's statistics.
pub const MIN_DROPPED_WINDOW: Duration = Duration::from_secs(10);

impl ObsConfig {
    /// The scenes `scene <name>` may switch to: those named in `scenes`, the refresh scene and
    /// `switchable_scenes`.
    pub fn switchable(&self) -> Vec<&str> {
        let scenes = &self.scenes;
        [&scenes.live, &scenes.low, &scenes.brb, &scenes.offline]
            .into_iter()
            .chain(scenes.starting.as_ref())
            .chain(scenes.ending.as_ref())
            .chain(scenes.ad_break.as_ref())
            .chain(self.refresh_scene.as_ref())
            .chain(&self.switchable_scenes)
            .map(String::as_str)
            .collect()
    }
}

/// A source `source <name> show|hide` may show or hide: its scene item in `scene`, or in the
/// program scene of the moment when `scene` is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// The source's name in OBS.
    pub name: String,
    /// The scene whose item is shown or hidden. `None`: the current program scene.
    #[serde(default)]
    pub scene: Option<String>,
}

/// What happens after an outgoing raid.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaidStopConfig {
    /// Wait this long after the raid before stopping (viewers are already gone).
    #[serde(deserialize_with = "duration")]
    pub delay: Duration,
    /// Only stop a stream that has been live at least this long (a test raid right after
    /// going live does not end the stream).
    #[serde(deserialize_with = "duration")]
    pub min_live: Duration,
    /// Chat message after the stop; `{channel}` is the raided channel. `None`: no message.
    pub message: Option<String>,
}

impl Default for RaidStopConfig {
    fn default() -> Self {
        RaidStopConfig {
            delay: Duration::ZERO,
            min_live: Duration::from_secs(60),
            message: Some("Raided {channel} successfully & ended the stream!".into()),
        }
    }
}

/// The scenes the bot and the guard use, by their names in OBS.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SceneNames {
    pub live: String,
    pub low: String,
    pub brb: String,
    pub offline: String,
    /// Shown after `start`; the guard leaves it only for LIVE. `None`: `start` keeps the scene.
    pub starting: Option<String>,
    /// Shown before the stream stops (`stop`, raid). `None`: no ending scene.
    pub ending: Option<String>,
    /// Shown while Twitch runs an ad break; the scene it replaced comes back when the break is
    /// over (unless someone switched meanwhile). `None`: ad breaks do not switch scenes.
    pub ad_break: Option<String>,
}

impl Default for SceneNames {
    fn default() -> Self {
        SceneNames {
            live: "LIVE".into(),
            low: "LOW".into(),
            brb: "BRB".into(),
            offline: "OFFLINE".into(),
            starting: Some("Starting soon".into()),
            ending: None,
            ad_break: None,
        }
    }
}

/// How `stop` ends the stream.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StopConfig {
    /// With an ending scene: how long it shows before the stream stops.
    #[serde(deserialize_with = "duration")]
    pub ending_delay: Duration,
    /// How long OBS has to confirm that the output stopped (or started).
    #[serde(deserialize_with = "duration")]
    pub confirm_timeout: Duration,
}

impl Default for StopConfig {
    fn default() -> Self {
        StopConfig {
            ending_delay: Duration::from_secs(10),
            confirm_timeout: Duration::from_secs(15),
        }
    }
}

/// What `fix` does.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum FixConfig {
    /// Restart these media sources and confirm they play again (the cure for a frozen SRT or
    /// RTMP media source).
    RestartMedia {
        sources: Vec<String>,
        #[serde(default = "default_media_confirm", deserialize_with = "duration")]
        confirm_timeout: Duration,
    },
    /// The seed's bounce: BRB, wait, LIVE.
    Bounce {
        #[serde(default = "default_bounce_delay", deserialize_with = "duration")]
        delay: Duration,
    },
}

impl Default for FixConfig {
    fn default() -> Self {
        FixConfig::Bounce {
            delay: default_bounce_delay(),
        }
    }
}

pub(super) fn default_obs_host() -> String {
    "127.0.0.1".into()
}

pub(super) fn default_obs_port() -> u16 {
    4455
}

pub(super) fn default_reconnect_min() -> Duration {
    Duration::from_secs(1)
}

pub(super) fn default_reconnect_max() -> Duration {
    Duration::from_secs(30)
}

pub(super) fn default_request_timeout() -> Duration {
    Duration::from_secs(5)
}

pub(super) fn default_refresh_hold() -> Duration {
    Duration::from_secs(2)
}

pub(super) fn default_media_confirm() -> Duration {
    Duration::from_secs(5)
}

pub(super) fn default_bounce_delay() -> Duration {
    Duration::from_secs(2)
}

pub(super) fn validate_obs(obs: &ObsConfig, problem: &mut impl FnMut(String, String)) {
    if obs.host.trim().is_empty() || obs.host.chars().any(char::is_whitespace) {
        problem(
            "obs.host".into(),
            "must be a host name or IP address".into(),
        );
    }
    if obs.port == 0 {
        problem(
            "obs.port".into(),
            "must be 1 to 65535 (obs-websocket uses 4455)".into(),
        );
    }
    positive("obs.reconnect_min", obs.reconnect_min, problem);
    positive("obs.request_timeout", obs.request_timeout, problem);
    positive(
        "obs.stop.confirm_timeout",
        obs.stop.confirm_timeout,
        problem,
    );
    if obs.reconnect_max < obs.reconnect_min {
        problem(
            "obs.reconnect_max".into(),
            "must not be shorter than `reconnect_min`".into(),
        );
    }
    let scenes = &obs.scenes;
    for (key, name) in [
        ("live", Some(&scenes.live)),
        ("low", Some(&scenes.low)),
        ("brb", Some(&scenes.brb)),
        ("offline", Some(&scenes.offline)),
        ("starting", scenes.starting.as_ref()),
        ("ending", scenes.ending.as_ref()),
    ] {
        if name.is_some_and(|n| n.trim().is_empty()) {
            problem(format!("obs.scenes.{key}"), "must not be empty".into());
        }
    }
    for (i, name) in obs.switchable_scenes.iter().enumerate() {
        if name.trim().is_empty() {
            problem(
                format!("obs.switchable_scenes[{i}]"),
                "must not be empty".into(),
            );
        }
    }
    for (i, name) in obs.audio_inputs.iter().enumerate() {
        if name.trim().is_empty() {
            problem(format!("obs.audio_inputs[{i}]"), "must not be empty".into());
        } else if obs.audio_inputs[..i].contains(name) {
            problem(
                format!("obs.audio_inputs[{i}]"),
                format!("`{name}` is listed twice"),
            );
        }
    }
    for (i, source) in obs.sources.iter().enumerate() {
        if source.name.trim().is_empty() {
            problem(format!("obs.sources[{i}].name"), "must not be empty".into());
        } else if obs.sources[..i].iter().any(|s| s.name == source.name) {
            problem(
                format!("obs.sources[{i}].name"),
                format!("`{}` is listed twice (one scene per source)", source.name),
            );
        }
        if source.scene.as_ref().is_some_and(|s| s.trim().is_empty()) {
            problem(
                format!("obs.sources[{i}].scene"),
                "must not be empty (None: the program scene)".into(),
            );
        }
    }
    for (key, other) in [("low", &scenes.low), ("offline", &scenes.offline)] {
        if *other == scenes.live {
            problem(
                format!("obs.scenes.{key}"),
                format!("must differ from the LIVE scene (`{}`)", scenes.live),
            );
        }
    }
    validate_upload(&obs.upload, problem);
    if let FixConfig::RestartMedia {
        sources,
        confirm_timeout,
    } = &obs.fix
    {
        if sources.is_empty() || sources.iter().any(|s| s.trim().is_empty()) {
            problem(
                "obs.fix".into(),
                "name at least one media source to restart".into(),
            );
        }
        positive("obs.fix.confirm_timeout", *confirm_timeout, problem);
    }
}

fn validate_upload(upload: &UploadConfig, problem: &mut impl FnMut(String, String)) {
    if !(upload.congestion > 0.0 && upload.congestion <= 1.0) {
        problem(
            "obs.upload.congestion".into(),
            "must be above 0 and at most 1 (OBS measures congestion from 0 to 1)".into(),
        );
    }
    if !(upload.dropped_percent > 0.0 && upload.dropped_percent <= 100.0) {
        problem(
            "obs.upload.dropped_percent".into(),
            "must be above 0 and at most 100".into(),
        );
    }
    if upload.dropped_window < MIN_DROPPED_WINDOW {
        problem(
            "obs.upload.dropped_window".into(),
            format!(
                "must be at least {MIN_DROPPED_WINDOW:?} (OBS's statistics are read every 5 s)"
            ),
        );
    }
    if upload.disk_low_mb == Some(0) {
        problem(
            "obs.upload.disk_low_mb".into(),
            "must be above 0 (None: the disk is not watched)".into(),
        );
    }
}
