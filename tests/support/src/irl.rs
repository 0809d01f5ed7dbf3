//! Realistic IRL traces for the guard, end to end in simulated time: a link whose bitrate moves
//! like a cellular uplink, an ingest server that reports it the way the real ones do, the
//! guard's poller (its tick schedule, timeouts, a stalling page), and the guard's own [`Meter`],
//! [`sample_time`] and [`decide`]. Used by the property tests (`tests/it/guard_decide.rs`) and the
//! trace bench (`benches/guard_traces.rs`).
//!
//! The world, and where each rule comes from:
//! - **The link**, in 50 ms slots. A good IRL link is 2,600–3,400 kbps (a bounded random walk;
//!   the figures of the trial in issue #13). A *hiccup* is a dip to 50–700 kbps for 0.3–1.9 s,
//!   every 4–30 s. A *sustained drop* is 50–700 kbps for 2.5–10 s (a *borderline* one 2.0–2.45
//!   s, between the two rules); a *total loss* is 2–20 s with
//!   nobody publishing or a publisher that sends nothing; a *slow decline* slides from the good
//!   level to 300 kbps over 10–30 s; a *flapping recovery* alternates 1–2 s good and 1–2 s bad
//!   after a drop; a *reconnect loop* alternates 1–2 s published and 1–2 s gone. Bad stretches
//!   jitter by ±50 kbps.
//! - **nginx-rtmp**: `bytes_in` counts every byte as it arrives (the guard takes deltas); `bw_in`,
//!   the guard's fallback when it has no baseline, is the rate of the last complete 10 s interval
//!   (`NGX_RTMP_BANDWIDTH_INTERVAL`), 0 in a publisher's first 10 s. A new publisher starts a new
//!   counter.
//! - **SRT Live Server**: `bitrate` is bytes × 8 / ms over back-to-back windows of at least 1 s,
//!   each closed by the first packet after 1 s (OpenIRL/srt-live-server,
//!   `CSLSRole::handler_read_data`, `m_stat_bitrate_interval = 1000`); while no packet arrives the
//!   value stays as it was. A silent SRT peer is dropped after SRT's default peer idle timeout
//!   (`SRTO_PEERIDLETIMEO`, 5 s); then the page lists nobody.
//! - **The poller**: tokio's `interval` with `MissedTickBehavior::Delay` (a late tick fires at
//!   once and returns its old deadline; the next is one period after it fired), as
//!   `guard::run::poll` uses it. A fetch answers after 1–30 ms; during a *stall* of the page
//!   (1–3 s) it answers when the stall ends, or fails after the 2 s timeout.
//! - **The loop**: every switch is echoed at once as a scene input (OBS confirms in a few ms).
//!
//! Each script also carries the *ideal* scene per slot: what a person with hindsight shows
//! (LIVE through hiccups, LOW through drops, declines below 800 kbps and flapping recoveries,
//! OFFLINE through losses and reconnect loops), and its events, for the figures.

#![allow(dead_code)]

use std::time::Duration;
use stream_control::guard::decide::{
    Decision, GuardState, Input, Level, OwnedScene, Policy, decide,
};
use stream_control::guard::stats::{Meter, Reading, StatsError, sample_time};
use tokio::time::Instant;

/// The link's resolution.
pub const SLOT_MS: u64 = 50;
/// The stats request timeout (the configuration's default).
pub const TIMEOUT_MS: u64 = 2_000;
/// How long a fetch takes when the page is well: 1 ms to this, at random (a busy local or LAN
/// page).
pub const LATENCY_MS: u64 = 30;
/// A good link.
pub const GOOD_KBPS: (f64, f64) = (2_600.0, 3_400.0);

/// SplitMix64: a small deterministic generator, so a seed names the same trace everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Milliseconds uniform in `[lo, hi]`, rounded to whole slots (at least one).
    pub fn ms(&mut self, lo: u64, hi: u64) -> u64 {
        let ms = self.range(lo as f64, hi as f64 + 1.0) as u64;
        (ms / SLOT_MS).max(1) * SLOT_MS
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// The link in one slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Slot {
    /// A publisher sending this many kbps (0: connected, sending nothing).
    Publishing(f64),
    /// Nobody publishes.
    Gone,
}

