//! Guard traces: timed input sequences for `guard::decide`, with the decisions expected under
//! the trace's policy (the default [`Policy`] plus the trace's tweak), and the events that should
//! cause a transition (for reaction times in `benches/guard_traces.rs`).
//!
//! Samples every 500 ms unless stated. Times are offsets from the start of the trace. Shared by
//! `tests/it/guard_decide.rs` and `benches/guard_traces.rs`.

#![allow(dead_code)]

use commands::{Kbps, Millis};
use std::time::Duration;
use stream_control::guard::decide::{
    Cause, Decision, GuardState, Input, Level, OwnedScene, Policy, Reason, decide,
};
use stream_control::guard::stats::{IngestStats, StatsError};
use tokio::time::Instant;

/// The poll period of the traces.
pub const POLL: Duration = Duration::from_millis(500);

/// What an event should make the guard do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Switch(Level),
    Stop,
}

/// Something that happens in a trace and the transition it should cause.
#[derive(Debug, Clone)]
pub struct Transition {
    /// When the event happens (the first sample that shows it).
    pub at: Duration,
    pub event: &'static str,
    pub outcome: Outcome,
}

/// One scenario.
#[derive(Debug, Clone)]
pub struct Trace {
    pub name: &'static str,
    /// Applied to the default policy (and to the benchmark's other policies).
    pub tweak: fn(&mut Policy),
    /// What the guard loop feeds it: samples, and scene changes made by hand.
    pub inputs: Vec<(Duration, Input)>,
    /// The loop's echoes of the expected switches (the scene input that follows a switch), at
    /// the times the trace wants them; merged by [`Trace::scripted`]. [`run_echoing`] makes its
    /// own instead (for policies whose switches differ).
    pub echoes: Vec<(Duration, Input)>,
    /// Every decision other than `Nothing`, with its time, under [`Trace::policy`].
    pub expected: Vec<(Duration, Decision)>,
    /// The transitions the trace should cause, in order (empty: it should never switch).
    pub transitions: Vec<Transition>,
}

impl Trace {
    /// The default policy with this trace's tweak.
    pub fn policy(&self) -> Policy {
        self.with(Policy::default())
    }

    /// The inputs with the scripted echoes (an echo follows the input of the same instant).
    pub fn scripted(&self) -> Vec<(Duration, Input)> {
        let mut all = self.inputs.clone();
        for (at, echo) in &self.echoes {
            let index = all.partition_point(|(t, _)| t <= at);
            all.insert(index, (*at, echo.clone()));
        }
        all
    }

    /// `policy` with this trace's tweak.
    pub fn with(&self, mut policy: Policy) -> Policy {
        (self.tweak)(&mut policy);
        policy
    }
}

fn no_tweak(_: &mut Policy) {}

/// Feeds `inputs` to a fresh state; every decision other than `Nothing`, with its offset.
pub fn run(policy: &Policy, inputs: &[(Duration, Input)]) -> Vec<(Duration, Decision)> {
    let start = Instant::now();
    let mut state = GuardState::default();
    let mut decisions = Vec::new();
    for (at, input) in inputs {
        let decision = decide(policy, &mut state, input.clone(), start + *at);
        if decision != Decision::Nothing {
            decisions.push((*at, decision));
        }
    }
    decisions
}

/// Like [`run`], but echoes every switch at once as the loop does (`Scene(Some(Level(to)))` at
/// the same instant).
pub fn run_echoing(policy: &Policy, inputs: &[(Duration, Input)]) -> Vec<(Duration, Decision)> {
    let start = Instant::now();
    let mut state = GuardState::default();
    let mut decisions = Vec::new();
    for (at, input) in inputs {
        let now = start + *at;
        let decision = decide(policy, &mut state, input.clone(), now);
        if let Decision::Switch { to, .. } = decision {
            let echo = decide(policy, &mut state, scene(to), now);
            assert_eq!(echo, Decision::Nothing, "an echo never decides");
        }
        if decision != Decision::Nothing {
            decisions.push((*at, decision));
        }
    }
    decisions
}

// ---- building blocks ----

pub fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

pub fn kbps(bitrate: u32) -> Input {
    Input::Sample(IngestStats::Live {
        bitrate: Kbps(bitrate),
        rtt: None,
    })
}

