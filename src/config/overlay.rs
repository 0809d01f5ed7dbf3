//! The `web.overlay` section: what the OBS browser source shows, plays and says per alert.

use super::values::duration;
use serde::Deserialize;
use std::time::Duration;

/// The overlay for the OBS browser source: banner, sound and speech per alert.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OverlayConfig {
    /// Language of the alert texts. `None`: the top-level `locale`.
    pub locale: Option<String>,
    /// How long a banner shows.
    #[serde(deserialize_with = "duration")]
    pub banner: Duration,
    /// Volume of the alert sounds, 0.0 to 1.0.
    pub sound_volume: f32,
    /// Speech voice by the name the browser gives it. `None`: the browser's voice for
    /// `language`.
    pub voice: Option<String>,
    /// Speech language (BCP 47, e.g. "nb-NO"). `None`: the alert texts' locale.
    pub language: Option<String>,
    /// Speech rate, 0.1 to 10 (1 is normal).
    pub rate: f32,
    /// Speech volume, 0.0 to 1.0.
    pub volume: f32,
    /// Which alert kinds are also spoken.
    pub speak: SpeakConfig,
}

impl Default for OverlayConfig {
    fn default() -> Self {
        OverlayConfig {
            locale: None,
            banner: Duration::from_secs(6),
            sound_volume: 0.8,
            voice: None,
            language: None,
            rate: 1.0,
            volume: 1.0,
            speak: SpeakConfig::default(),
        }
    }
}

/// Speech per alert kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpeakConfig {
    pub low: bool,
    pub restored: bool,
    pub offline: bool,
    pub raid: bool,
    pub custom: bool,
}

impl Default for SpeakConfig {
    fn default() -> Self {
        SpeakConfig {
            low: true,
            restored: true,
            offline: true,
            raid: true,
            custom: true,
        }
    }
}

impl SpeakConfig {
    /// Whether alerts of `kind` are spoken.
    pub fn speaks(&self, kind: commands::AlertKind) -> bool {
        use commands::AlertKind as K;
        match kind {
            K::Low => self.low,
            K::Restored => self.restored,
            K::Offline => self.offline,
            K::Raid => self.raid,
            K::Custom => self.custom,
        }
    }
}
