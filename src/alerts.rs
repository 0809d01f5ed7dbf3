//! Overlay alerts: what the OBS browser source shows, plays and speaks.
//!
//! [`OverlayAlert`] is the seed-compatible `{"type", "message"}` payload (the body of
//! `POST /api/alert`; types `low`, `restored`, `offline`, `raid`, `custom`). [`Alerts`] is the
//! fan-out: one `broadcast` of pre-serialised frames that every `/ws/overlay` connection reads on
//! its own task, so a slow client falls behind (and is dropped) without holding up the others.
//! Alerts come from guard, raid and ad-break events ([`run`]), `POST /api/alert` and
//! `alert test <kind>`.
//!
//! What `/ws/overlay` sends, one JSON text frame each (`OverlayEvent`):
//! `{"event": "hello", "data": {"banner_ms", "sound_volume", "speech": {"voice", "language",
//! "rate", "volume"}}}` once on connect, then `{"event": "alert", "data": {"id", "type",
//! "message", "ts", "speak"}}` per alert (`ts` in seconds since the epoch, as the seed had it).

use crate::config::OverlayConfig;
use crate::i18n::I18n;
use crate::metrics::Metrics;
use crate::reply::{Reply, keys};
use crate::status::Events;
use crate::status::{Event, RaidOutcome};
use commands::AlertKind;
use serde::{Serialize, Serializer};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// How many alerts a connection may fall behind before it is dropped.
pub const CLIENT_BACKLOG: usize = 64;

fn kind_name<S: Serializer>(kind: &AlertKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.as_str())
}

/// One alert for the overlay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverlayAlert {
    /// `low`, `restored`, `offline`, `raid` or `custom`.
    #[serde(rename = "type", serialize_with = "kind_name")]
    pub kind: AlertKind,
    /// What the overlay shows and speaks.
    pub message: String,
}

/// The alert kind of a wire name (`POST /api/alert`'s `type`).
pub fn kind_from_name(name: &str) -> Option<AlertKind> {
    AlertKind::ALL.into_iter().find(|k| k.as_str() == name)
}

impl OverlayAlert {
    /// The alert for a guard or raid event (none for other events, and none in dry-run: a
    /// rehearsal must not play sounds on stream).
    pub fn from_event(event: &Event, i18n: &I18n, locale: &str) -> Option<OverlayAlert> {
        let (kind, reply, dry_run) = match event {
            Event::BitrateLow(t) => (AlertKind::Low, Reply::new(keys::ALERT_LOW), t.dry_run),
            Event::BitrateRestored(t) => (
                AlertKind::Restored,
                Reply::new(keys::ALERT_RESTORED),
                t.dry_run,
            ),
            Event::IngestOffline(t) => (
                AlertKind::Offline,
                Reply::new(keys::ALERT_OFFLINE),
                t.dry_run,
            ),
            // The same raid seen twice plays once.
            Event::RaidHandled {
                channel, outcome, ..
            } if *outcome != RaidOutcome::Duplicate => (
                AlertKind::Raid,
                Reply::new(keys::ALERT_RAID).arg("channel", channel.clone()),
                false,
            ),
            // Viewers see Twitch's ad, the stream sees this: the overlay says why it is quiet.
            Event::AdBreakBegan { duration_secs, .. } => (
                AlertKind::Custom,
                Reply::new(keys::ALERT_AD_BREAK).number("seconds", *duration_secs),
                false,
            ),
            _ => return None,
        };
        (!dry_run).then(|| OverlayAlert {
            kind,
            message: i18n.render(locale, &reply),
        })
    }

    /// What `alert test <kind>` sends: the real text of that kind.
    pub fn test(kind: AlertKind, i18n: &I18n, locale: &str) -> OverlayAlert {
        let reply = match kind {
            AlertKind::Low => Reply::new(keys::ALERT_LOW),
            AlertKind::Restored => Reply::new(keys::ALERT_RESTORED),
            AlertKind::Offline => Reply::new(keys::ALERT_OFFLINE),
            AlertKind::Raid => Reply::new(keys::ALERT_RAID).arg("channel", "stream_control"),
            AlertKind::Custom => Reply::new(keys::ALERT_TEST_CUSTOM),
        };
        OverlayAlert {
            kind,
            message: i18n.render(locale, &reply),
        }
    }
}

