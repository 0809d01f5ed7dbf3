//! The guard's decision state machine (`guard::decide`): the trace set with exact decisions and
//! times, single rules, a property test (never panics, never flaps, never switches under a
//! manual override), and properties on realistic IRL traces through the whole chain (hiccups
//! shorter than 2 s never switch, a drop held 2.5 s is LOW by then, a total loss is OFFLINE
//! within 1.5 s, flapping recoveries and reconnect loops never bring LIVE back until it holds).

use stream_control_test_support::irl;
use stream_control_test_support::traces;

use proptest::prelude::*;
use std::time::Duration;
use stream_control::guard::decide::{
    Cause, Decision, GuardState, Input, Level, OwnedScene, Policy, Reason, decide, degrade_window,
};
use stream_control::guard::stats::{IngestStats, StatsError};
use tokio::time::Instant;
use traces::*;

fn check(trace: Trace) {
    let decisions = run(&trace.policy(), &trace.scripted());
    assert_eq!(
        decisions, trace.expected,
        "trace {:?}: decisions (left) differ from expected (right)",
        trace.name
    );
    // The loop echoes every switch at once: that must change nothing.
    let closed_loop = run_echoing(&trace.policy(), &trace.inputs);
    assert_eq!(
        closed_loop, trace.expected,
        "trace {:?} with immediate echoes",
        trace.name
    );
    assert_eq!(
        trace.expected.len(),
        trace.transitions.len(),
        "trace {:?}: one transition per expected decision",
        trace.name
    );
    for ((_, decision), transition) in trace.expected.iter().zip(&trace.transitions) {
        let outcome = match decision {
            Decision::Switch { to, .. } => Outcome::Switch(*to),
            Decision::StopStream { .. } => Outcome::Stop,
            Decision::Nothing => unreachable!("run() drops Nothing"),
        };
        assert_eq!(outcome, transition.outcome, "trace {:?}", trace.name);
    }
}

// ---- the traces (tests/support/src/traces.rs documents each) ----

#[test]
fn trace_clean_drop_goes_low_after_degrade_after() {
    check(clean_drop());
}

#[test]
fn trace_slow_decline_switches_once() {
    check(slow_decline());
}

#[test]
fn trace_jitter_around_low_never_switches() {
    check(jitter_at_live());
}

#[test]
fn trace_jitter_around_recover_never_switches() {
    check(jitter_at_low());
}

#[test]
fn trace_flaky_stats_page_never_switches() {
    check(flaky_page());
}

#[test]
fn trace_six_second_outage_goes_offline_after_grace_plus_window() {
    check(outage_6s());
}

#[test]
fn trace_outage_just_under_grace_plus_window_never_switches() {
    check(outage_5_5s());
}

#[test]
fn trace_zero_kbps_publisher_goes_offline() {
    check(zero_kbps());
}

#[test]
fn trace_publisher_gone_and_back_instantly() {
    check(publisher_gone());
}

#[test]
fn trace_publisher_gone_and_back_after_recover_after() {
    check(publisher_gone_slow_recovery());
}

#[test]
fn trace_high_rtt_goes_low_and_back() {
    check(high_rtt());
}

#[test]
fn trace_manual_override_decides_nothing_then_grace() {
    check(manual_override());
}

#[test]
fn trace_grace_after_live_delays_the_low_window() {
    check(live_grace());
}

#[test]
fn trace_starting_scene_only_goes_live() {
    check(starting_scene());
}

#[test]
fn trace_starting_scene_without_instant_recovery() {
    check(starting_scene_slow());
}

#[test]
fn trace_offline_timeout_stops_once() {
    check(offline_timeout());
}

#[test]
fn trace_echo_of_a_switch_is_a_no_op() {
    check(echo());
}

#[test]
fn trace_recover_from_low_after_recover_after() {
    check(recover());
}

#[test]
fn trace_between_low_and_recover_stays_low() {
    check(between_thresholds());
}

#[test]
fn trace_mixed_low_and_offline_goes_straight_to_offline() {
    check(mixed_drop());
}

#[test]
fn the_trace_set_lists_every_trace_once() {
    let all = all();
    assert_eq!(all.len(), 20);
    let mut names: Vec<_> = all.iter().map(|t| t.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), all.len());
    for trace in all {
        check(trace);
    }
}

// ---- single rules ----