pub fn kbps_rtt(bitrate: u32, rtt: u32) -> Input {
    Input::Sample(IngestStats::Live {
        bitrate: Kbps(bitrate),
        rtt: Some(Millis(rtt)),
    })
}

pub fn no_publisher() -> Input {
    Input::Sample(IngestStats::NoPublisher)
}

pub fn stats_error() -> StatsError {
    StatsError::Timeout {
        url: "http://127.0.0.1:8080/stat".into(),
        timeout_ms: 2000,
    }
}

pub fn unreachable() -> Input {
    Input::Sample(IngestStats::Unreachable(stats_error()))
}

pub fn scene(level: Level) -> Input {
    Input::Scene(Some(OwnedScene::Level(level)))
}

pub fn starting() -> Input {
    Input::Scene(Some(OwnedScene::Starting))
}

pub fn manual() -> Input {
    Input::Scene(None)
}

/// One sample every [`POLL`] in `[from, until)` (milliseconds), made by `make(offset_ms)`.
pub fn every(
    inputs: &mut Vec<(Duration, Input)>,
    from: u64,
    until: u64,
    make: impl Fn(u64) -> Input,
) {
    let step = POLL.as_millis() as u64;
    let mut t = from;
    while t < until {
        inputs.push((ms(t), make(t)));
        t += step;
    }
}

/// Where [`insert`] puts an input relative to a sample at the same offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    BeforeSample,
    AfterSample,
}

/// Inserts `input` at `at` (milliseconds), keeping `inputs` ordered by time.
pub fn insert(inputs: &mut Vec<(Duration, Input)>, at: u64, input: Input, order: Order) {
    let at = ms(at);
    let index = inputs.partition_point(|(t, _)| match order {
        Order::BeforeSample => *t < at,
        Order::AfterSample => *t <= at,
    });
    inputs.insert(index, (at, input));
}

pub fn switch(from: OwnedScene, to: Level, cause: Cause, bitrate: Option<u32>) -> Decision {
    switch_rtt(from, to, cause, bitrate, None)
}

pub fn switch_rtt(
    from: OwnedScene,
    to: Level,
    cause: Cause,
    bitrate: Option<u32>,
    rtt: Option<u32>,
) -> Decision {
    Decision::Switch {
        from,
        to,
        reason: Reason {
            cause,
            bitrate_kbps: bitrate,
            rtt_ms: rtt,
        },
    }
}

pub const LIVE: OwnedScene = OwnedScene::Level(Level::Live);
pub const LOW: OwnedScene = OwnedScene::Level(Level::Low);
pub const OFFLINE: OwnedScene = OwnedScene::Level(Level::Offline);

fn transition(at: u64, event: &'static str, outcome: Outcome) -> Transition {
    Transition {
        at: ms(at),
        event,
        outcome,
    }
}

fn unreachable_cause() -> Cause {
    Cause::Unreachable(stats_error().to_string())
}

// ---- the traces ----

/// 1. 2500 kbps for 10 s, then 300: LOW at drop + `degrade_after` (the first low sample starts
///    the run): 12 s.
pub fn clean_drop() -> Trace {
    let mut inputs = vec![(ms(0), scene(Level::Live))];
    every(&mut inputs, 0, 10_000, |_| kbps(2500));
    every(&mut inputs, 10_000, 20_000, |_| kbps(300));
    Trace {
        name: "clean drop",
        tweak: no_tweak,
        inputs,
        echoes: vec![],
        expected: vec![(
            ms(12_000),
            switch(LIVE, Level::Low, Cause::LowBitrate, Some(300)),
        )],
        transitions: vec![transition(
            10_000,
            "drop to 300",
            Outcome::Switch(Level::Low),
        )],
    }
}

/// 2. 2500 → 300 in 100 kbps steps every 2 s: 700 (< 800) from 36 s, so LOW at 38 s (at 600),
///    once.
pub fn slow_decline() -> Trace {
    let mut inputs = vec![(ms(0), scene(Level::Live))];
    every(&mut inputs, 0, 60_000, |t| {
        kbps(2500u32.saturating_sub(100 * (t / 2000) as u32).max(300))
    });
    Trace {
        name: "slow decline",
        tweak: no_tweak,
        inputs,
        echoes: vec![],
        expected: vec![(
            ms(38_000),
            switch(LIVE, Level::Low, Cause::LowBitrate, Some(600)),
        )],
        transitions: vec![transition(
            36_000,
            "below 800 (700)",
            Outcome::Switch(Level::Low),
        )],
    }
}

