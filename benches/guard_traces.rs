//! The guard's trace set under three policies side by side, and the cost of one `decide` call.
//!
//! `cargo bench --bench guard_traces` prints Markdown to stdout:
//! 1. reaction time per expected transition (from the event in the trace to the decision);
//! 2. false switches per trace (switches in traces that should have none, and extra ones);
//! 3. nanoseconds per `decide` call (median of 5 runs of ~1M calls).
//!
//! The policies:
//! - **default**: `Policy::default()`.
//! - **seed-like**: the Python seed's guard (2 samples below 800 at 1 s polls ≈ `degrade_after`
//!   1 s; a single sample ≥ 2000 recovers ≈ `recover_after` 0; 3 s grace after LIVE; no RTT).
//!   The seed has no OFFLINE level: a failed fetch, no publisher and 0 kbps all read as 0 kbps
//!   and go to LOW. Emulated by mapping those samples to a 1 kbps sample (LOW, never OFFLINE:
//!   `decide` always treats 0 kbps as OFFLINE) and with `unreachable_grace` 0. The seed does
//!   nothing on the starting scene, so that scene is mapped to an unowned one. An expected
//!   OFFLINE transition counts as met by a switch to LOW (shown as "(LOW)").
//! - **NOALBS-like**: `retryAttempts` 5 at 1 s polls ≈ `degrade_after` and `recover_after` 5 s;
//!   low 800 with no hysteresis (`recover_kbps` = 800); RTT 2500 (its default trigger);
//!   `instantlySwitchOnRecover`; no grace after LIVE and none for a failing stats page
//!   (NOALBS #125). Its per-server 0-kbps quirks (#147/#120) are not emulated.
//!
//! Each trace's own tweak (e.g. `offline_timeout` 30 s) is applied to all three policies. Every
//! switch is echoed at once as a scene input, as the guard loop does. A decision matches an
//! expected transition when it is the first one of that kind at or after the event (and after
//! the previous match); every other decision is a false switch.

#[path = "../tests/support/traces.rs"]
mod traces;

use commands::Kbps;
use std::hint::black_box;
use std::time::Duration;
use stream_control::guard::decide::{
    Decision, GuardState, Input, Level, OwnedScene, Policy, decide,
};
use stream_control::guard::stats::IngestStats;
use traces::{Outcome, Trace};

/// Calls per timing run.
const CALLS: usize = 1_000_000;
/// Timing runs per policy (the median is reported).
const RUNS: usize = 5;

struct Contender {
    name: &'static str,
    policy: Policy,
    /// Turns a trace input into what this guard would see.
    map: fn(Input) -> Input,
    /// No OFFLINE level: an expected OFFLINE is met by LOW.
    offline_as_low: bool,
}

fn identity(input: Input) -> Input {
    input
}

/// The seed reads every failure, a missing publisher and 0 kbps as "0 kbps", which only ever
/// means LOW; it ignores RTT and automates nothing on the starting scene.
fn seed_view(input: Input) -> Input {
    match input {
        Input::Sample(IngestStats::Live { bitrate, .. }) if bitrate.0 > 0 => {
            Input::Sample(IngestStats::Live { bitrate, rtt: None })
        }
        Input::Sample(_) => Input::Sample(IngestStats::Live {
            bitrate: Kbps(1),
            rtt: None,
        }),
        Input::Scene(Some(OwnedScene::Starting)) => Input::Scene(None),
        scene => scene,
    }
}

fn contenders() -> Vec<Contender> {
    let seed = Policy {
        low_kbps: Some(800),
        recover_kbps: 2000,
        offline_kbps: None,
        rtt_low_ms: None,
        rtt_offline_ms: None,
        degrade_after: Duration::from_secs(1),
        recover_after: Duration::ZERO,
        instant_recover_from_offline: true,
        live_grace: Duration::from_secs(3),
        unreachable_grace: Duration::ZERO,
        offline_timeout: None,
    };
    let noalbs = Policy {
        low_kbps: Some(800),
        recover_kbps: 800,
        offline_kbps: None,
        rtt_low_ms: Some(2500),
        rtt_offline_ms: None,
        degrade_after: Duration::from_secs(5),
        recover_after: Duration::from_secs(5),
        instant_recover_from_offline: true,
        live_grace: Duration::ZERO,
        unreachable_grace: Duration::ZERO,
        offline_timeout: None,
    };
    vec![
        Contender {
            name: "default",
            policy: Policy::default(),
            map: identity,
            offline_as_low: false,
        },
        Contender {
            name: "seed-like",
            policy: seed,
            map: seed_view,
            offline_as_low: true,
        },
        Contender {
            name: "NOALBS-like",
            policy: noalbs,
            map: identity,
            offline_as_low: false,
        },
    ]
}

fn outcome(decision: &Decision) -> Option<Outcome> {
    match decision {
        Decision::Nothing => None,
        Decision::Switch { to, .. } => Some(Outcome::Switch(*to)),
        Decision::StopStream { .. } => Some(Outcome::Stop),
    }
}

fn label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Switch(Level::Live) => "LIVE",
        Outcome::Switch(Level::Low) => "LOW",
        Outcome::Switch(Level::Offline) => "OFFLINE",
        Outcome::Stop => "stop",
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// One trace under one contender: the cell per expected transition, and the false switches.
struct Outcomes {
    reactions: Vec<String>,
    false_switches: Vec<String>,
}