/// Feeds inputs at offsets (ms) to `state`; the decisions other than `Nothing`.
fn feed(
    policy: &Policy,
    state: &mut GuardState,
    start: Instant,
    inputs: &[(u64, Input)],
) -> Vec<(u64, Decision)> {
    inputs
        .iter()
        .filter_map(|(at, input)| {
            let decision = decide(policy, state, input.clone(), start + ms(*at));
            (decision != Decision::Nothing).then_some((*at, decision))
        })
        .collect()
}

fn samples(from: u64, until: u64, input: Input) -> Vec<(u64, Input)> {
    (from..until)
        .step_by(500)
        .map(|t| (t, input.clone()))
        .collect()
}

fn concat(parts: Vec<Vec<(u64, Input)>>) -> Vec<(u64, Input)> {
    parts.into_iter().flatten().collect()
}

#[test]
fn the_echo_leaves_the_state_untouched() {
    let policy = Policy::default();
    let start = Instant::now();
    let mut state = GuardState::default();
    let inputs = concat(vec![
        vec![(0, scene(Level::Live))],
        samples(0, 10_000, kbps(2500)),
        samples(10_000, 12_500, kbps(300)),
    ]);
    let decisions = feed(&policy, &mut state, start, &inputs);
    assert_eq!(
        decisions,
        vec![(
            12_000,
            switch(LIVE, Level::Low, Cause::LowBitrate, Some(300))
        )]
    );
    // A recovery run is under way; the echo must not touch it.
    decide(&policy, &mut state, kbps(2500), start + ms(12_500));
    let before = state.clone();
    let echo = decide(&policy, &mut state, scene(Level::Low), start + ms(12_600));
    assert_eq!(echo, Decision::Nothing);
    assert_eq!(state, before);
    assert_eq!(state.scene(), Some(LOW));
    let rest = feed(
        &policy,
        &mut state,
        start,
        &samples(13_000, 17_000, kbps(2500)),
    );
    assert_eq!(
        rest,
        vec![(
            15_500,
            switch(LOW, Level::Live, Cause::Recovered, Some(2500))
        )]
    );
}

#[test]
fn nothing_is_decided_before_the_first_scene() {
    let policy = Policy::default();
    let start = Instant::now();
    let mut state = GuardState::default();
    let inputs = concat(vec![
        samples(0, 5_000, kbps(0)),
        samples(5_000, 10_000, no_publisher()),
        samples(10_000, 30_000, unreachable()),
        samples(30_000, 35_000, kbps(300)),
    ]);
    assert_eq!(feed(&policy, &mut state, start, &inputs), vec![]);
    assert_eq!(state.scene(), None);
}

#[test]
fn a_manual_scene_freezes_everything_even_offline_timeout() {
    let policy = Policy {
        offline_timeout: Some(Duration::from_secs(5)),
        ..Policy::default()
    };
    let start = Instant::now();
    let mut state = GuardState::default();
    let mut inputs = concat(vec![
        vec![(0, scene(Level::Offline)), (100, manual())],
        samples(0, 30_000, no_publisher()),
        vec![(30_000, manual())],
        samples(30_000, 40_000, kbps(2500)),
    ]);
    inputs.sort_by_key(|(t, _)| *t);
    assert_eq!(feed(&policy, &mut state, start, &inputs), vec![]);
}

#[test]
fn the_grace_after_live_does_not_hide_offline() {
    let policy = Policy::default();
    let start = Instant::now();
    let mut state = GuardState::default();
    let inputs = concat(vec![
        vec![(0, scene(Level::Live))],
        samples(0, 5_000, kbps(0)),
    ]);
    assert_eq!(
        feed(&policy, &mut state, start, &inputs),
        vec![(
            1_000,
            switch(LIVE, Level::Offline, Cause::ZeroBitrate, Some(0))
        )]
    );
}

#[test]
fn without_low_kbps_there_is_no_low_by_bitrate_but_rtt_still_counts() {
    let policy = Policy {
        low_kbps: None,
        ..Policy::default()
    };
    let start = Instant::now();
    let mut state = GuardState::default();
    let inputs = concat(vec![
        vec![(0, scene(Level::Live))],
        samples(0, 10_000, kbps(100)),
        samples(10_000, 15_000, kbps_rtt(100, 2600)),
        samples(15_000, 20_000, kbps(100)),
    ]);
    assert_eq!(
        feed(&policy, &mut state, start, &inputs),
        vec![
            (
                12_000,
                switch_rtt(LIVE, Level::Low, Cause::HighRtt, Some(100), Some(2600))
            ),
            // 100 kbps is LIVE when there is no LOW threshold: recover_kbps does not apply.
            (
                18_000,
                switch(LOW, Level::Live, Cause::Recovered, Some(100))
            ),
        ]
    );
}