/// The kinds of event in a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A dip shorter than 2 s: ride it out.
    Hiccup,
    /// 2.5–10 s well below the LOW threshold: LOW.
    Drop,
    /// 2.0–2.45 s below the LOW threshold: between the two rules (a dip under 2 s is ridden
    /// out, a drop of 2.5 s is LOW by then); either is right, and the figures report which.
    Borderline,
    /// Nobody publishing, or 0 kbps: OFFLINE.
    Loss,
    /// A slide below the LOW threshold; the event starts where it crosses 800 kbps.
    Decline,
    /// A drop, then good and bad alternating every 1–2 s: LOW until it holds.
    Flap,
    /// The publisher comes and goes every 1–2 s: OFFLINE until it holds.
    ReconnectLoop,
    /// The stats page answers late or not at all for 1–3 s: nothing to do.
    Stall,
}

/// Something that happens in a script, from `start_ms` to `end_ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    pub kind: Kind,
    pub start_ms: u64,
    pub end_ms: u64,
}

/// One trace: the link, the ideal scene, the page's stalls, and the events.
#[derive(Debug, Clone)]
pub struct Script {
    pub family: &'static str,
    pub slots: Vec<Slot>,
    /// What a person with hindsight shows, per slot.
    pub ideal: Vec<Level>,
    /// The page stalls in `[from, until)` (ms).
    pub stalls: Vec<(u64, u64)>,
    pub events: Vec<Event>,
}

impl Script {
    pub fn len_ms(&self) -> u64 {
        self.slots.len() as u64 * SLOT_MS
    }

    fn slot(&self, ms: f64) -> Slot {
        let i = (ms / SLOT_MS as f64) as usize;
        self.slots[i.min(self.slots.len() - 1)]
    }
}

/// Builds a script slot by slot.
pub struct Builder {
    rng: Rng,
    script: Script,
    /// The good link's random walk.
    good: f64,
}

impl Builder {
    pub fn new(family: &'static str, seed: u64) -> Builder {
        let mut rng = Rng::new(seed);
        let good = rng.range(GOOD_KBPS.0, GOOD_KBPS.1);
        Builder {
            rng,
            script: Script {
                family,
                slots: Vec::new(),
                ideal: Vec::new(),
                stalls: Vec::new(),
                events: Vec::new(),
            },
            good,
        }
    }

    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    pub fn now_ms(&self) -> u64 {
        self.script.slots.len() as u64 * SLOT_MS
    }

    fn push(&mut self, slot: Slot, ideal: Level) {
        self.script.slots.push(slot);
        self.script.ideal.push(ideal);
    }

    fn event(&mut self, kind: Kind, start_ms: u64) {
        let end_ms = self.now_ms();
        self.script.events.push(Event {
            kind,
            start_ms,
            end_ms,
        });
    }

    /// A good link for `ms`.
    pub fn good(&mut self, ms: u64) {
        self.good_as(ms, Level::Live);
    }

    /// A good link for `ms`, shown ideally as `ideal` (LOW or OFFLINE while it does not hold).
    pub fn good_as(&mut self, ms: u64, ideal: Level) {
        for _ in 0..ms / SLOT_MS {
            let step = self.rng.range(-60.0, 60.0);
            self.good = (self.good + step).clamp(GOOD_KBPS.0, GOOD_KBPS.1);
            self.push(Slot::Publishing(self.good), ideal);
        }
    }

    /// Nobody publishing for `ms`, shown ideally as `ideal`.
    pub fn gone(&mut self, ms: u64, ideal: Level) {
        for _ in 0..ms / SLOT_MS {
            self.push(Slot::Gone, ideal);
        }
    }

    /// `ms` around `kbps` (±50, at least 0), shown ideally as `ideal`.
    pub fn bad(&mut self, ms: u64, kbps: f64, ideal: Level) {
        for _ in 0..ms / SLOT_MS {
            let value = (kbps + self.rng.range(-50.0, 50.0)).max(0.0);
            self.push(Slot::Publishing(value), ideal);
        }
    }

