//! The last 30 minutes of ingest bitrate and RTT, with scene switches: a server-side ring buffer
//! the status page draws its chart from (`/api/history`, then live samples over
//! `/api/status/stream`) and the Discord surface renders as a picture.
//!
//! Fed by the supervised task [`run`]: once a second it samples the guard's active server from
//! `Status.guard` (so at most one sample per second, however fast the guard polls), and it records
//! scene switches from `Event::SceneSwitched` (the bot, with who) and `Event::ObsSceneChanged`
//! (anyone; `by: None` when the bot did not announce it). The lock is a `std::sync::Mutex`,
//! touched only in synchronous code.

use crate::status::Events;
use crate::status::{Event, Status, SwitchedBy};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How much history is kept.
pub const WINDOW: Duration = Duration::from_secs(30 * 60);
/// At one sample per second, [`WINDOW`] holds this many.
const MAX_SAMPLES: usize = 30 * 60 + 1;
/// Scene switches kept (older ones also fall out of the window).
const MAX_SWITCHES: usize = 500;
/// A switch the bot announced and the scene change OBS reported within this long are one switch.
const SAME_SWITCH_MS: u64 = 5_000;

/// One sample of the active ingest server (`None`: no number at that moment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistorySample {
    pub at_unix_ms: u64,
    pub bitrate_kbps: Option<u32>,
    pub rtt_ms: Option<u32>,
}

/// A scene switch on the time line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwitchMark {
    pub at_unix_ms: u64,
    pub scene: String,
    /// Who switched; `None`: switched outside the bot (in OBS, by hand).
    pub by: Option<SwitchedBy>,
}

/// The history within a window, oldest first, with the guard's thresholds in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistorySnapshot {
    pub samples: Vec<HistorySample>,
    pub switches: Vec<SwitchMark>,
    pub low_kbps: Option<u32>,
    pub recover_kbps: Option<u32>,
}

/// What changed, for live subscribers (the status page's stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryUpdate {
    Sample(HistorySample),
    Switch(SwitchMark),
}

/// The ring buffer. Shared as `Arc<History>` (in `context::Context`).
#[derive(Debug)]
pub struct History {
    inner: Mutex<Inner>,
    updates: broadcast::Sender<HistoryUpdate>,
}

#[derive(Debug, Default)]
struct Inner {
    samples: VecDeque<HistorySample>,
    switches: VecDeque<SwitchMark>,
    low_kbps: Option<u32>,
    recover_kbps: Option<u32>,
}