#[test]
fn offline_thresholds_by_bitrate_and_rtt() {
    let policy = Policy {
        offline_kbps: Some(400),
        rtt_offline_ms: Some(5000),
        ..Policy::default()
    };
    let start = Instant::now();
    let mut state = GuardState::default();
    let inputs = concat(vec![
        vec![(0, scene(Level::Live))],
        samples(0, 5_000, kbps(2500)),
        samples(5_000, 10_000, kbps(399)),
        samples(10_000, 15_000, kbps(2500)),
        samples(15_000, 20_000, kbps_rtt(2500, 5000)),
    ]);
    assert_eq!(
        feed(&policy, &mut state, start, &inputs),
        vec![
            (
                6_000,
                switch(LIVE, Level::Offline, Cause::LowBitrate, Some(399))
            ),
            (
                10_000,
                switch(OFFLINE, Level::Live, Cause::Recovered, Some(2500))
            ),
            (
                16_000,
                switch_rtt(LIVE, Level::Offline, Cause::HighRtt, Some(2500), Some(5000))
            ),
        ]
    );
}

#[test]
fn from_offline_a_middling_bitrate_recovers_to_low_first() {
    let policy = Policy::default();
    let start = Instant::now();
    let mut state = GuardState::default();
    let inputs = concat(vec![
        vec![(0, scene(Level::Offline))],
        samples(0, 2_000, no_publisher()),
        samples(2_000, 4_000, kbps(1000)),
        samples(4_000, 10_000, kbps(2500)),
    ]);
    assert_eq!(
        feed(&policy, &mut state, start, &inputs),
        vec![
            // On the second LOW sample: the first after a loss may be a blend.
            (
                2_500,
                switch(OFFLINE, Level::Low, Cause::Recovered, Some(1000))
            ),
            (
                7_000,
                switch(LOW, Level::Live, Cause::Recovered, Some(2500))
            ),
        ]
    );
}

#[test]
fn zero_windows_switch_on_the_first_qualifying_sample() {
    let policy = Policy {
        degrade_after: Duration::ZERO,
        offline_after: Duration::ZERO,
        recover_after: Duration::ZERO,
        live_grace: Duration::ZERO,
        ..Policy::default()
    };
    let start = Instant::now();
    let mut state = GuardState::default();
    let inputs = vec![
        (0, scene(Level::Live)),
        (0, kbps(300)),
        (500, kbps(1300)),
        (1_000, kbps(0)),
        (1_500, kbps(1000)),
    ];
    assert_eq!(
        feed(&policy, &mut state, start, &inputs),
        vec![
            (0, switch(LIVE, Level::Low, Cause::LowBitrate, Some(300))),
            (500, switch(LOW, Level::Live, Cause::Recovered, Some(1300))),
            (
                1_000,
                switch(LIVE, Level::Offline, Cause::ZeroBitrate, Some(0))
            ),
            (
                1_500,
                switch(OFFLINE, Level::Low, Cause::Recovered, Some(1000))
            ),
        ]
    );
}

#[test]
fn a_failing_page_in_its_grace_neither_breaks_nor_completes_a_run() {
    let policy = Policy::default();
    let start = Instant::now();
    let mut state = GuardState::default();
    let inputs = vec![
        (0, scene(Level::Live)),
        (5_000, kbps(2500)),
        (10_000, kbps(300)),
        (10_500, unreachable()),
        (11_000, unreachable()),
        (11_500, unreachable()),
        // The LOW window is full now, but this sample says nothing: no switch.
        (12_000, unreachable()),
        // The run from 10 s was not broken: LOW at once.
        (12_500, kbps(300)),
    ];
    assert_eq!(
        feed(&policy, &mut state, start, &inputs),
        vec![(
            12_500,
            switch(LIVE, Level::Low, Cause::LowBitrate, Some(300))
        )]
    );
}