    /// A hiccup: a dip to 50–700 kbps for 0.3–1.9 s.
    pub fn hiccup(&mut self) {
        let ms = self.rng.ms(300, 1_900);
        let depth = self.rng.range(50.0, 700.0);
        self.hiccup_of(ms, depth);
    }

    pub fn hiccup_of(&mut self, ms: u64, kbps: f64) {
        let start = self.now_ms();
        self.bad(ms, kbps, Level::Live);
        self.event(Kind::Hiccup, start);
    }

    /// A sustained drop to 50–700 kbps for 2.5–10 s.
    // The trace's word (a bitrate drop), not `Drop::drop`.
    #[allow(clippy::should_implement_trait)]
    pub fn drop(&mut self) {
        let ms = self.rng.ms(2_500, 10_000);
        let depth = self.rng.range(50.0, 700.0);
        self.drop_of(ms, depth);
    }

    /// A drop of 2.0–2.45 s (see [`Kind::Borderline`]).
    pub fn borderline(&mut self) {
        let ms = self.rng.ms(2_000, 2_450);
        let depth = self.rng.range(50.0, 700.0);
        let start = self.now_ms();
        self.bad(ms, depth, Level::Low);
        self.event(Kind::Borderline, start);
    }

    pub fn drop_of(&mut self, ms: u64, kbps: f64) {
        let start = self.now_ms();
        self.bad(ms, kbps, Level::Low);
        self.event(Kind::Drop, start);
    }

    /// A total loss of 2–20 s: nobody publishing, or a publisher sending nothing.
    pub fn loss(&mut self) {
        let ms = self.rng.ms(2_000, 20_000);
        let gone = self.rng.chance(0.5);
        self.loss_of(ms, gone);
    }

    pub fn loss_of(&mut self, ms: u64, gone: bool) {
        let start = self.now_ms();
        let slot = if gone {
            Slot::Gone
        } else {
            Slot::Publishing(0.0)
        };
        for _ in 0..ms / SLOT_MS {
            self.push(slot, Level::Offline);
        }
        self.event(Kind::Loss, start);
    }

    /// A slide from the good level to 300 kbps over 10–30 s, 5–15 s there, then good again.
    pub fn decline(&mut self) {
        let slide = self.rng.ms(10_000, 30_000) / SLOT_MS;
        let from = self.good;
        let mut start = None;
        for i in 0..slide {
            let level = from + (300.0 - from) * (i + 1) as f64 / slide as f64;
            let value = (level + self.rng.range(-50.0, 50.0)).max(0.0);
            let ideal = if level < 800.0 {
                Level::Low
            } else {
                Level::Live
            };
            if ideal == Level::Low && start.is_none() {
                start = Some(self.now_ms());
            }
            self.push(Slot::Publishing(value), ideal);
        }
        let hold = self.rng.ms(5_000, 15_000);
        self.bad(hold, 300.0, Level::Low);
        let start = start.unwrap_or_else(|| self.now_ms());
        self.event(Kind::Decline, start);
    }

    /// A drop of 3–6 s, then 15–40 s of 1–2 s good and 1–2 s bad, alternating.
    pub fn flap(&mut self) {
        let start = self.now_ms();
        let drop = self.rng.ms(3_000, 6_000);
        let depth = self.rng.range(50.0, 700.0);
        self.bad(drop, depth, Level::Low);
        let until = self.now_ms() + self.rng.ms(15_000, 40_000);
        while self.now_ms() < until {
            let good = self.rng.ms(1_000, 2_000);
            self.good_as(good, Level::Low);
            let bad = self.rng.ms(1_000, 2_000);
            let depth = self.rng.range(50.0, 700.0);
            self.bad(bad, depth, Level::Low);
        }
        self.event(Kind::Flap, start);
    }