/// 3a. 790/810 alternating for 60 s at LIVE (low 800): never switches.
pub fn jitter_at_live() -> Trace {
    let mut inputs = vec![(ms(0), scene(Level::Live))];
    every(&mut inputs, 0, 5_000, |_| kbps(2500));
    every(&mut inputs, 5_000, 65_000, |t| {
        kbps(if (t / 500) % 2 == 0 { 790 } else { 810 })
    });
    Trace {
        name: "jitter 790/810 at LIVE",
        tweak: no_tweak,
        inputs,
        echoes: vec![],
        expected: vec![],
        transitions: vec![],
    }
}

/// 3b. 1150/1250 alternating for 60 s at LOW (recover 1200): never switches.
pub fn jitter_at_low() -> Trace {
    let mut inputs = vec![(ms(0), scene(Level::Low))];
    every(&mut inputs, 0, 60_000, |t| {
        kbps(if (t / 500) % 2 == 0 { 1150 } else { 1250 })
    });
    Trace {
        name: "jitter 1150/1250 at LOW",
        tweak: no_tweak,
        inputs,
        echoes: vec![],
        expected: vec![],
        transitions: vec![],
    }
}

/// 4a. A flaky stats page at 2500 kbps: single failed polls every 4 s and a 3 s outage
///     (polls 30.0–32.5 s fail), all shorter than `unreachable_grace` (5 s): never switches.
pub fn flaky_page() -> Trace {
    let mut inputs = vec![(ms(0), scene(Level::Live))];
    every(&mut inputs, 0, 60_000, |t| {
        let single = t % 4000 == 1500;
        let outage = (30_000..33_000).contains(&t);
        if single || outage {
            unreachable()
        } else {
            kbps(2500)
        }
    });
    Trace {
        name: "flaky stats page",
        tweak: no_tweak,
        inputs,
        echoes: vec![],
        expected: vec![],
        transitions: vec![],
    }
}

/// 4b. The stats page fails from 10 s; the poll at 16 s still fails (6 s of failure). Failures
///     count as OFFLINE from 15 s (`unreachable_grace`), and OFFLINE must then hold for
///     `offline_after`: OFFLINE at 16 s = outage start + grace + offline_after. The page answers
///     again at 16.5 s: LIVE at once (instant recovery from OFFLINE).
pub fn outage_6s() -> Trace {
    let mut inputs = vec![(ms(0), scene(Level::Live))];
    every(&mut inputs, 0, 10_000, |_| kbps(2500));
    every(&mut inputs, 10_000, 16_500, |_| unreachable());
    every(&mut inputs, 16_500, 25_000, |_| kbps(2500));
    Trace {
        name: "stats page down 6 s",
        tweak: no_tweak,
        inputs,
        echoes: vec![],
        expected: vec![
            (
                ms(16_000),
                switch(LIVE, Level::Offline, unreachable_cause(), None),
            ),
            (
                ms(16_500),
                switch(OFFLINE, Level::Live, Cause::Recovered, Some(2500)),
            ),
        ],
        transitions: vec![
            transition(10_000, "page fails", Outcome::Switch(Level::Offline)),
            transition(16_500, "page back", Outcome::Switch(Level::Live)),
        ],
    }
}

/// 4c. The boundary: the page fails for polls 10.0–15.5 s only. OFFLINE by failure starts at
///     15 s and is broken at 16 s before lasting `offline_after`: never switches.
pub fn outage_5_5s() -> Trace {
    let mut inputs = vec![(ms(0), scene(Level::Live))];
    every(&mut inputs, 0, 10_000, |_| kbps(2500));
    every(&mut inputs, 10_000, 16_000, |_| unreachable());
    every(&mut inputs, 16_000, 25_000, |_| kbps(2500));
    Trace {
        name: "stats page down 5.5 s",
        tweak: no_tweak,
        inputs,
        echoes: vec![],
        expected: vec![],
        transitions: vec![],
    }
}