#[test]
fn offline_timeout_asks_again_only_after_offline_is_reentered() {
    let policy = Policy {
        offline_timeout: Some(Duration::from_secs(10)),
        ..Policy::default()
    };
    let start = Instant::now();
    let mut state = GuardState::default();
    let stop = Decision::StopStream {
        reason: Reason {
            cause: Cause::OfflineTimeout,
            bitrate_kbps: Some(0),
            rtt_ms: None,
        },
    };
    let inputs = concat(vec![
        vec![(0, scene(Level::Offline))],
        samples(0, 20_000, kbps(0)),
        samples(20_000, 21_000, kbps(2500)),
        samples(21_000, 40_000, kbps(0)),
    ]);
    assert_eq!(
        feed(&policy, &mut state, start, &inputs),
        vec![
            (10_000, stop.clone()),
            (
                20_000,
                switch(OFFLINE, Level::Live, Cause::Recovered, Some(2500))
            ),
            (
                22_000,
                switch(LIVE, Level::Offline, Cause::ZeroBitrate, Some(0))
            ),
            (32_000, stop),
        ]
    );
}

#[test]
fn offline_timeout_waits_for_a_sample_that_is_still_offline() {
    let policy = Policy {
        offline_timeout: Some(Duration::from_secs(10)),
        instant_recover_from_offline: false,
        ..Policy::default()
    };
    let start = Instant::now();
    let mut state = GuardState::default();
    let inputs = concat(vec![
        vec![(0, scene(Level::Offline))],
        samples(0, 9_000, no_publisher()),
        // The publisher is back (recovery under way) when the timeout passes: no stop.
        samples(9_000, 11_000, kbps(2500)),
        // A failing page in its grace says nothing either.
        samples(11_000, 12_000, unreachable()),
        samples(12_000, 13_000, no_publisher()),
    ]);
    assert_eq!(
        feed(&policy, &mut state, start, &inputs),
        vec![(
            12_000,
            Decision::StopStream {
                reason: Reason {
                    cause: Cause::OfflineTimeout,
                    bitrate_kbps: None,
                    rtt_ms: None,
                },
            }
        )]
    );
}

#[test]
fn instant_recovery_only_after_a_real_outage() {
    let policy = Policy::default();
    // Gone for 2 s (OFFLINE at 11 s): no good sample for 2.5 s < recover_after, so LIVE only
    // after 3 s of good ones. Gone for 4 s: LIVE on the first good sample.
    for (gone_ms, live_at) in [(2_000, 15_000), (4_000, 14_000)] {
        let inputs = concat(vec![
            vec![(0, scene(Level::Live))],
            samples(0, 10_000, kbps(2500)),
            samples(10_000, 10_000 + gone_ms, no_publisher()),
            samples(10_000 + gone_ms, 20_000, kbps(2500)),
        ]);
        let mut state = GuardState::default();
        let decisions = feed(&policy, &mut state, Instant::now(), &inputs);
        assert_eq!(
            decisions[1],
            (
                live_at,
                switch(OFFLINE, Level::Live, Cause::Recovered, Some(2500))
            ),
            "gone for {gone_ms} ms"
        );
    }
}