    /// 15–30 s of a publisher that is gone 1–2 s, back 1–2 s, and so on.
    pub fn reconnect_loop(&mut self) {
        let start = self.now_ms();
        let until = start + self.rng.ms(15_000, 30_000);
        while self.now_ms() < until {
            let gone = self.rng.ms(1_000, 2_000);
            self.gone(gone, Level::Offline);
            let back = self.rng.ms(1_000, 2_000);
            self.good_as(back, Level::Offline);
        }
        self.event(Kind::ReconnectLoop, start);
    }

    /// The page stalls for `ms` from now (the link goes on: call `good` after).
    pub fn stall(&mut self, ms: u64) {
        let start = self.now_ms();
        self.script.stalls.push((start, start + ms));
        self.script.events.push(Event {
            kind: Kind::Stall,
            start_ms: start,
            end_ms: start + ms,
        });
    }

    pub fn finish(self) -> Script {
        self.script
    }
}

/// A script of `minutes`: good for `lead_ms`, then `each` again and again.
fn family(
    name: &'static str,
    seed: u64,
    minutes: u64,
    lead_ms: u64,
    mut each: impl FnMut(&mut Builder),
) -> Script {
    let mut b = Builder::new(name, seed);
    b.good(lead_ms);
    while b.now_ms() < minutes * 60_000 {
        each(&mut b);
    }
    b.finish()
}

/// A good link with a hiccup every 4–30 s, for `minutes`.
pub fn hiccups(seed: u64, minutes: u64) -> Script {
    family("hiccups", seed, minutes, 8_000, |b| {
        b.hiccup();
        let gap = b.rng().ms(4_000, 30_000);
        b.good(gap);
    })
}

/// Hiccups, and a stats page that stalls for 1–3 s every 10–60 s.
pub fn stalls(seed: u64, minutes: u64) -> Script {
    family("stalling page", seed, minutes, 8_000, |b| {
        if b.rng().chance(0.5) {
            let ms = b.rng().ms(1_000, 3_000);
            b.stall(ms);
            // Sometimes a hiccup during the stall.
            if b.rng().chance(0.3) {
                let lead = b.rng().ms(0, 800);
                b.good(lead);
                b.hiccup();
            }
        } else {
            b.hiccup();
        }
        let gap = b.rng().ms(5_000, 30_000);
        b.good(gap);
    })
}

/// Sustained drops, total losses, slow declines and 2.0–2.45 s drops, with hiccups between.
pub fn drops(seed: u64, minutes: u64) -> Script {
    family("drops and losses", seed, minutes, 10_000, |b| {
        match b.rng().next_u64() % 5 {
            0 | 1 => b.drop(),
            2 => b.loss(),
            3 => b.decline(),
            _ => b.borderline(),
        }
        // Back to good: recovery and the grace after it, a hiccup or two, 4 s before the next.
        let settle = b.rng().ms(8_000, 15_000);
        b.good(settle);
        for _ in 0..b.rng().next_u64() % 3 {
            b.hiccup();
            let gap = b.rng().ms(4_000, 12_000);
            b.good(gap);
        }
    })
}

/// Drops whose recovery flaps.
pub fn flapping(seed: u64, minutes: u64) -> Script {
    family("flapping recoveries", seed, minutes, 10_000, |b| {
        b.flap();
        let settle = b.rng().ms(15_000, 40_000);
        b.good(settle);
    })
}

/// Publishers that keep reconnecting.
pub fn reconnects(seed: u64, minutes: u64) -> Script {
    family("reconnect loops", seed, minutes, 10_000, |b| {
        b.reconnect_loop();
        let settle = b.rng().ms(20_000, 60_000);
        b.good(settle);
    })
}

/// Every family, for one seed.
pub fn families(seed: u64, minutes: u64) -> Vec<Script> {
    vec![
        hiccups(seed, minutes),
        stalls(seed, minutes),
        drops(seed, minutes),
        flapping(seed, minutes),
        reconnects(seed, minutes),
    ]
}

/// How the ingest reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// nginx-rtmp's stat page: a byte counter.
    NginxRtmp,
    /// SRT Live Server: its own 1 s windows.
    Sls,
}

impl Server {
    pub fn name(self) -> &'static str {
        match self {
            Server::NginxRtmp => "nginx-rtmp (byte counter)",
            Server::Sls => "SRT Live Server (1 s windows)",
        }
    }
}