/// 5. A publisher at 0 kbps from 10 s (idle bonding encoder, NOALBS #147/#120/#173): OFFLINE at
///    11 s; back at 2500 at 20 s: LIVE at once.
pub fn zero_kbps() -> Trace {
    let mut inputs = vec![(ms(0), scene(Level::Live))];
    every(&mut inputs, 0, 10_000, |_| kbps(2500));
    every(&mut inputs, 10_000, 20_000, |_| kbps(0));
    every(&mut inputs, 20_000, 25_000, |_| kbps(2500));
    Trace {
        name: "publisher at 0 kbps",
        tweak: no_tweak,
        inputs,
        echoes: vec![],
        expected: vec![
            (
                ms(11_000),
                switch(LIVE, Level::Offline, Cause::ZeroBitrate, Some(0)),
            ),
            (
                ms(20_000),
                switch(OFFLINE, Level::Live, Cause::Recovered, Some(2500)),
            ),
        ],
        transitions: vec![
            transition(10_000, "0 kbps", Outcome::Switch(Level::Offline)),
            transition(20_000, "2500 again", Outcome::Switch(Level::Live)),
        ],
    }
}

fn publisher_gone_inputs() -> Vec<(Duration, Input)> {
    let mut inputs = vec![(ms(0), scene(Level::Live))];
    every(&mut inputs, 0, 10_000, |_| kbps(2500));
    every(&mut inputs, 10_000, 20_000, |_| no_publisher());
    every(&mut inputs, 20_000, 30_000, |_| kbps(2500));
    inputs
}

/// 6a. No publisher from 10 s: OFFLINE at 11 s; back at 20 s: LIVE at once.
pub fn publisher_gone() -> Trace {
    Trace {
        name: "publisher gone, instant recovery",
        tweak: no_tweak,
        inputs: publisher_gone_inputs(),
        echoes: vec![],
        expected: vec![
            (
                ms(11_000),
                switch(LIVE, Level::Offline, Cause::NoPublisher, None),
            ),
            (
                ms(20_000),
                switch(OFFLINE, Level::Live, Cause::Recovered, Some(2500)),
            ),
        ],
        transitions: vec![
            transition(10_000, "publisher gone", Outcome::Switch(Level::Offline)),
            transition(20_000, "publisher back", Outcome::Switch(Level::Live)),
        ],
    }
}

/// 6b. The same without `instant_recover_from_offline`: LIVE at 20 s + `recover_after`.
pub fn publisher_gone_slow_recovery() -> Trace {
    Trace {
        name: "publisher gone, no instant recovery",
        tweak: |p| p.instant_recover_from_offline = false,
        inputs: publisher_gone_inputs(),
        echoes: vec![],
        expected: vec![
            (
                ms(11_000),
                switch(LIVE, Level::Offline, Cause::NoPublisher, None),
            ),
            (
                ms(23_000),
                switch(OFFLINE, Level::Live, Cause::Recovered, Some(2500)),
            ),
        ],
        transitions: vec![
            transition(10_000, "publisher gone", Outcome::Switch(Level::Offline)),
            transition(20_000, "publisher back", Outcome::Switch(Level::Live)),
        ],
    }
}

/// 7. RTT 3000 ms (rtt_low 2500) at 2500 kbps from 10 s: LOW at 12 s; RTT 100 again from 20 s:
///    LIVE at 23 s.
pub fn high_rtt() -> Trace {
    let mut inputs = vec![(ms(0), scene(Level::Live))];
    every(&mut inputs, 0, 10_000, |_| kbps_rtt(2500, 100));
    every(&mut inputs, 10_000, 20_000, |_| kbps_rtt(2500, 3000));
    every(&mut inputs, 20_000, 30_000, |_| kbps_rtt(2500, 100));
    Trace {
        name: "high RTT",
        tweak: no_tweak,
        inputs,
        echoes: vec![],
        expected: vec![
            (
                ms(12_000),
                switch_rtt(LIVE, Level::Low, Cause::HighRtt, Some(2500), Some(3000)),
            ),
            (
                ms(23_000),
                switch_rtt(LOW, Level::Live, Cause::Recovered, Some(2500), Some(100)),
            ),
        ],
        transitions: vec![
            transition(10_000, "RTT 3000", Outcome::Switch(Level::Low)),
            transition(20_000, "RTT 100", Outcome::Switch(Level::Live)),
        ],
    }
}