fn evaluate(trace: &Trace, contender: &Contender) -> Outcomes {
    let policy = trace.with(contender.policy.clone());
    let inputs: Vec<_> = trace
        .inputs
        .iter()
        .map(|(at, input)| (*at, (contender.map)(input.clone())))
        .collect();
    // The loop echoes each switch; the trace's scripted echoes assume the default's switches.
    let decisions = traces::run_echoing(&policy, &inputs);
    let mut used = vec![false; decisions.len()];
    let mut next = 0;
    let mut reactions = Vec::new();
    for transition in &trace.transitions {
        let found = (next..decisions.len()).find(|&i| {
            let (at, decision) = &decisions[i];
            let got = outcome(decision);
            *at >= transition.at
                && (got == Some(transition.outcome)
                    || (contender.offline_as_low
                        && transition.outcome == Outcome::Switch(Level::Offline)
                        && got == Some(Outcome::Switch(Level::Low))))
        });
        match found {
            Some(i) => {
                used[i] = true;
                next = i + 1;
                let (at, decision) = &decisions[i];
                let mut cell = secs(at.saturating_sub(transition.at));
                let got = outcome(decision);
                if got != Some(transition.outcome) {
                    cell.push_str(&format!(" ({})", got.map_or("?", label)));
                }
                reactions.push(cell);
            }
            None => reactions.push("missed".into()),
        }
    }
    let false_switches = decisions
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .filter_map(|((at, decision), _)| {
            outcome(decision).map(|o| format!("{}@{:.1}", label(o), at.as_secs_f64()))
        })
        .collect();
    Outcomes {
        reactions,
        false_switches,
    }
}

/// ~`CALLS` inputs: the whole trace set, repeated, on one increasing timeline.
fn timing_inputs(
    all: &[Trace],
    map: fn(Input) -> Input,
    start: tokio::time::Instant,
) -> Vec<(tokio::time::Instant, Input)> {
    let mut out = Vec::with_capacity(CALLS + 4096);
    let mut base = Duration::ZERO;
    while out.len() < CALLS {
        for trace in all {
            let mut end = Duration::ZERO;
            for (at, input) in &trace.inputs {
                out.push((start + base + *at, map(input.clone())));
                end = end.max(*at);
            }
            base += end + Duration::from_secs(1);
        }
    }
    out.truncate(CALLS);
    out
}

fn ns_per_call(all: &[Trace], contender: &Contender) -> f64 {
    let mut runs: Vec<f64> = (0..RUNS)
        .map(|_| {
            let inputs = timing_inputs(all, contender.map, tokio::time::Instant::now());
            let calls = inputs.len();
            let mut state = GuardState::default();
            let clock = std::time::Instant::now();
            for (at, input) in inputs {
                black_box(decide(
                    black_box(&contender.policy),
                    &mut state,
                    black_box(input),
                    at,
                ));
            }
            clock.elapsed().as_nanos() as f64 / calls as f64
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[RUNS / 2]
}

fn main() {
    let clock = std::time::Instant::now();
    let all = traces::all();
    let contenders = contenders();
    let results: Vec<Vec<Outcomes>> = all
        .iter()
        .map(|trace| contenders.iter().map(|c| evaluate(trace, c)).collect())
        .collect();

    println!("# Guard traces\n");
    println!("Samples every 500 ms. Policies: see the header of `benches/guard_traces.rs`.\n");
    println!("## Reaction time per transition (event → decision)\n");
    print!("| trace | event | expected |");
    for c in &contenders {
        print!(" {} |", c.name);
    }
    println!();
    print!("|---|---|---|");
    for _ in &contenders {
        print!("---|");
    }
    println!();
    for (trace, outcomes) in all.iter().zip(&results) {
        if trace.transitions.is_empty() {
            print!("| {} | (none expected) | no switch |", trace.name);
            for o in outcomes {
                let cell = match o.false_switches.len() {
                    0 => "no switch".to_string(),
                    1 => "1 switch".to_string(),
                    n => format!("{n} switches"),
                };
                print!(" {cell} |");
            }
            println!();
            continue;
        }
        for (i, transition) in trace.transitions.iter().enumerate() {
            print!(
                "| {} | {} @{:.1} s | → {} |",
                trace.name,
                transition.event,
                transition.at.as_secs_f64(),
                label(transition.outcome)
            );
            for o in outcomes {
                print!(" {} |", o.reactions[i]);
            }
            println!();
        }
    }

    println!("\n## False switches (unexpected or extra decisions)\n");
    print!("| trace |");
    for c in &contenders {
        print!(" {} |", c.name);
    }
    println!();
    print!("|---|");
    for _ in &contenders {
        print!("---|");
    }
    println!();
    let mut totals = vec![0usize; contenders.len()];
    let mut missed = vec![0usize; contenders.len()];
    for (trace, outcomes) in all.iter().zip(&results) {
        print!("| {} |", trace.name);
        for (i, o) in outcomes.iter().enumerate() {
            totals[i] += o.false_switches.len();
            missed[i] += o.reactions.iter().filter(|r| *r == "missed").count();
            if o.false_switches.is_empty() {
                print!(" 0 |");
            } else {
                print!(
                    " {} ({}) |",
                    o.false_switches.len(),
                    o.false_switches.join(", ")
                );
            }
        }
        println!();
    }
    print!("| **total false** |");
    for t in &totals {
        print!(" **{t}** |");
    }
    println!();
    print!("| **total missed** |");
    for m in &missed {
        print!(" **{m}** |");
    }
    println!();

    println!(
        "\n## Cost of `decide` (median of {RUNS} runs of {CALLS} calls, this build profile)\n"
    );
    println!("| policy | ns per call |");
    println!("|---|---|");
    for c in &contenders {
        println!("| {} | {:.1} |", c.name, ns_per_call(&all, c));
    }
    println!("\n(bench ran in {:.1} s)", clock.elapsed().as_secs_f64());
}