/// The ingest's view of a script, precomputed per slot.
struct Ingest {
    /// Bytes of the current publisher before each slot (0 at a new publisher).
    bytes: Vec<f64>,
    /// Where the current publisher's session began (slot index).
    session: Vec<usize>,
    /// SLS: the `bitrate` shown during each slot (`None`: nobody listed).
    sls: Vec<Option<f64>>,
}

impl Ingest {
    fn new(script: &Script) -> Ingest {
        let n = script.slots.len();
        let mut bytes = Vec::with_capacity(n + 1);
        let mut session = Vec::with_capacity(n);
        let mut sls = Vec::with_capacity(n);
        let mut total = 0.0;
        let mut began = 0;
        // SLS window: start (ms), bytes in it; last value; silence since (ms).
        let mut window_start = 0.0;
        let mut window_bytes = 0.0;
        let mut value: Option<f64> = None;
        let mut silent_since: Option<f64> = None;
        let mut listed = false;
        for (i, slot) in script.slots.iter().enumerate() {
            let start_ms = (i as u64 * SLOT_MS) as f64;
            let end_ms = start_ms + SLOT_MS as f64;
            let kbps = match slot {
                Slot::Gone => None,
                Slot::Publishing(k) => Some(*k),
            };
            if kbps.is_some() && (i == 0 || script.slots[i - 1] == Slot::Gone) {
                total = 0.0;
                began = i;
                window_start = start_ms;
                window_bytes = 0.0;
                value = None;
                silent_since = None;
                listed = true;
            }
            bytes.push(total);
            session.push(began);
            let Some(kbps) = kbps else {
                listed = false;
                sls.push(None);
                continue;
            };
            let slot_bytes = kbps * 1000.0 / 8.0 * SLOT_MS as f64 / 1000.0;
            total += slot_bytes;
            // SLS: a packet in this slot closes a window of at least 1 s.
            if slot_bytes > 0.0 {
                window_bytes += slot_bytes;
                silent_since = None;
                if end_ms - window_start >= 1000.0 {
                    value = Some(window_bytes * 8.0 / (end_ms - window_start));
                    window_start = end_ms;
                    window_bytes = 0.0;
                }
            } else {
                let since = *silent_since.get_or_insert(start_ms);
                if end_ms - since >= 5_000.0 {
                    listed = false;
                }
            }
            sls.push(if listed {
                Some(value.unwrap_or(0.0))
            } else {
                None
            });
        }
        bytes.push(total);
        Ingest {
            bytes,
            session,
            sls,
        }
    }

    /// What the page says at `ms`.
    fn read(&self, script: &Script, server: Server, ms: f64) -> Reading {
        let i = ((ms / SLOT_MS as f64) as usize).min(script.slots.len() - 1);
        match server {
            Server::Sls => match self.sls[i] {
                None => Reading::NoPublisher,
                Some(kbps) => Reading::Rate {
                    bitrate: commands::Kbps(kbps.round() as u32),
                    rtt: None,
                },
            },
            Server::NginxRtmp => {
                let Slot::Publishing(kbps) = script.slot(ms) else {
                    return Reading::NoPublisher;
                };
                let into = ms - (i as u64 * SLOT_MS) as f64;
                let slot_bytes = kbps * 1000.0 / 8.0 * SLOT_MS as f64 / 1000.0;
                let bytes = self.bytes[i] + slot_bytes * into / SLOT_MS as f64;
                // bw_in: the last complete 10 s interval of this publisher.
                let began_ms = (self.session[i] as u64 * SLOT_MS) as f64;
                let intervals = ((ms - began_ms) / 10_000.0).floor();
                let fallback = if intervals < 1.0 {
                    0.0
                } else {
                    let end = began_ms + intervals * 10_000.0;
                    let start = end - 10_000.0;
                    let at = |t: f64| {
                        self.bytes[((t / SLOT_MS as f64) as usize).min(self.bytes.len() - 1)]
                    };
                    (at(end) - at(start)) * 8.0 / 10_000.0
                };
                Reading::Counter {
                    bytes: bytes as u64,
                    // As the nginx parser reads it: 0 is no rate.
                    fallback: Some(commands::Kbps(fallback.round() as u32)).filter(|k| k.0 > 0),
                    rtt: None,
                }
            }
        }
    }
}

