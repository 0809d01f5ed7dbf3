//! The guard's decision state machine: pure, time-based, with hysteresis.
//!
//! `decide(policy, state, input, now) -> Decision`. No I/O, no clock: the caller passes `now`.
//! The guard loop feeds it one [`Input`] per poll (the combined sample of all servers) and every
//! OBS scene change, and carries out the [`Decision`].
//!
//! How it decides:
//! - Each sample is classified into a [`Level`] (LIVE, LOW, OFFLINE) *relative to the current
//!   level* (hysteresis): from LIVE, a bitrate below `low_kbps` is LOW; from LOW, OFFLINE or the
//!   starting scene, a bitrate must reach `recover_kbps` (never less than `low_kbps`) to count as
//!   LIVE. A publisher at 0 kbps, a bitrate below `offline_kbps`, an RTT at or above
//!   `rtt_offline_ms`, or no publisher is OFFLINE; an RTT at or above `rtt_low_ms` is at least
//!   LOW. Without `low_kbps` there is no LOW by bitrate (and `recover_kbps` does not apply).
//! - A stats page that fails is not OFFLINE until it has failed for `unreachable_grace`; until
//!   then the sample carries no information (NOALBS #125): running streaks are neither extended
//!   nor broken, and such a sample never switches.
//! - **Two degrade windows.** A worse level is entered once the samples have been at least that
//!   bad *continuously* for that level's window: `offline_after` (1 s) for OFFLINE, a total loss
//!   (no publisher, 0 kbps), and `degrade_after` (2 s) for LOW, a mild dip. The worst level
//!   whose window is full wins; OFFLINE samples count towards LOW too, so a dip that mixes LOW
//!   and OFFLINE samples goes to LOW after `degrade_after`, and a total loss goes straight to
//!   OFFLINE. Why two: on an IRL link, dips to a few hundred kbps for up to ~2 s are the common
//!   hiccup, and the picture still moves, so they are ridden out; a total loss freezes the
//!   picture, so it is shown at once. A run of LOW samples spans less than the dip that made it
//!   (the first and last samples of a dip are blends), so a dip shorter than `degrade_after`
//!   never switches, and a sustained drop is LOW `degrade_after` after its first low sample.
//! - A better level is entered once the samples have been at least that good continuously for
//!   `recover_after` (the best such level wins). With `instant_recover_from_offline`, the
//!   starting scene is left for LIVE on the first LIVE sample, and OFFLINE too when the outage
//!   that just ended was real: no sample better than OFFLINE for at least `recover_after` before
//!   the current run of better ones (a failing page counts as no good sample), and the last
//!   stay at LIVE, if it ended at LOW or OFFLINE, held for `recover_after`. After a shorter
//!   outage (a publisher that keeps reconnecting every second or two), or after an instant
//!   recovery that did not hold, recovering takes `recover_after` like any other, so a flapping
//!   link never returns to LIVE until it holds. An instant recovery to LOW waits for a second
//!   LOW sample, and no recovery goes to LOW while a run of LIVE samples is under way: the first
//!   sample after a loss is often a blend of the silence and the returning stream.
//! - Windows are measured from the later of the first sample of the run and the last scene
//!   change (by hand or by the guard; the sample that triggered a switch is the first of the new
//!   runs), so two switches are always at least a window apart. Jitter around a threshold
//!   therefore never switches. A window of zero switches on the first sample.
//! - For `live_grace` after LIVE is entered (by the guard or by hand), a LOW sample counts as
//!   LIVE, so LIVE is not left for LOW before `live_grace` and the LOW window starts after it.
//!   OFFLINE samples are not affected.
//! - On a scene the guard does not own ([`Input::Scene`] with `None`) nothing is decided and the
//!   runs are forgotten: the manual override. Before the first scene input nothing is decided
//!   either. A scene input naming the scene the guard already assumes (the echo of its own switch)
//!   changes nothing. From the starting scene the guard only ever goes to LIVE.
//! - After `offline_timeout` at OFFLINE (counted from entering it), the first sample that is still
//!   OFFLINE asks once to stop the stream; again only after OFFLINE is left and re-entered.
//! - Only a [`Input::Sample`] can produce a decision; a scene input always answers `Nothing`.
//!
//! The defaults are chosen on the trace bench (`benches/guard_traces.rs`, docs/benchmarks.md):
//! no switch on hiccups shorter than 2 s, LOW within 2.5 s of a sustained drop's start at the
//! default 250 ms poll, OFFLINE within 1.5 s of a total loss.

use super::stats::IngestStats;
use std::time::Duration;
use tokio::time::Instant;

