//! The upload alerts (`obs.upload`), judged on each reading of OBS's statistics: the stream
//! output reconnecting, congestion held above its level, frames dropped above a share over a
//! window, the recording disk running low. Pure: readings and times in, the alerts that start
//! or clear out; each alert is a state with hysteresis, so it changes once when its condition
//! starts and once when it ends, never once per reading.
//!
//! The numbers are obs-websocket's (protocol.md, `GetStreamStatus`: `outputReconnecting`,
//! `outputCongestion`, `outputSkippedFrames` — the frames the stream output dropped —,
//! `outputTotalFrames`; `GetStats`: `availableDiskSpace`, "Available disk space on the device
//! being used for recording storage", in MB). The dropped share is OBS's own: dropped over total
//! frames, as its stats window shows it.

use crate::config::UploadConfig;
use crate::status::UploadProblem;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// The free space that clears a low-disk alert: 10 % above the level, so a disk hovering at the
/// level does not raise and clear it on every reading.
const DISK_CLEAR_MARGIN: f64 = 1.1;

/// One reading of OBS's statistics.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Reading {
    pub streaming: bool,
    /// `outputReconnecting`, or the last `StreamStateChanged` said reconnecting.
    pub reconnecting: bool,
    /// 0 to 1.
    pub congestion: f64,
    pub dropped_frames: u32,
    pub total_frames: u32,
    pub recording: bool,
    /// MB; `None` when OBS did not say.
    pub disk_space_mb: Option<f64>,
}

/// An alert that started (`active`) or cleared, with the number that decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    pub problem: UploadProblem,
    pub active: bool,
    pub value: Option<f64>,
    /// Cleared because what it is about went away (the stream stopped; for the disk, the
    /// recording), not because the condition ended.
    pub gone: bool,
}

/// A condition with hysteresis: it changes only after the opposite has held long enough.
#[derive(Debug, Default)]
struct Hold {
    active: bool,
    /// Since when the readings have disagreed with `active`.
    since: Option<Instant>,
}

impl Hold {
    /// The new state when it changes.
    fn observe(
        &mut self,
        bad: bool,
        now: Instant,
        raise_after: Duration,
        clear_after: Duration,
    ) -> Option<bool> {
        if bad == self.active {
            self.since = None;
            return None;
        }
        let since = *self.since.get_or_insert(now);
        let needed = if bad { raise_after } else { clear_after };
        if now.saturating_duration_since(since) < needed {
            return None;
        }
        self.active = bad;
        self.since = None;
        Some(bad)
    }
}

/// The four alerts' states.
#[derive(Debug)]
pub struct Monitor {
    config: UploadConfig,
    holds: [Hold; 4],
    /// (when, dropped, total) of the stream's readings over the last window, oldest first.
    frames: VecDeque<(Instant, u32, u32)>,
}

impl Monitor {
    pub fn new(config: UploadConfig) -> Monitor {
        Monitor {
            config,
            holds: Default::default(),
            frames: VecDeque::new(),
        }
    }

    /// The alerts in force, in [`UploadProblem::ALL`]'s order.
    pub fn active(&self) -> Vec<UploadProblem> {
        UploadProblem::ALL
            .into_iter()
            .zip(&self.holds)
            .filter(|(_, hold)| hold.active)
            .map(|(problem, _)| problem)
            .collect()
    }