/// A guard to run a script against.
#[derive(Debug, Clone)]
pub struct Contender {
    pub name: &'static str,
    pub policy: Policy,
    pub poll: Duration,
    /// Turns a sample into what this guard would see (the seed's "everything bad is 0 kbps").
    pub map: fn(Input) -> Input,
}

fn identity(input: Input) -> Input {
    input
}

impl Contender {
    /// The product's defaults.
    pub fn default_policy() -> Contender {
        Contender {
            name: "default",
            policy: Policy::default(),
            poll: Duration::from_millis(250),
            map: identity,
        }
    }
}

/// What the guard did on one script.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Every switch, with when it was decided (ms).
    pub switches: Vec<(u64, Level)>,
    /// The level OBS showed per slot.
    pub shown: Vec<Level>,
}

/// Runs `script` through the ingest `server`, the poller and the guard. `phase` (0..1) places
/// the first tick within the first poll.
pub fn simulate(script: &Script, server: Server, contender: &Contender, phase: f64) -> Outcome {
    let ingest = Ingest::new(script);
    let base = Instant::now();
    let at = |ms: f64| base + Duration::from_secs_f64(ms / 1000.0);
    let poll_ms = contender.poll.as_secs_f64() * 1000.0;
    let end_ms = script.len_ms() as f64;
    let mut state = GuardState::default();
    let mut meter = Meter::default();
    let policy = &contender.policy;
    let start = Input::Scene(Some(OwnedScene::Level(Level::Live)));
    decide(policy, &mut state, start, base);
    let mut switches = Vec::new();
    let mut shown = vec![Level::Live; script.slots.len()];
    let mut scene = Level::Live;
    let mut shown_from = 0usize;
    let mut deadline = phase.clamp(0.0, 1.0) * poll_ms;
    let mut latency = Rng::new(phase.to_bits());
    let mut ready = 0.0f64;
    while deadline < end_ms {
        // `Interval::tick` with `Delay`: fires at the deadline or when called, whichever is later.
        let fired = deadline.max(ready);
        let tick = deadline;
        deadline = if fired > deadline + 5.0 {
            fired + poll_ms
        } else {
            deadline + poll_ms
        };
        let stall = script
            .stalls
            .iter()
            .find(|(from, until)| (*from as f64..*until as f64).contains(&fired));
        let (answered, reading) = match stall {
            Some((_, until)) if *until as f64 - fired > TIMEOUT_MS as f64 => (
                fired + TIMEOUT_MS as f64,
                Err(StatsError::Timeout {
                    url: "http://127.0.0.1/stat".into(),
                    timeout_ms: TIMEOUT_MS,
                }),
            ),
            Some((_, until)) => {
                let when = *until as f64 + latency.range(1.0, LATENCY_MS as f64);
                (when, Ok(ingest.read(script, server, when)))
            }
            None => {
                let when = fired + latency.range(1.0, LATENCY_MS as f64);
                (when, Ok(ingest.read(script, server, when)))
            }
        };
        ready = answered;
        if answered >= end_ms {
            break;
        }
        let Some(sample) = meter.update(reading, at(answered)) else {
            continue;
        };
        let stamp = sample_time(at(tick), at(answered), contender.poll);
        let stamp_ms = stamp.duration_since(base).as_secs_f64() * 1000.0;
        let input = (contender.map)(Input::Sample(sample));
        match decide(policy, &mut state, input, stamp) {
            Decision::Nothing => {}
            Decision::Switch { to, .. } => {
                let echo = Input::Scene(Some(OwnedScene::Level(to)));
                decide(policy, &mut state, echo, stamp);
                let slot = ((answered / SLOT_MS as f64) as usize).min(shown.len());
                shown[shown_from..slot].fill(scene);
                shown_from = slot;
                scene = to;
                switches.push((stamp_ms.round() as u64, to));
            }
            // The contenders set no `offline_timeout`.
            Decision::StopStream { .. } => {}
        }
    }
    let len = shown.len();
    shown[shown_from..len].fill(scene);
    Outcome { switches, shown }
}