pub use crate::config::Policy;

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
    /// The owned scene OBS shows, as far as the guard knows; `None` before the first scene input
    /// and during a manual override.
    scene: Option<OwnedScene>,
    /// When `scene` was entered (for `live_grace` and `offline_timeout`).
    entered: Option<Instant>,
    /// Per level (indexed by [`Level`]): since when every informative sample has been at least
    /// this bad. Cleared on every scene change.
    worse_since: [Option<Instant>; 3],
    /// Per level: since when every informative sample has been at least this good.
    better_since: [Option<Instant>; 3],
    /// Since when the stats page has failed without a break (kept across scene changes: it is a
    /// fact about the page, not about the scene).
    unreachable_since: Option<Instant>,
    /// `StopStream` was already asked during this stay at OFFLINE.
    stop_asked: bool,
    /// The last informative sample better than OFFLINE (a fact about the samples: kept across
    /// scene changes).
    last_good: Option<Instant>,
    /// The last informative sample was OFFLINE.
    in_outage: bool,
    /// How long there was no good sample before the current run of good ones (`Duration::MAX`:
    /// none ever); `None` when not measured since the last scene change. Whether a recovery
    /// from OFFLINE may be instant.
    outage: Option<Duration>,
    /// The last stay at LIVE ended before `recover_after`: no instant recovery until a stay at
    /// LIVE holds that long.
    unsteady: bool,
}

impl GuardState {
    /// The owned scene the guard assumes OBS shows (`None`: unknown or manual override).
    pub fn scene(&self) -> Option<OwnedScene> {
        self.scene
    }

    fn enter(&mut self, policy: &Policy, scene: Option<OwnedScene>, now: Instant) {
        if self.scene == Some(OwnedScene::Level(Level::Live))
            && matches!(scene, Some(OwnedScene::Level(Level::Low | Level::Offline)))
        {
            self.unsteady = self
                .entered
                .is_some_and(|at| now.saturating_duration_since(at) < policy.recover_after);
        }
        self.scene = scene;
        self.entered = Some(now);
        self.stop_asked = false;
        self.outage = None;
        self.worse_since = [None; 3];
        self.better_since = [None; 3];
    }

    /// Notes one informative sample of class `level` for the outage it may end.
    fn note_outage(&mut self, level: Level, now: Instant) {
        if level == Level::Offline {
            self.in_outage = true;
            return;
        }
        if self.in_outage || self.last_good.is_none() {
            self.outage = Some(
                self.last_good
                    .map_or(Duration::MAX, |at| now.saturating_duration_since(at)),
            );
        }
        self.in_outage = false;
        self.last_good = Some(now);
    }

    /// Extends or breaks the runs with one informative sample of class `level`.
    fn record(&mut self, level: Level, now: Instant) {
        for other in LEVELS {
            let i = other as usize;
            if level >= other {
                self.worse_since[i].get_or_insert(now);
            } else {
                self.worse_since[i] = None;
            }
            if level <= other {
                self.better_since[i].get_or_insert(now);
            } else {
                self.better_since[i] = None;
            }
        }
    }

    fn in_live_grace(&self, policy: &Policy, now: Instant) -> bool {
        self.scene == Some(OwnedScene::Level(Level::Live))
            && self
                .entered
                .is_some_and(|at| now.saturating_duration_since(at) < policy.live_grace)
    }
}

/// Best first.
const LEVELS: [Level; 3] = [Level::Live, Level::Low, Level::Offline];

/// What the guard should do with `input`, received at `now`. Never panics, whatever the order of
/// inputs or times (a `now` earlier than a previous one counts as no time passing).
pub fn decide(policy: &Policy, state: &mut GuardState, input: Input, now: Instant) -> Decision {
    match input {
        Input::Scene(scene) => {
            // The echo of the guard's own switch (or a repeat) must not restart anything.
            if scene.is_none() || scene != state.scene {
                state.enter(policy, scene, now);
            }
            Decision::Nothing
        }
        Input::Sample(stats) => on_sample(policy, state, &stats, now),
    }
}

fn on_sample(
    policy: &Policy,
    state: &mut GuardState,
    stats: &IngestStats,
    now: Instant,
) -> Decision {
    let unreachable_for = match stats {
        IngestStats::Unreachable(_) => {
            let since = *state.unreachable_since.get_or_insert(now);
            Some(now.saturating_duration_since(since))
        }
        _ => {
            state.unreachable_since = None;
            None
        }
    };
    let Some(scene) = state.scene else {
        return Decision::Nothing;
    };
    let grace = state.in_live_grace(policy, now);
    let Some((level, cause)) = classify(policy, scene, grace, stats, unreachable_for) else {
        return Decision::Nothing;
    };
    state.note_outage(level, now);
    state.record(level, now);
    let (bitrate_kbps, rtt_ms) = match stats {
        IngestStats::Live { bitrate, rtt } => (Some(bitrate.0), rtt.map(|r| r.0)),
        _ => (None, None),
    };

    if let Some((to, recovering)) = target(policy, state, scene, grace, now) {
        state.enter(policy, Some(OwnedScene::Level(to)), now);
        // The triggering sample is the first of the runs relative to the new level.
        let grace = state.in_live_grace(policy, now);
        if let Some((again, _)) =
            classify(policy, OwnedScene::Level(to), grace, stats, unreachable_for)
        {
            state.record(again, now);
        }
        let cause = if recovering { Cause::Recovered } else { cause };
        return Decision::Switch {
            from: scene,
            to,
            reason: Reason {
                cause,
                bitrate_kbps,
                rtt_ms,
            },
        };
    }

    let timed_out = scene == OwnedScene::Level(Level::Offline)
        && level == Level::Offline
        && !state.stop_asked
        && policy.offline_timeout.is_some_and(|timeout| {
            state
                .entered
                .is_some_and(|at| now.saturating_duration_since(at) >= timeout)
        });
    if timed_out {
        state.stop_asked = true;
        return Decision::StopStream {
            reason: Reason {
                cause: Cause::OfflineTimeout,
                bitrate_kbps,
                rtt_ms,
            },
        };
    }
    Decision::Nothing
}