/// Speech settings, as the overlay page applies them.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Speech {
    voice: Option<String>,
    language: String,
    rate: f32,
    volume: f32,
}

/// The first frame on a connection: how to show, play and speak.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Hello {
    banner_ms: u64,
    sound_volume: f32,
    speech: Speech,
}

/// An alert as sent to the overlays.
#[derive(Debug, Clone, Serialize)]
struct Sent<'a> {
    id: u64,
    #[serde(flatten)]
    alert: &'a OverlayAlert,
    ts: f64,
    speak: bool,
}

/// Frames of `/ws/overlay`.
#[derive(Debug, Serialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
enum OverlayEvent<'a> {
    Hello(&'a Hello),
    Alert(Sent<'a>),
}

/// The overlay fan-out. Shared as `Arc<Alerts>` in `context::Context` when the overlay is
/// configured.
#[derive(Debug)]
pub struct Alerts {
    config: OverlayConfig,
    /// The locale of alert texts.
    locale: &'static str,
    hello: Arc<str>,
    frames: broadcast::Sender<Arc<str>>,
    next_id: AtomicU64,
    clients: Arc<AtomicUsize>,
    metrics: Arc<Metrics>,
}

/// Counts a connected overlay while it lives.
#[derive(Debug)]
pub struct ClientGuard(Arc<AtomicUsize>);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One overlay connection's view of the fan-out.
#[derive(Debug)]
pub struct Subscription {
    /// Send this first.
    pub hello: Arc<str>,
    /// Then every alert frame.
    pub frames: broadcast::Receiver<Arc<str>>,
    pub guard: ClientGuard,
}

impl Alerts {
    /// Alert texts are in the overlay's `locale`, else the bot's default locale.
    pub fn new(config: &OverlayConfig, i18n: &I18n, metrics: Arc<Metrics>) -> Alerts {
        let locale = match &config.locale {
            Some(locale) => i18n.negotiate(locale),
            None => i18n.default_locale(),
        };
        let hello = Hello {
            banner_ms: u64::try_from(config.banner.as_millis()).unwrap_or(u64::MAX),
            sound_volume: config.sound_volume,
            speech: Speech {
                voice: config.voice.clone(),
                language: config
                    .language
                    .clone()
                    .unwrap_or_else(|| locale.to_string()),
                rate: config.rate,
                volume: config.volume,
            },
        };
        let hello = serde_json::to_string(&OverlayEvent::Hello(&hello))
            .unwrap_or_else(|_| "{}".into())
            .into();
        Alerts {
            config: config.clone(),
            locale,
            hello,
            frames: broadcast::channel(CLIENT_BACKLOG).0,
            next_id: AtomicU64::new(1),
            clients: Arc::new(AtomicUsize::new(0)),
            metrics,
        }
    }

    /// The locale alert texts are rendered in.
    pub fn locale(&self) -> &'static str {
        self.locale
    }

    /// Send an alert to every connected overlay; returns its id. Never waits on a client.
    pub fn publish(&self, alert: &OverlayAlert) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let frame = OverlayEvent::Alert(Sent {
            id,
            alert,
            ts,
            speak: self.config.speak.speaks(alert.kind),
        });
        if let Ok(text) = serde_json::to_string(&frame) {
            // No overlay connected is fine.
            let _ = self.frames.send(text.into());
        }
        self.metrics.overlay_alert(alert.kind);
        tracing::info!(
            id,
            kind = alert.kind.as_str(),
            clients = self.clients(),
            "overlay alert"
        );
        id
    }

    /// A new overlay connection: the hello frame, the alert frames from now on, and the guard
    /// that counts it.
    pub fn subscribe(&self) -> Subscription {
        self.clients.fetch_add(1, Ordering::Relaxed);
        Subscription {
            hello: self.hello.clone(),
            frames: self.frames.subscribe(),
            guard: ClientGuard(self.clients.clone()),
        }
    }

    /// Overlays connected now.
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }
}