    /// Judge one reading: the alerts that started or cleared.
    pub fn observe(&mut self, reading: &Reading, now: Instant) -> Vec<Change> {
        let dropped = self.dropped_percent(reading, now);
        let config = &self.config;
        let streaming = reading.streaming;
        let disk_low = config.disk_low_mb.is_some_and(|low| {
            let level = low as f64
                * match self.holds[3].active {
                    true => DISK_CLEAR_MARGIN,
                    false => 1.0,
                };
            reading.recording && reading.disk_space_mb.is_some_and(|mb| mb < level)
        });
        // (bad, raise after, clear after, the number, gone); without a stream (or a
        // recording), an alert about it clears at once.
        let judged = [
            (
                streaming && reading.reconnecting,
                config.reconnecting_for,
                Duration::ZERO,
                None,
                !streaming,
            ),
            (
                streaming && reading.congestion >= config.congestion,
                config.congestion_for,
                if streaming {
                    config.congestion_for
                } else {
                    Duration::ZERO
                },
                streaming.then_some(reading.congestion),
                !streaming,
            ),
            (
                streaming && dropped.is_some_and(|share| share >= config.dropped_percent),
                Duration::ZERO,
                Duration::ZERO,
                dropped,
                !streaming,
            ),
            (
                disk_low,
                Duration::ZERO,
                Duration::ZERO,
                reading.disk_space_mb.filter(|_| reading.recording),
                !reading.recording,
            ),
        ];
        let mut changes = Vec::new();
        for ((problem, hold), (bad, raise_after, clear_after, value, gone)) in UploadProblem::ALL
            .into_iter()
            .zip(&mut self.holds)
            .zip(judged)
        {
            if let Some(active) = hold.observe(bad, now, raise_after, clear_after) {
                changes.push(Change {
                    problem,
                    active,
                    value,
                    gone: !active && gone,
                });
            }
        }
        changes
    }

