//! The guard's decision state machine: pure, time-based, with hysteresis.
//!
//! `decide(policy, state, input, now) -> Decision`. No I/O, no clock: the caller passes `now`.
//! The guard loop feeds it one [`Input`] per poll (the combined sample of all servers) and every
//! OBS scene change, and carries out the [`Decision`].
//!
//! How it decides:
//! - Each sample is classified into a [`Level`] (LIVE, LOW, OFFLINE) *relative to the current
//!   level* (hysteresis): from LIVE, a bitrate below `low_kbps` is LOW; from LOW or OFFLINE, a
//!   bitrate must reach `recover_kbps` to count as LIVE. A publisher at 0 kbps, a bitrate below
//!   `offline_kbps`, an RTT at or above `rtt_offline_ms`, or no publisher is OFFLINE; an RTT at or
//!   above `rtt_low_ms` is at least LOW.
//! - A stats page that fails is not OFFLINE until it has failed for `unreachable_grace`; until
//!   then the sample carries no information (NOALBS #125).
//! - A worse level is entered once the samples have been at least that bad *continuously* for
//!   `degrade_after`; a better level once they have been at least that good continuously for
//!   `recover_after` (from OFFLINE at once when `instant_recover_from_offline`). Jitter around a
//!   threshold therefore never switches.
//! - For `live_grace` after LIVE is entered (by the guard or by hand), LIVE is not left for LOW.
//! - On a scene the guard does not own ([`Input::Scene`] with `None`) nothing is decided: the
//!   manual override. From the starting scene the guard only ever goes to LIVE.
//! - After `offline_timeout` at OFFLINE, it asks once to stop the stream.

use super::stats::IngestStats;
use serde::Deserialize;
use std::time::Duration;
#[allow(unused_imports)] // used once the implementation lands
use tokio::time::Instant;

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
    /// How long samples must be worse before the guard degrades.
    #[serde(deserialize_with = "crate::config::duration")]
    pub degrade_after: Duration,
    /// How long samples must be better before the guard recovers.
    #[serde(deserialize_with = "crate::config::duration")]
    pub recover_after: Duration,
    /// Leave OFFLINE as soon as a sample is better.
    pub instant_recover_from_offline: bool,
    /// After LIVE is entered, do not leave it for LOW for this long.
    #[serde(deserialize_with = "crate::config::duration")]
    pub live_grace: Duration,
    /// A failing stats page counts as OFFLINE only after failing this long.
    #[serde(deserialize_with = "crate::config::duration")]
    pub unreachable_grace: Duration,
    /// Stop the stream after this long at OFFLINE. `None`: never.
    #[serde(deserialize_with = "crate::config::optional_duration")]
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
            degrade_after: Duration::from_secs(1),
            recover_after: Duration::from_secs(3),
            instant_recover_from_offline: true,
            live_grace: Duration::from_secs(3),
            unreachable_grace: Duration::from_secs(5),
            offline_timeout: None,
        }
    }
}

/// The guard's scene classes, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Live,
    Low,
    Offline,
}

/// Which owned scene OBS shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OwnedScene {
    Level(Level),
    /// The optional starting scene: the guard only ever leaves it for LIVE.
    Starting,
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The combined stats of one poll.
    Sample(IngestStats),
    /// OBS now shows this scene (`None`: a scene the guard does not own — manual override).
    Scene(Option<OwnedScene>),
}

/// Why the guard switches.
#[derive(Debug, Clone, PartialEq)]
pub enum Cause {
    /// Bitrate below the LOW (or OFFLINE) threshold.
    LowBitrate,
    /// A publisher at 0 kbps.
    ZeroBitrate,
    /// RTT at or above a threshold.
    HighRtt,
    /// Nobody publishes.
    NoPublisher,
    /// The stats page failed for longer than `unreachable_grace`; the error text.
    Unreachable(String),
    /// Samples good enough for the better level.
    Recovered,
    /// At OFFLINE for `offline_timeout`.
    OfflineTimeout,
}

/// The sample that triggered a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    pub cause: Cause,
    pub bitrate_kbps: Option<u32>,
    pub rtt_ms: Option<u32>,
}

/// What the guard loop should do.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Nothing,
    /// Switch to the scene of this level.
    Switch {
        from: OwnedScene,
        to: Level,
        reason: Reason,
    },
    /// Stop the stream (offline timeout). Asked once per stay at OFFLINE.
    StopStream {
        reason: Reason,
    },
}

/// Everything `decide` remembers between calls. Starts with no owned scene known.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GuardState {
    // Filled in by the implementation.
}