/// The figures of one script under one contender.
#[derive(Debug, Clone, Default)]
pub struct Score {
    /// Simulated time (ms).
    pub ms: u64,
    /// Switches that no ideal change asked for.
    pub false_switches: usize,
    /// Drops, losses and declines with no switch to their level (or worse) before they ended.
    pub missed: usize,
    /// Drop start → switch to LOW or worse (ms), one per caught drop.
    pub to_low: Vec<u64>,
    /// Decline start (the first slot below 800 kbps, before jitter) → switch to LOW or worse.
    pub to_low_decline: Vec<u64>,
    /// Loss start → switch to OFFLINE (ms).
    pub to_offline: Vec<u64>,
    /// Slots shown in another scene than the ideal.
    pub wrong_slots: u64,
    /// 2.0–2.45 s drops: how many, how many were shown as LOW, and how many of those only once
    /// the link was good again. Switches from then until 5 s after one count as neither false
    /// nor missed.
    pub borderline: (usize, usize, usize),
}

/// Scores an outcome against the script's ideal: a switch is expected when it moves the shown
/// scene to the ideal one and is the first switch to that level since the ideal became it;
/// every other switch is false.
pub fn score(script: &Script, outcome: &Outcome) -> Score {
    let mut s = Score {
        ms: script.len_ms(),
        ..Score::default()
    };
    let ideal_at = |ms: u64| script.ideal[((ms / SLOT_MS) as usize).min(script.ideal.len() - 1)];
    // Since when the ideal has been what it is at `ms`.
    let ideal_since = |ms: u64| {
        let mut i = ((ms / SLOT_MS) as usize).min(script.ideal.len() - 1);
        let level = script.ideal[i];
        while i > 0 && script.ideal[i - 1] == level {
            i -= 1;
        }
        i as u64 * SLOT_MS
    };
    let mut last_ok: Option<(u64, Level)> = None;
    let borderline = |at: u64| {
        script
            .events
            .iter()
            .any(|e| e.kind == Kind::Borderline && e.start_ms <= at && at <= e.end_ms + 5_000)
    };
    for &(at, to) in &outcome.switches {
        if borderline(at) {
            continue;
        }
        let ideal = ideal_at(at);
        let since = ideal_since(at);
        let first = !matches!(last_ok, Some((t, l)) if l == to && t >= since);
        // A switch towards the ideal level, or, in a LOW period, to OFFLINE (worse is allowed
        // for a drop that deepens), counts once per ideal period.
        let expected = first && (to == ideal);
        if expected {
            last_ok = Some((at, to));
        } else {
            s.false_switches += 1;
        }
    }
    for event in &script.events {
        if event.kind == Kind::Borderline {
            s.borderline.0 += 1;
            let low = outcome.switches.iter().find(|(at, to)| {
                *at >= event.start_ms && *at <= event.end_ms + 1_000 && *to >= Level::Low
            });
            if let Some((at, _)) = low {
                s.borderline.1 += 1;
                if *at >= event.end_ms {
                    s.borderline.2 += 1;
                }
            }
            continue;
        }
        let (target, list) = match event.kind {
            Kind::Drop => (Level::Low, &mut s.to_low),
            Kind::Decline => (Level::Low, &mut s.to_low_decline),
            Kind::Loss => (Level::Offline, &mut s.to_offline),
            _ => continue,
        };
        let caught = outcome
            .switches
            .iter()
            .find(|(at, to)| *at >= event.start_ms && *at < event.end_ms && *to >= target);
        match caught {
            Some((at, _)) => list.push(at - event.start_ms),
            None => s.missed += 1,
        }
    }
    s.wrong_slots = outcome
        .shown
        .iter()
        .zip(&script.ideal)
        .filter(|(a, b)| a != b)
        .count() as u64;
    s
}