/// The task that turns guard and raid events into overlay alerts.
pub async fn run(
    alerts: Arc<Alerts>,
    i18n: Arc<I18n>,
    mut events: Events,
    token: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        let event = tokio::select! {
            _ = token.cancelled() => return Ok(()),
            event = events.recv() => event,
        };
        match event {
            Ok(event) => {
                if let Some(alert) = OverlayAlert::from_event(&event, &i18n, alerts.locale()) {
                    alerts.publish(&alert);
                }
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "the overlay missed events");
            }
            Err(broadcast::error::RecvError::Closed) => return Ok(()),
        }
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

    fn i18n() -> I18n {
        I18n::new("en-US", &BTreeMap::new()).unwrap()
    }

    #[test]
    fn the_json_is_the_seeds_shape() {
        let i18n = i18n();
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
            (AlertKind::Restored, "CONNECTION RESTORED!")
        );
        let offline =
            OverlayAlert::from_event(&Event::IngestOffline(transition(false)), &i18n, "nb-NO")
                .unwrap();
        assert_eq!(offline.kind, AlertKind::Offline);
        assert_eq!(offline.message, "STRØMMEN ER NEDE!", "localised");
    }

    #[test]
    fn an_ad_break_is_a_custom_alert_with_its_length() {
        let alert = OverlayAlert::from_event(
            &Event::AdBreakBegan {
                duration_secs: 90,
                automatic: true,
            },
            &i18n(),
            "en-US",
        )
        .unwrap();
        assert_eq!(
            (alert.kind, alert.message.as_str()),
            (AlertKind::Custom, "AD BREAK: 90 s. Stay with us!")
        );
        assert_eq!(
            OverlayAlert::from_event(&Event::AdBreakEnded, &i18n(), "en-US"),
            None
        );
    }

    #[test]
    fn dry_runs_duplicate_raids_and_other_events_play_nothing() {
        let i18n = i18n();
        assert_eq!(
            OverlayAlert::from_event(&Event::BitrateLow(transition(true)), &i18n, "en-US"),
            None
        );
        assert_eq!(
            OverlayAlert::from_event(&Event::ObsStreamFailed, &i18n, "en-US"),
            None
        );
        let raid = |outcome| Event::RaidHandled {
            channel: "friend".into(),
            outcome,
            message: None,
        };
        assert_eq!(
            OverlayAlert::from_event(&raid(RaidOutcome::Duplicate), &i18n, "en-US"),
            None
        );
        let alert = OverlayAlert::from_event(&raid(RaidOutcome::Stopped), &i18n, "en-US").unwrap();
        assert_eq!(alert.kind, AlertKind::Raid);
        assert!(alert.message.contains("friend"), "{}", alert.message);
    }

    #[test]
    fn frames_carry_id_type_message_ts_and_whether_to_speak() {
        let i18n = i18n();
        let config = OverlayConfig {
            speak: crate::config::SpeakConfig {
                low: false,
                ..Default::default()
            },
            language: Some("nb-NO".into()),
            ..Default::default()
        };
        let alerts = Alerts::new(&config, &i18n, Arc::new(Metrics::new()));
        let mut subscription = alerts.subscribe();
        assert_eq!(alerts.clients(), 1);
        let hello: serde_json::Value = serde_json::from_str(&subscription.hello).unwrap();
        assert_eq!(hello["event"], "hello");
        assert_eq!(hello["data"]["banner_ms"], 6000);
        assert_eq!(hello["data"]["speech"]["language"], "nb-NO");
        let id = alerts.publish(&OverlayAlert::test(AlertKind::Low, &i18n, "en-US"));
        let frame = subscription.frames.try_recv().unwrap();
        let frame: serde_json::Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(frame["event"], "alert");
        assert_eq!(frame["data"]["id"], id);
        assert_eq!(frame["data"]["type"], "low");
        assert_eq!(frame["data"]["message"], "LOW BITRATE!");
        assert_eq!(frame["data"]["speak"], false);
        assert!(frame["data"]["ts"].as_f64().unwrap() > 1.6e9);
        drop(subscription);
        assert_eq!(alerts.clients(), 0);
    }
}