/// 8. 300 kbps from 10 s; at 10.3 s (mid-window) a scene the guard does not own: nothing. Back
///    to LIVE by hand at 20 s: grace until 23 s, then the LOW window: LOW at 25 s.
pub fn manual_override() -> Trace {
    let mut inputs = vec![(ms(0), scene(Level::Live))];
    every(&mut inputs, 0, 10_000, |_| kbps(2500));
    every(&mut inputs, 10_000, 30_000, |_| kbps(300));
    insert(&mut inputs, 10_300, manual(), Order::BeforeSample);
    insert(&mut inputs, 20_000, scene(Level::Live), Order::BeforeSample);
    Trace {
        name: "manual override",
        tweak: no_tweak,
        inputs,
        echoes: vec![],
        expected: vec![(
            ms(25_000),
            switch(LIVE, Level::Low, Cause::LowBitrate, Some(300)),
        )],
        transitions: vec![transition(
            20_000,
            "LIVE by hand at 300",
            Outcome::Switch(Level::Low),
        )],
    }
}

/// 9. LIVE entered at 0 with 300 kbps at once: LOW samples count as LIVE during the 3 s grace,
///    so the LOW window starts at 3 s: LOW at 5 s (= live_grace + degrade_after).
pub fn live_grace() -> Trace {
    let mut inputs = vec![(ms(0), scene(Level::Live))];
    every(&mut inputs, 0, 10_000, |_| kbps(300));
    Trace {
        name: "grace after LIVE",
        tweak: no_tweak,
        inputs,
        echoes: vec![],
        expected: vec![(
            ms(5_000),
            switch(LIVE, Level::Low, Cause::LowBitrate, Some(300)),
        )],
        transitions: vec![transition(
            0,
            "LIVE entered at 300",
            Outcome::Switch(Level::Low),
        )],
    }
}

fn starting_inputs() -> Vec<(Duration, Input)> {
    let mut inputs = vec![(ms(0), starting())];
    every(&mut inputs, 0, 10_000, |t| match (t / 500) % 5 {
        0 => no_publisher(),
        1 => kbps(0),
        2 => kbps(300),
        3 => kbps(1000),
        _ => unreachable(),
    });
    every(&mut inputs, 10_000, 20_000, |_| kbps(2500));
    inputs
}

/// 10a. The starting scene with bad samples (none, 0, 300, 1000, failing page) for 10 s:
///      nothing; 2500 from 10 s: LIVE at once.
pub fn starting_scene() -> Trace {
    Trace {
        name: "starting scene",
        tweak: no_tweak,
        inputs: starting_inputs(),
        echoes: vec![],
        expected: vec![(
            ms(10_000),
            switch(
                OwnedScene::Starting,
                Level::Live,
                Cause::Recovered,
                Some(2500),
            ),
        )],
        transitions: vec![transition(10_000, "2500", Outcome::Switch(Level::Live))],
    }
}

/// 10b. The same without instant recovery: LIVE at 10 s + `recover_after`.
pub fn starting_scene_slow() -> Trace {
    Trace {
        name: "starting scene, no instant recovery",
        tweak: |p| p.instant_recover_from_offline = false,
        inputs: starting_inputs(),
        echoes: vec![],
        expected: vec![(
            ms(13_000),
            switch(
                OwnedScene::Starting,
                Level::Live,
                Cause::Recovered,
                Some(2500),
            ),
        )],
        transitions: vec![transition(10_000, "2500", Outcome::Switch(Level::Live))],
    }
}

/// 11. `offline_timeout` 30 s; no publisher from 5 s to 65 s: OFFLINE at 6 s, one StopStream at
///     36 s, none after.
pub fn offline_timeout() -> Trace {
    let mut inputs = vec![(ms(0), scene(Level::Live))];
    every(&mut inputs, 0, 5_000, |_| kbps(2500));
    every(&mut inputs, 5_000, 65_000, |_| no_publisher());
    Trace {
        name: "offline timeout",
        tweak: |p| p.offline_timeout = Some(Duration::from_secs(30)),
        inputs,
        echoes: vec![],
        expected: vec![
            (
                ms(6_000),
                switch(LIVE, Level::Offline, Cause::NoPublisher, None),
            ),
            (
                ms(36_000),
                Decision::StopStream {
                    reason: Reason {
                        cause: Cause::OfflineTimeout,
                        bitrate_kbps: None,
                        rtt_ms: None,
                    },
                },
            ),
        ],
        transitions: vec![
            transition(5_000, "publisher gone", Outcome::Switch(Level::Offline)),
            transition(5_000, "publisher gone", Outcome::Stop),
        ],
    }
}