/// The switches the default policy makes on `inputs`, as (time, level); any other decision
/// fails the test.
fn switches(inputs: &[(u64, Input)]) -> Vec<(u64, Level)> {
    let policy = Policy::default();
    feed(&policy, &mut GuardState::default(), Instant::now(), inputs)
        .into_iter()
        .map(|(at, decision)| match decision {
            Decision::Switch { to, .. } => (at, to),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn a_blended_first_sample_after_a_short_loss_does_not_detour_through_low() {
    let inputs = concat(vec![
        vec![(0, scene(Level::Live))],
        samples(0, 10_000, kbps(2500)),
        // 2 s at 0 kbps: OFFLINE at 11 s, too short an outage for an instant recovery.
        samples(10_000, 12_000, kbps(0)),
        // The first sample back is a blend of silence and stream (LOW from OFFLINE), the next
        // ones are good: the LOW window fills first, but a LIVE run is under way.
        vec![(12_000, kbps(1000))],
        samples(12_500, 20_000, kbps(2500)),
    ]);
    let decisions = switches(&inputs);
    assert_eq!(
        decisions,
        vec![(11_000, Level::Offline), (15_500, Level::Live)]
    );
}

#[test]
fn an_instant_recovery_that_does_not_hold_makes_the_next_one_wait() {
    let inputs = concat(vec![
        vec![(0, scene(Level::Live))],
        samples(0, 10_000, kbps(2500)),
        // A real outage: OFFLINE at 11 s, LIVE at once at 15 s…
        samples(10_000, 15_000, no_publisher()),
        samples(15_000, 16_000, kbps(2500)),
        // …which does not hold: gone again (OFFLINE at 17 s, LIVE lasted 2 s < 3 s).
        samples(16_000, 21_000, no_publisher()),
        // Another 5 s outage, but the last recovery failed: LIVE only after 3 s of good.
        samples(21_000, 30_000, kbps(2500)),
    ]);
    let decisions = switches(&inputs);
    assert_eq!(
        decisions,
        vec![
            (11_000, Level::Offline),
            (15_000, Level::Live),
            (17_000, Level::Offline),
            (24_000, Level::Live),
        ]
    );
}

#[test]
fn recover_kbps_below_low_kbps_is_raised_to_low_kbps() {
    let policy = Policy {
        recover_kbps: 500,
        ..Policy::default()
    };
    let start = Instant::now();
    let mut state = GuardState::default();
    let inputs = concat(vec![
        vec![(0, scene(Level::Low))],
        samples(0, 30_000, kbps(700)),
    ]);
    assert_eq!(feed(&policy, &mut state, start, &inputs), vec![]);
}

#[test]
fn a_new_owned_scene_resets_the_runs() {
    let policy = Policy::default();
    let start = Instant::now();
    let mut state = GuardState::default();
    let inputs = vec![
        (0, scene(Level::Low)),
        (0, kbps(2500)),
        (2_000, kbps(2500)),
        // Someone picks OFFLINE by hand, then LOW again: the recovery run starts over.
        (2_100, scene(Level::Offline)),
        (2_200, scene(Level::Low)),
        (2_500, kbps(2500)),
        (3_000, kbps(2500)),
        (5_000, kbps(2500)),
        (5_500, kbps(2500)),
    ];
    assert_eq!(
        feed(&policy, &mut state, start, &inputs),
        vec![(
            5_500,
            switch(LOW, Level::Live, Cause::Recovered, Some(2500))
        )]
    );
}

#[test]
fn the_unreachable_reason_carries_the_error_text() {
    let policy = Policy {
        unreachable_grace: Duration::ZERO,
        degrade_after: Duration::ZERO,
        offline_after: Duration::ZERO,
        ..Policy::default()
    };
    let error = StatsError::Http {
        url: "http://ingest/stat".into(),
        status: 502,
    };
    let mut state = GuardState::default();
    let now = Instant::now();
    decide(&policy, &mut state, scene(Level::Live), now);
    let decision = decide(
        &policy,
        &mut state,
        Input::Sample(IngestStats::Unreachable(error)),
        now + ms(3_500),
    );
    assert_eq!(
        decision,
        switch(
            LIVE,
            Level::Offline,
            Cause::Unreachable("http://ingest/stat answered HTTP 502".into()),
            None
        )
    );
}

#[test]
fn time_going_backwards_neither_panics_nor_switches_early() {
    let policy = Policy::default();
    let start = Instant::now() + Duration::from_secs(100);
    let mut state = GuardState::default();
    let back = |s: u64| start.checked_sub(Duration::from_secs(s)).unwrap_or(start);
    decide(&policy, &mut state, scene(Level::Live), start);
    for s in 0..20 {
        let decision = decide(&policy, &mut state, kbps(300), back(s));
        assert_eq!(decision, Decision::Nothing, "at -{s} s");
    }
    for s in 0..20 {
        decide(&policy, &mut state, unreachable(), back(s));
        decide(&policy, &mut state, scene(Level::Offline), back(s));
    }
}

// ---- properties ----

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        1 => Just(Duration::ZERO),
        4 => (1u64..6_000).prop_map(Duration::from_millis),
    ]
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        (
            proptest::option::of(1u32..3_000),
            0u32..2_000,
            proptest::option::of(0u32..1_000),
            proptest::option::of(100u32..5_000),
            proptest::option::of(100u32..10_000),
        ),
        (
            duration(),
            duration(),
            duration(),
            any::<bool>(),
            duration(),
            duration(),
            proptest::option::of(duration()),
        ),
    )
        .prop_map(
            |(
                (low_kbps, extra, offline_kbps, rtt_low_ms, rtt_offline_ms),
                (
                    degrade_after,
                    offline_after,
                    recover_after,
                    instant_recover_from_offline,
                    live_grace,
                    unreachable_grace,
                    offline_timeout,
                ),
            )| Policy {
                low_kbps,
                recover_kbps: low_kbps.unwrap_or(0) + extra,
                offline_kbps,
                rtt_low_ms,
                rtt_offline_ms,
                degrade_after,
                offline_after,
                recover_after,
                instant_recover_from_offline,
                live_grace,
                unreachable_grace,
                offline_timeout,
            },
        )
}