impl Default for History {
    fn default() -> Self {
        History::new()
    }
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl History {
    pub fn new() -> History {
        History {
            inner: Mutex::new(Inner::default()),
            updates: broadcast::channel(256).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Everything within `window` before now.
    pub fn snapshot(&self, window: Duration) -> HistorySnapshot {
        self.snapshot_at(now_unix_ms(), window)
    }

    /// Everything within `window` before `now_unix_ms` (tests pass their own clock).
    pub fn snapshot_at(&self, now_unix_ms: u64, window: Duration) -> HistorySnapshot {
        let from =
            now_unix_ms.saturating_sub(u64::try_from(window.as_millis()).unwrap_or(u64::MAX));
        let inner = self.lock();
        HistorySnapshot {
            samples: inner
                .samples
                .iter()
                .filter(|s| s.at_unix_ms >= from)
                .cloned()
                .collect(),
            switches: inner
                .switches
                .iter()
                .filter(|s| s.at_unix_ms >= from)
                .cloned()
                .collect(),
            low_kbps: inner.low_kbps,
            recover_kbps: inner.recover_kbps,
        }
    }

    /// Live updates from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<HistoryUpdate> {
        self.updates.subscribe()
    }

    /// Add a sample. A sample in the same second as the last one replaces it (at most one per
    /// second); one older than the last is ignored.
    pub fn record_sample(&self, sample: HistorySample) {
        {
            let mut inner = self.lock();
            match inner.samples.back() {
                Some(last) if sample.at_unix_ms < last.at_unix_ms => return,
                Some(last) if sample.at_unix_ms / 1000 == last.at_unix_ms / 1000 => {
                    inner.samples.pop_back();
                }
                _ => {}
            }
            inner.samples.push_back(sample.clone());
            let from = sample.at_unix_ms.saturating_sub(WINDOW.as_millis() as u64);
            while inner.samples.front().is_some_and(|s| s.at_unix_ms < from)
                || inner.samples.len() > MAX_SAMPLES
            {
                inner.samples.pop_front();
            }
            while inner.switches.front().is_some_and(|s| s.at_unix_ms < from) {
                inner.switches.pop_front();
            }
        }
        let _ = self.updates.send(HistoryUpdate::Sample(sample));
    }

    /// The guard's thresholds in force (drawn as lines).
    pub fn set_thresholds(&self, low_kbps: Option<u32>, recover_kbps: Option<u32>) {
        let mut inner = self.lock();
        inner.low_kbps = low_kbps;
        inner.recover_kbps = recover_kbps;
    }

    /// A scene switch. The bot's announcement (`by: Some`) and OBS's report of the same scene
    /// within 5 s, in either order, are recorded once, with who switched.
    pub fn record_switch(&self, mark: SwitchMark) {
        let recorded = {
            let mut inner = self.lock();
            let same = inner.switches.back_mut().filter(|last| {
                last.scene == mark.scene
                    && mark.at_unix_ms.abs_diff(last.at_unix_ms) <= SAME_SWITCH_MS
            });
            match same {
                Some(last) => {
                    if last.by.is_none() && mark.by.is_some() {
                        last.by = mark.by;
                        Some(last.clone())
                    } else {
                        None
                    }
                }
                None => {
                    inner.switches.push_back(mark.clone());
                    if inner.switches.len() > MAX_SWITCHES {
                        inner.switches.pop_front();
                    }
                    Some(mark)
                }
            }
        };
        if let Some(mark) = recorded {
            let _ = self.updates.send(HistoryUpdate::Switch(mark));
        }
    }

    /// Record what an event says (scene switches); other events are ignored.
    pub fn observe(&self, event: &Event, at_unix_ms: u64) {
        match event {
            Event::SceneSwitched { by, to, .. } => self.record_switch(SwitchMark {
                at_unix_ms,
                scene: to.clone(),
                by: Some(*by),
            }),
            Event::ObsSceneChanged { scene } => self.record_switch(SwitchMark {
                at_unix_ms,
                scene: scene.clone(),
                by: None,
            }),
            _ => {}
        }
    }

    /// Sample the guard's active server from a status snapshot (and take its thresholds).
    pub fn sample_status(&self, status: &Status, at_unix_ms: u64) {
        let Some(guard) = &status.guard else {
            return;
        };
        self.set_thresholds(guard.triggers.low_kbps, Some(guard.triggers.recover_kbps));
        let active = guard
            .active_server
            .as_ref()
            .and_then(|name| guard.servers.iter().find(|s| &s.name == name));
        self.record_sample(HistorySample {
            at_unix_ms,
            bitrate_kbps: active.and_then(|s| s.bitrate_kbps),
            rtt_ms: active.and_then(|s| s.rtt_ms),
        });
    }
}

/// The history task: a sample every second, scene switches as they happen.
pub async fn run(
    history: Arc<History>,
    mut events: Events,
    status: watch::Receiver<Status>,
    token: CancellationToken,
) -> anyhow::Result<()> {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = token.cancelled() => return Ok(()),
            _ = tick.tick() => {
                // Under the watch's read lock: a sample takes two numbers, not a copy of Status.
                history.sample_status(&status.borrow(), now_unix_ms());
            }
            event = events.recv() => match event {
                Ok(event) => history.observe(&event, now_unix_ms()),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "history missed events");
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_unix_ms: u64, kbps: u32) -> HistorySample {
        HistorySample {
            at_unix_ms,
            bitrate_kbps: Some(kbps),
            rtt_ms: None,
        }
    }

    fn mark(at_unix_ms: u64, scene: &str, by: Option<SwitchedBy>) -> SwitchMark {
        SwitchMark {
            at_unix_ms,
            scene: scene.into(),
            by,
        }
    }

    const T0: u64 = 1_800_000_000_000;

    #[test]
    fn samples_in_the_same_second_coalesce_to_the_last() {
        let history = History::new();
        history.record_sample(sample(T0, 1000));
        history.record_sample(sample(T0 + 250, 1100));
        history.record_sample(sample(T0 + 999, 1200));
        history.record_sample(sample(T0 + 1000, 1300));
        history.record_sample(sample(T0 + 500, 1));
        let snapshot = history.snapshot_at(T0 + 2000, WINDOW);
        let kbps: Vec<_> = snapshot.samples.iter().map(|s| s.bitrate_kbps).collect();
        assert_eq!(kbps, vec![Some(1200), Some(1300)]);
    }

    #[test]
    fn the_buffer_keeps_thirty_minutes_and_snapshots_cut_their_window() {
        let history = History::new();
        for second in 0..3600 {
            history.record_sample(sample(T0 + second * 1000, second as u32));
        }
        let now = T0 + 3599 * 1000;
        let all = history.snapshot_at(now, Duration::from_secs(3600));
        assert_eq!(all.samples.len(), MAX_SAMPLES);
        assert_eq!(all.samples[0].bitrate_kbps, Some(1799));
        let last_minute = history.snapshot_at(now, Duration::from_secs(60));
        assert_eq!(last_minute.samples.len(), 61);
    }

    #[test]
    fn the_bots_switch_and_obs_report_of_it_are_one_mark_with_who() {
        let history = History::new();
        // OBS reports first, then the bot's announcement.
        history.record_switch(mark(T0, "LOW", None));
        history.record_switch(mark(T0 + 40, "LOW", Some(SwitchedBy::Guard)));
        // The other order.
        history.record_switch(mark(T0 + 60_000, "LIVE", Some(SwitchedBy::Command)));
        history.record_switch(mark(T0 + 60_050, "LIVE", None));
        // By hand in OBS.
        history.record_switch(mark(T0 + 90_000, "BRB", None));
        // The same scene again much later is a new switch.
        history.record_switch(mark(T0 + 200_000, "BRB", None));
        let switches = history.snapshot_at(T0 + 200_000, WINDOW).switches;
        assert_eq!(
            switches,
            vec![
                mark(T0, "LOW", Some(SwitchedBy::Guard)),
                mark(T0 + 60_000, "LIVE", Some(SwitchedBy::Command)),
                mark(T0 + 90_000, "BRB", None),
                mark(T0 + 200_000, "BRB", None),
            ]
        );
    }

    #[test]
    fn the_status_sample_is_the_active_servers_and_carries_the_thresholds() {
        use crate::status::{GuardStatus, ServerStatus, Triggers};
        let mut status = Status::new(Default::default(), 0);
        let history = History::new();
        history.sample_status(&status, T0);
        assert!(
            history.snapshot_at(T0, WINDOW).samples.is_empty(),
            "no guard"
        );
        let server = |name: &str, kbps| ServerStatus {
            name: name.into(),
            kind: "nginx-rtmp",
            state: "live",
            bitrate_kbps: Some(kbps),
            rtt_ms: Some(40),
            error: None,
        };
        status.guard = Some(GuardStatus {
            active_server: Some("b".into()),
            servers: vec![server("a", 100), server("b", 2500)],
            triggers: Triggers {
                low_kbps: Some(800),
                recover_kbps: 1200,
                ..Default::default()
            },
            ..Default::default()
        });
        history.sample_status(&status, T0 + 1000);
        status.guard.as_mut().unwrap().active_server = None;
        history.sample_status(&status, T0 + 2000);
        let snapshot = history.snapshot_at(T0 + 2000, WINDOW);
        assert_eq!(
            snapshot.samples,
            vec![
                HistorySample {
                    at_unix_ms: T0 + 1000,
                    bitrate_kbps: Some(2500),
                    rtt_ms: Some(40)
                },
                HistorySample {
                    at_unix_ms: T0 + 2000,
                    bitrate_kbps: None,
                    rtt_ms: None
                },
            ]
        );
        assert_eq!(
            (snapshot.low_kbps, snapshot.recover_kbps),
            (Some(800), Some(1200))
        );
    }

    #[test]
    fn subscribers_get_samples_and_switches() {
        let history = History::new();
        let mut updates = history.subscribe();
        history.record_sample(sample(T0, 5));
        history.observe(
            &Event::SceneSwitched {
                by: SwitchedBy::Raid,
                from: None,
                to: "OFFLINE".into(),
            },
            T0 + 1,
        );
        assert_eq!(
            updates.try_recv().unwrap(),
            HistoryUpdate::Sample(sample(T0, 5))
        );
        assert_eq!(
            updates.try_recv().unwrap(),
            HistoryUpdate::Switch(mark(T0 + 1, "OFFLINE", Some(SwitchedBy::Raid)))
        );
    }
}