    /// The dropped share (percent) over the window, once the readings span it.
    fn dropped_percent(&mut self, reading: &Reading, now: Instant) -> Option<f64> {
        if !reading.streaming {
            self.frames.clear();
            return None;
        }
        // A new stream counts from zero again.
        if self.frames.back().is_some_and(|&(_, dropped, total)| {
            reading.total_frames < total || reading.dropped_frames < dropped
        }) {
            self.frames.clear();
        }
        self.frames
            .push_back((now, reading.dropped_frames, reading.total_frames));
        let window = self.config.dropped_window;
        // Keep one reading at least a window old: the start of the window.
        while self
            .frames
            .get(1)
            .is_some_and(|&(at, _, _)| now.saturating_duration_since(at) >= window)
        {
            self.frames.pop_front();
        }
        let &(start, dropped, total) = self.frames.front()?;
        let frames = reading.total_frames.checked_sub(total)?;
        if now.saturating_duration_since(start) < window || frames == 0 {
            return None;
        }
        let dropped = reading.dropped_frames.saturating_sub(dropped);
        Some(f64::from(dropped) * 100.0 / f64::from(frames))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: Duration = Duration::from_secs(5);

    fn streaming() -> Reading {
        Reading {
            streaming: true,
            disk_space_mb: Some(100_000.0),
            ..Reading::default()
        }
    }

    /// Feed `readings` every 5 s from `start`; the changes with the reading's index.
    fn run(monitor: &mut Monitor, start: Instant, readings: &[Reading]) -> Vec<(usize, Change)> {
        readings
            .iter()
            .enumerate()
            .flat_map(|(i, r)| {
                monitor
                    .observe(r, start + STEP * i as u32)
                    .into_iter()
                    .map(move |c| (i, c))
            })
            .collect()
    }

    fn problems(changes: &[(usize, Change)]) -> Vec<(usize, UploadProblem, bool)> {
        changes
            .iter()
            .map(|(i, c)| (*i, c.problem, c.active))
            .collect()
    }

    #[test]
    fn congestion_is_raised_after_its_time_and_cleared_after_as_long() {
        let mut monitor = Monitor::new(UploadConfig::default());
        let high = Reading {
            congestion: 0.8,
            ..streaming()
        };
        // 30 s: seven readings 5 s apart from the first high one.
        let mut readings = vec![streaming(), high, high, high, high, high, high, high];
        readings.extend([streaming(); 7]);
        let changes = run(&mut monitor, Instant::now(), &readings);
        assert_eq!(
            problems(&changes),
            [
                (7, UploadProblem::Congestion, true),
                (14, UploadProblem::Congestion, false)
            ]
        );
        assert_eq!(changes[0].1.value, Some(0.8));
        assert!(monitor.active().is_empty());
    }

    #[test]
    fn a_congestion_blip_shorter_than_its_time_is_not_an_alert() {
        let mut monitor = Monitor::new(UploadConfig::default());
        let high = Reading {
            congestion: 1.0,
            ..streaming()
        };
        let readings = [high, high, high, high, high, high, streaming(), high, high];
        assert_eq!(run(&mut monitor, Instant::now(), &readings), []);
    }

    #[test]
    fn reconnecting_after_its_time_and_back_at_once() {
        let mut monitor = Monitor::new(UploadConfig::default());
        let reconnecting = Reading {
            reconnecting: true,
            ..streaming()
        };
        let readings = [
            reconnecting,
            streaming(),
            reconnecting,
            reconnecting,
            reconnecting,
            streaming(),
        ];
        let changes = run(&mut monitor, Instant::now(), &readings);
        assert_eq!(
            problems(&changes),
            [
                (3, UploadProblem::Reconnecting, true),
                (5, UploadProblem::Reconnecting, false)
            ]
        );
    }

    #[test]
    fn dropped_frames_over_the_window() {
        let mut monitor = Monitor::new(UploadConfig::default());
        // 150 frames per reading; from reading 4 on, 15 of them dropped (10 %).
        let reading = |i: u32, dropped: u32| Reading {
            total_frames: 150 * i,
            dropped_frames: dropped,
            ..streaming()
        };
        let mut readings: Vec<Reading> = (0..4).map(|i| reading(i, 0)).collect();
        readings.extend((4..40).map(|i| reading(i, 15 * (i - 3))));
        // Then no more drops.
        readings.extend((40..70).map(|i| reading(i, 15 * 36)));
        let changes = run(&mut monitor, Instant::now(), &readings);
        // Only once the readings span a window (60 s, reading 12): 9 × 15 of 1,800 frames,
        // 7.5 %. Cleared once the window's share is below 5 %: at reading 46, 5 × 15 of 1,800.
        assert_eq!(
            problems(&changes),
            [
                (12, UploadProblem::DroppedFrames, true),
                (46, UploadProblem::DroppedFrames, false)
            ]
        );
        assert_eq!(changes[0].1.value, Some(7.5));
    }

    #[test]
    fn a_burst_of_dropped_frames_below_the_share_is_not_an_alert() {
        let mut monitor = Monitor::new(UploadConfig::default());
        // 60 frames dropped at once in a 60 s window of 1,800: 3.3 %.
        let readings: Vec<Reading> = (0..30)
            .map(|i| Reading {
                total_frames: 150 * i,
                dropped_frames: if i >= 15 { 60 } else { 0 },
                ..streaming()
            })
            .collect();
        assert_eq!(run(&mut monitor, Instant::now(), &readings), []);
    }

    #[test]
    fn the_disk_only_while_recording_and_cleared_with_room_to_spare() {
        let mut monitor = Monitor::new(UploadConfig::default());
        let disk = |recording: bool, mb: f64| Reading {
            recording,
            disk_space_mb: Some(mb),
            ..Reading::default()
        };
        let readings = [
            disk(false, 100.0),
            disk(true, 6000.0),
            disk(true, 5000.0),
            // Within the margin: still low.
            disk(true, 5500.0),
            disk(true, 5700.0),
            disk(true, 4000.0),
            disk(false, 4000.0),
        ];
        let changes = run(&mut monitor, Instant::now(), &readings);
        assert_eq!(
            problems(&changes),
            [
                (2, UploadProblem::DiskLow, true),
                (4, UploadProblem::DiskLow, false),
                (5, UploadProblem::DiskLow, true),
                (6, UploadProblem::DiskLow, false)
            ]
        );
        assert_eq!(changes[0].1.value, Some(5000.0));
        assert!(!changes[1].1.gone, "room again");
        assert_eq!(changes[3].1.value, None);
        assert!(changes[3].1.gone, "the recording stopped");
    }

    #[test]
    fn a_stream_that_stops_clears_its_alerts_at_once() {
        let mut monitor = Monitor::new(UploadConfig {
            congestion_for: Duration::ZERO,
            ..UploadConfig::default()
        });
        let start = Instant::now();
        let high = Reading {
            congestion: 0.9,
            ..streaming()
        };
        assert_eq!(monitor.observe(&high, start).len(), 1);
        let stopped = monitor.observe(&Reading::default(), start + STEP);
        assert_eq!(
            stopped,
            [Change {
                problem: UploadProblem::Congestion,
                active: false,
                value: None,
                gone: true,
            }]
        );
        assert!(monitor.active().is_empty());
    }
}