fn error() -> impl Strategy<Value = StatsError> {
    prop_oneof![
        Just(stats_error()),
        (400u16..600).prop_map(|status| StatsError::Http {
            url: "http://x/stat".into(),
            status
        }),
        ".{0,20}".prop_map(|reason| StatsError::Unreachable {
            url: "http://x".into(),
            reason
        }),
    ]
}

fn owned_scene() -> impl Strategy<Value = Option<OwnedScene>> {
    prop_oneof![
        Just(None),
        Just(Some(OwnedScene::Starting)),
        Just(Some(LIVE)),
        Just(Some(LOW)),
        Just(Some(OFFLINE)),
    ]
}

fn input() -> impl Strategy<Value = Input> {
    let bitrate = prop_oneof![
        Just(0u32),
        0u32..3_000,
        Just(799),
        Just(800),
        Just(1_200),
        any::<u32>()
    ];
    let rtt = proptest::option::of(prop_oneof![0u32..6_000, any::<u32>()]);
    prop_oneof![
        12 => (bitrate, rtt).prop_map(|(bitrate, rtt)| Input::Sample(IngestStats::Live {
            bitrate: commands::Kbps(bitrate),
            rtt: rtt.map(commands::Millis),
        })),
        2 => Just(no_publisher()),
        3 => error().prop_map(|e| Input::Sample(IngestStats::Unreachable(e))),
        1 => owned_scene().prop_map(Input::Scene),
    ]
}

