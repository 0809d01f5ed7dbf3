//! Overlay alerts: what the OBS browser source receives when the guard sees the ingest drop,
//! recover or go away. The JSON stays compatible with the seed's `POST /api/alert` body and
//! `/ws/alerts` message (`{"type": "low" | "restored", "message": …}`), extended with
//! `"offline"`. The overlay itself (sounds, speech) is served by `web`.

use crate::i18n::I18n;
use crate::reply::{Reply, keys};
use crate::status::Event;
use serde::Serialize;

/// One alert for the overlay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverlayAlert {
    /// `low`, `restored` or `offline`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// What the overlay shows and speaks, in the configured locale.
    pub message: String,
}

impl OverlayAlert {
    /// The alert for a guard event (none for other events, and none in dry-run: a rehearsal
    /// must not play sounds on stream).
    pub fn from_event(event: &Event, i18n: &I18n, locale: &str) -> Option<OverlayAlert> {
        let (kind, key, transition) = match event {
            Event::BitrateLow(t) => ("low", keys::ALERT_LOW, t),
            Event::BitrateRestored(t) => ("restored", keys::ALERT_RESTORED, t),
            Event::IngestOffline(t) => ("offline", keys::ALERT_OFFLINE, t),
            _ => return None,
        };
        if transition.dry_run {
            return None;
        }
        Some(OverlayAlert {
            kind,
            message: i18n.render(locale, &Reply::new(key)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::GuardTransition;
    use std::collections::BTreeMap;

    fn transition(dry_run: bool) -> GuardTransition {
        GuardTransition {
            from: "live",
            to: "low",
            cause: "low_bitrate",
            error: None,
            bitrate_kbps: Some(300),
            rtt_ms: None,
            server: Some("nginx".into()),
            dry_run,
        }
    }

    #[test]
    fn the_json_is_the_seeds_shape() {
        let i18n = I18n::new("en-US", &BTreeMap::new()).unwrap();
        let alert = OverlayAlert::from_event(&Event::BitrateLow(transition(false)), &i18n, "en-US")
            .unwrap();
        assert_eq!(
            serde_json::to_value(&alert).unwrap(),
            serde_json::json!({"type": "low", "message": "LOW BITRATE!"})
        );
        let restored =
            OverlayAlert::from_event(&Event::BitrateRestored(transition(false)), &i18n, "en-US")
                .unwrap();
        assert_eq!(
            (restored.kind, restored.message.as_str()),
            ("restored", "CONNECTION RESTORED!")
        );
        let offline =
            OverlayAlert::from_event(&Event::IngestOffline(transition(false)), &i18n, "nb-NO")
                .unwrap();
        assert_eq!(offline.kind, "offline");
        assert_ne!(offline.message, "STREAM OFFLINE!", "localised");
    }

    #[test]
    fn dry_runs_and_other_events_play_nothing() {
        let i18n = I18n::new("en-US", &BTreeMap::new()).unwrap();
        assert_eq!(
            OverlayAlert::from_event(&Event::BitrateLow(transition(true)), &i18n, "en-US"),
            None
        );
        assert_eq!(
            OverlayAlert::from_event(&Event::ObsStreamFailed, &i18n, "en-US"),
            None
        );
    }
}