/// The class of one sample relative to `scene`, with its cause; `None` when it carries no
/// information (a stats page failing for less than `unreachable_grace`).
fn classify(
    policy: &Policy,
    scene: OwnedScene,
    live_grace: bool,
    stats: &IngestStats,
    unreachable_for: Option<Duration>,
) -> Option<(Level, Cause)> {
    let (bitrate, rtt) = match stats {
        IngestStats::Unreachable(error) => {
            let failing = unreachable_for.unwrap_or_default();
            return (failing >= policy.unreachable_grace)
                .then(|| (Level::Offline, Cause::Unreachable(error.to_string())));
        }
        IngestStats::NoPublisher => return Some((Level::Offline, Cause::NoPublisher)),
        IngestStats::Live { bitrate, rtt } => (bitrate.0, rtt.map(|r| r.0)),
    };
    let rtt_at_least = |limit: Option<u32>| limit.is_some_and(|l| rtt.is_some_and(|r| r >= l));
    if bitrate == 0 {
        return Some((Level::Offline, Cause::ZeroBitrate));
    }
    if policy.offline_kbps.is_some_and(|limit| bitrate < limit) {
        return Some((Level::Offline, Cause::LowBitrate));
    }
    if rtt_at_least(policy.rtt_offline_ms) {
        return Some((Level::Offline, Cause::HighRtt));
    }
    let at_live = scene == OwnedScene::Level(Level::Live);
    let low_bitrate = policy.low_kbps.is_some_and(|low| {
        let limit = if at_live {
            low
        } else {
            policy.recover_kbps.max(low)
        };
        bitrate < limit
    });
    let low = if low_bitrate {
        Some(Cause::LowBitrate)
    } else if rtt_at_least(policy.rtt_low_ms) {
        Some(Cause::HighRtt)
    } else {
        None
    };
    match low {
        // During the grace after entering LIVE, LOW counts as LIVE.
        Some(cause) if !(at_live && live_grace) => Some((Level::Low, cause)),
        _ => Some((Level::Live, Cause::Recovered)),
    }
}

/// The level to switch to now, if any, and whether that is a recovery.
fn target(
    policy: &Policy,
    state: &GuardState,
    scene: OwnedScene,
    live_grace: bool,
    now: Instant,
) -> Option<(Level, bool)> {
    let lasted = |since: Option<Instant>, window: Duration| {
        since.is_some_and(|at| now.saturating_duration_since(at) >= window)
    };
    let instant = policy.instant_recover_from_offline;
    match scene {
        OwnedScene::Starting => {
            let window = if instant {
                Duration::ZERO
            } else {
                policy.recover_after
            };
            lasted(state.better_since[Level::Live as usize], window).then_some((Level::Live, true))
        }
        OwnedScene::Level(current) => {
            let worse = LEVELS
                .into_iter()
                .rev()
                .filter(|&l| l > current)
                // OFFLINE samples count towards LOW too, but LIVE is never left for LOW in
                // its grace (with `offline_after` longer than `degrade_after`).
                .filter(|&l| !(live_grace && l == Level::Low))
                .find(|&l| lasted(state.worse_since[l as usize], degrade_window(policy, l)));
            if let Some(level) = worse {
                return Some((level, false));
            }
            let instant = instant
                && current == Level::Offline
                && !state.unsteady
                && state.outage.is_some_and(|o| o >= policy.recover_after);
            LEVELS
                .into_iter()
                .filter(|&l| l < current)
                // Not to LOW while a LIVE run is under way: if it holds, LIVE comes anyway; if it
                // breaks, LOW can come on the next sample (a blended first sample after a loss
                // would otherwise make OFFLINE → LOW → LIVE).
                .filter(|&l| l == Level::Live || state.better_since[Level::Live as usize].is_none())
                .find(|&l| {
                    let since = state.better_since[l as usize];
                    // Instant: LIVE on its first sample, LOW on its second (the first after a
                    // loss is often a blend).
                    let at_once = instant && since.is_some_and(|at| l == Level::Live || now > at);
                    at_once || lasted(since, policy.recover_after)
                })
                .map(|level| (level, true))
        }
    }
}

/// How long samples must be at least as bad as `level` before the guard goes there.
pub fn degrade_window(policy: &Policy, level: Level) -> Duration {
    match level {
        Level::Live => Duration::ZERO,
        Level::Low => policy.degrade_after,
        Level::Offline => policy.offline_after,
    }
}