fn inputs() -> impl Strategy<Value = Vec<(u64, Input)>> {
    proptest::collection::vec(
        (
            prop_oneof![Just(0u64), 1u64..1_500, 1_500u64..20_000],
            input(),
        ),
        0..300,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Never panics; decides nothing without an owned scene; every switch leaves the scene the
    /// guard assumes; two switches (or a scene change and a switch) are at least the window of
    /// the second apart unless that window is zero or the recovery is instant — which implies
    /// the no-flap property with min(degrade_after, offline_after, recover_after); LIVE is not
    /// left for LOW within `live_grace`; the starting scene is left only for LIVE;
    /// StopStream only after `offline_timeout` at OFFLINE, once per stay.
    #[test]
    fn never_panics_never_flaps_never_overrides(
        policy in policy(),
        inputs in inputs(),
        echo in any::<bool>(),
    ) {
        let start = Instant::now();
        let mut now = start;
        let mut state = GuardState::default();
        // What OBS shows, as the test sees it (scene inputs and switches).
        let mut current: Option<OwnedScene> = None;
        // The last switch or scene change, and when the current scene was entered.
        let mut last_change: Option<Instant> = None;
        let mut entered = start;
        let mut stopped = false;
        let mut last_switch: Option<Instant> = None;
        let mut scene_since_switch = false;
        let instant = policy.instant_recover_from_offline;

        for (delta, input) in inputs {
            now += Duration::from_millis(delta);
            let decision = decide(&policy, &mut state, input.clone(), now);
            match (&input, decision) {
                (Input::Scene(scene), decision) => {
                    prop_assert_eq!(decision, Decision::Nothing);
                    if scene.is_none() || *scene != current {
                        current = *scene;
                        last_change = Some(now);
                        entered = now;
                        stopped = false;
                        scene_since_switch = true;
                    }
                }
                (Input::Sample(_), Decision::Nothing) => {}
                (Input::Sample(_), Decision::Switch { from, to, .. }) => {
                    let Some(scene) = current else {
                        return Err(TestCaseError::fail("switch without an owned scene"));
                    };
                    prop_assert_eq!(from, scene);
                    prop_assert_ne!(OwnedScene::Level(to), scene);
                    let since = last_change.expect("an owned scene was entered");
                    let gap = now.saturating_duration_since(since);
                    match scene {
                        OwnedScene::Starting => {
                            prop_assert_eq!(to, Level::Live);
                            if !instant {
                                prop_assert!(gap >= policy.recover_after);
                            }
                        }
                        OwnedScene::Level(level) if to > level => {
                            let window = degrade_window(&policy, to);
                            prop_assert!(gap >= window, "degrade after {gap:?}");
                            if level == Level::Live && to == Level::Low {
                                prop_assert!(now.saturating_duration_since(entered) >= policy.live_grace);
                            }
                        }
                        OwnedScene::Level(level) => {
                            // (When an instant recovery may happen: the IRL properties below.)
                            if !(instant && level == Level::Offline) {
                                prop_assert!(gap >= policy.recover_after, "recover after {gap:?}");
                            }
                        }
                    }
                    // The no-flap property as stated.
                    if let Some(previous) = last_switch {
                        let window = policy
                            .degrade_after
                            .min(policy.offline_after)
                            .min(policy.recover_after);
                        let instant_recovery = instant
                            && matches!(scene, OwnedScene::Starting | OwnedScene::Level(Level::Offline));
                        if !scene_since_switch && !window.is_zero() && !instant_recovery {
                            prop_assert!(now.saturating_duration_since(previous) >= window);
                        }
                    }
                    current = Some(OwnedScene::Level(to));
                    last_change = Some(now);
                    last_switch = Some(now);
                    scene_since_switch = false;
                    entered = now;
                    stopped = false;
                    if echo {
                        let answer = decide(&policy, &mut state, scene_input(to), now);
                        prop_assert_eq!(answer, Decision::Nothing);
                    }
                }
                (Input::Sample(_), Decision::StopStream { reason }) => {
                    prop_assert_eq!(current, Some(OFFLINE));
                    prop_assert!(!stopped, "a second StopStream in one stay");
                    let timeout = policy.offline_timeout.expect("a timeout is set");
                    prop_assert!(now.saturating_duration_since(entered) >= timeout);
                    prop_assert_eq!(reason.cause, Cause::OfflineTimeout);
                    stopped = true;
                }
            }
        }
    }
}

fn scene_input(level: Level) -> Input {
    Input::Scene(Some(OwnedScene::Level(level)))
}

// ---- properties on realistic IRL traces (tests/support/src/irl.rs) ----
//
// The whole chain in simulated time: a link in 50 ms slots, nginx-rtmp's byte counter, the
// poller at the default 250 ms (a random phase), the real `Meter`, `sample_time` and `decide`
// with the default policy. Dips and drops jitter by ±50 kbps and never reach 0 (a total loss
// is its own rule: OFFLINE within 1.5 s).

mod irl_properties {
    use super::irl::{Builder, Contender, Outcome, Server, simulate};
    use proptest::prelude::*;
    use stream_control::guard::decide::Level;

    const SLOT: u64 = super::irl::SLOT_MS;
    /// Where `build` starts (ms): the grace after LIVE is over by then.
    const LEAD_MS: u64 = 8_000;

    /// Good for [`LEAD_MS`], then `build`, then good for 12 s.
    fn run(seed: u64, phase: f64, build: impl FnOnce(&mut Builder)) -> Outcome {
        let mut b = Builder::new("property", seed);
        b.good(LEAD_MS);
        build(&mut b);
        b.good(12_000);
        simulate(
            &b.finish(),
            Server::NginxRtmp,
            &Contender::default_policy(),
            phase,
        )
    }

    /// (duration in slots, depth in kbps) of a dip shorter than 2 s, and the good gap after it.
    fn dip() -> impl Strategy<Value = (u64, f64, u64)> {
        (6u64..40, 60.0f64..700.0, 20u64..200)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

        /// Dips shorter than 2 s (0.3–1.95 s, to 60–700 kbps, at least 1 s apart) never
        /// switch: the guard stays LIVE throughout.
        #[test]
        fn dips_shorter_than_2s_never_leave_live(
            seed in any::<u64>(),
            phase in 0.0f64..1.0,
            dips in proptest::collection::vec(dip(), 1..8),
        ) {
            let outcome = run(seed, phase, |b| {
                for (slots, kbps, gap) in &dips {
                    b.hiccup_of(slots * SLOT, *kbps);
                    b.good(gap * SLOT);
                }
            });
            prop_assert_eq!(outcome.switches, vec![]);
        }

        /// A drop held for 2.5 s or more (to 60–700 kbps) has LOW asked for within 2.5 s of its
        /// start, and nothing before it; LIVE once the link is good again for `recover_after`.
        #[test]
        fn a_drop_held_for_2_5s_is_low_within_2_5s(
            seed in any::<u64>(),
            phase in 0.0f64..1.0,
            slots in 50u64..200,
            kbps in 60.0f64..700.0,
        ) {
            let outcome = run(seed, phase, |b| b.drop_of(slots * SLOT, kbps));
            let first = outcome.switches.first().copied();
            prop_assert!(
                matches!(first, Some((at, Level::Low)) if (LEAD_MS..=LEAD_MS + 2_500).contains(&at)),
                "switches {:?}", outcome.switches
            );
            prop_assert_eq!(outcome.switches.len(), 2, "LOW, then LIVE: {:?}", outcome.switches);
            prop_assert_eq!(outcome.switches[1].1, Level::Live);
        }

        /// A total loss (nobody publishing, or 0 kbps) of 1.55 s or more is OFFLINE within 1.5 s.
        /// (Not one of exactly 1.5 s: a 0 kbps sample needs its whole poll interval inside the
        /// loss, so in the worst phase the first is at +0.5 s, and the one at +1.5 s, which
        /// completes the 1 s window, is read up to 30 ms later.)
        #[test]
        fn a_total_loss_is_offline_within_1_5s(
            seed in any::<u64>(),
            phase in 0.0f64..1.0,
            slots in 31u64..200,
            gone in any::<bool>(),
        ) {
            let outcome = run(seed, phase, |b| b.loss_of(slots * SLOT, gone));
            let first = outcome.switches.first().copied();
            prop_assert!(
                matches!(first, Some((at, Level::Offline)) if (LEAD_MS..=LEAD_MS + 1_500).contains(&at)),
                "switches {:?}", outcome.switches
            );
        }

        /// After a drop, a link that alternates 1–2 s good and 1–2 s bad never returns to
        /// LIVE until it holds: LOW once, LIVE once, after the flapping ends.
        #[test]
        fn a_flapping_recovery_never_returns_to_live_until_it_holds(
            seed in any::<u64>(),
            phase in 0.0f64..1.0,
            drop in 60u64..120,
            phases in proptest::collection::vec((20u64..=40, 20u64..=40, 60.0f64..700.0), 3..12),
        ) {
            let mut end = 0;
            let outcome = run(seed, phase, |b| {
                b.drop_of(drop * SLOT, 300.0);
                for (good, bad, kbps) in &phases {
                    b.good_as(good * SLOT, Level::Low);
                    b.bad(bad * SLOT, *kbps, Level::Low);
                }
                end = b.now_ms();
            });
            let levels: Vec<Level> = outcome.switches.iter().map(|(_, l)| *l).collect();
            prop_assert_eq!(levels, vec![Level::Low, Level::Live], "{:?}", outcome.switches);
            prop_assert!(outcome.switches[1].0 >= end, "LIVE at {:?}, the flapping ended at {end}", outcome.switches[1]);
        }

        /// A publisher that comes and goes every 1–2 s never brings LIVE back until it holds:
        /// OFFLINE at most once (gaps of about 1 s may show as less than `offline_after` of
        /// OFFLINE samples and are ridden out), no LIVE before the loop ends, LIVE after it.
        #[test]
        fn a_reconnect_loop_never_returns_to_live_until_it_holds(
            seed in any::<u64>(),
            phase in 0.0f64..1.0,
            phases in proptest::collection::vec((20u64..=40, 20u64..=40), 3..12),
        ) {
            let mut end = 0;
            let outcome = run(seed, phase, |b| {
                for (gone, back) in &phases {
                    b.gone(gone * SLOT, Level::Offline);
                    b.good_as(back * SLOT, Level::Offline);
                }
                end = b.now_ms();
            });
            let switches = &outcome.switches;
            let offline = switches.iter().filter(|(_, l)| *l == Level::Offline).count();
            prop_assert!(offline <= 1, "{switches:?}");
            prop_assert!(
                switches.iter().all(|(at, l)| *l != Level::Live || *at >= end),
                "LIVE before the loop ended at {end}: {switches:?}"
            );
            prop_assert_eq!(outcome.shown.last().copied(), Some(Level::Live), "{:?}", switches);
        }
    }
}