/// 12. The loop echoes each switch as a scene input. LOW at 12 s (echo at 12 s); 2500 from 15 s:
///     LIVE at 18 s; a late echo of LIVE at 20 s does not restart the grace (until 21 s): 300
///     from 21 s gives LOW at 23 s (a restarted grace would give 25 s).
pub fn echo() -> Trace {
    let mut inputs = vec![(ms(0), scene(Level::Live))];
    every(&mut inputs, 0, 10_000, |_| kbps(2500));
    every(&mut inputs, 10_000, 15_000, |_| kbps(300));
    every(&mut inputs, 15_000, 21_000, |_| kbps(2500));
    every(&mut inputs, 21_000, 25_000, |_| kbps(300));
    Trace {
        name: "echo of the switch",
        tweak: no_tweak,
        inputs,
        // The first echo right after its switch, the second 2 s late.
        echoes: vec![
            (ms(12_000), scene(Level::Low)),
            (ms(20_000), scene(Level::Live)),
        ],
        expected: vec![
            (
                ms(12_000),
                switch(LIVE, Level::Low, Cause::LowBitrate, Some(300)),
            ),
            (
                ms(18_000),
                switch(LOW, Level::Live, Cause::Recovered, Some(2500)),
            ),
            (
                ms(23_000),
                switch(LIVE, Level::Low, Cause::LowBitrate, Some(300)),
            ),
        ],
        transitions: vec![
            transition(10_000, "drop to 300", Outcome::Switch(Level::Low)),
            transition(15_000, "2500 again", Outcome::Switch(Level::Live)),
            transition(21_000, "drop to 300", Outcome::Switch(Level::Low)),
        ],
    }
}

/// 13a. At LOW (500 kbps), 2500 from 5 s: LIVE at 8 s (`recover_after`).
pub fn recover() -> Trace {
    let mut inputs = vec![(ms(0), scene(Level::Low))];
    every(&mut inputs, 0, 5_000, |_| kbps(500));
    every(&mut inputs, 5_000, 15_000, |_| kbps(2500));
    Trace {
        name: "recover from LOW",
        tweak: no_tweak,
        inputs,
        echoes: vec![],
        expected: vec![(
            ms(8_000),
            switch(LOW, Level::Live, Cause::Recovered, Some(2500)),
        )],
        transitions: vec![transition(5_000, "2500", Outcome::Switch(Level::Live))],
    }
}

/// 13b. At LOW, 1100 kbps (between low 800 and recover 1200) for 60 s: stays LOW.
pub fn between_thresholds() -> Trace {
    let mut inputs = vec![(ms(0), scene(Level::Low))];
    every(&mut inputs, 0, 60_000, |_| kbps(1100));
    Trace {
        name: "1100 at LOW",
        tweak: no_tweak,
        inputs,
        echoes: vec![],
        expected: vec![],
        transitions: vec![],
    }
}

/// 14. A mix of LOW and OFFLINE samples: 300 at 10 s, then 0 kbps. The OFFLINE window (since
///     10.5 s) is full at 11.5 s, before the LOW window (since 10 s, full at 12 s): straight to
///     OFFLINE at 11.5 s.
pub fn mixed_drop() -> Trace {
    let mut inputs = vec![(ms(0), scene(Level::Live))];
    every(&mut inputs, 0, 10_000, |_| kbps(2500));
    inputs.push((ms(10_000), kbps(300)));
    every(&mut inputs, 10_500, 20_000, |_| kbps(0));
    Trace {
        name: "mixed LOW/OFFLINE drop",
        tweak: no_tweak,
        inputs,
        echoes: vec![],
        expected: vec![(
            ms(11_500),
            switch(LIVE, Level::Offline, Cause::ZeroBitrate, Some(0)),
        )],
        transitions: vec![transition(
            10_000,
            "300 then 0",
            Outcome::Switch(Level::Offline),
        )],
    }
}

/// Every trace, in the order above.
pub fn all() -> Vec<Trace> {
    vec![
        clean_drop(),
        slow_decline(),
        jitter_at_live(),
        jitter_at_low(),
        flaky_page(),
        outage_6s(),
        outage_5_5s(),
        zero_kbps(),
        publisher_gone(),
        publisher_gone_slow_recovery(),
        high_rtt(),
        manual_override(),
        live_grace(),
        starting_scene(),
        starting_scene_slow(),
        offline_timeout(),
        echo(),
        recover(),
        between_thresholds(),
        mixed_drop(),
    ]
}
