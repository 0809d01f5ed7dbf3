//! Detection latency on a real nginx-rtmp: ffmpeg drops from 2500 kbps to 300 kbps; how long
//! until the guard's `SetCurrentProgramScene(LOW)` reaches the (fake) OBS. Default policy
//! (250 ms polls of the stat page, `bytes_in` deltas, LOW after 2 s below 800 kbps).
//!
//! The drop is dated two ways:
//! - **scheduled**: when ffmpeg (`-re`, realtime) should start sending the low clip: its start
//!   plus the high clip's length. ffmpeg's own start-up delays the real drop, so this errs on
//!   the slow side.
//! - **at the ingest**: the end of the last 100 ms in which nginx's `bytes_in` (read every
//!   20 ms by the bench) still grew faster than 1,500 kbps: where the guard can first see it.
//!   It errs by at most ~50 ms on the fast side (a window above 1,500 kbps is at least half
//!   high). The bench also prints ffmpeg's start-up (spawn → first bytes at nginx), which is
//!   what separates the two datings.
//!
//! Run: `cargo bench --bench detection_latency` (needs nginx, libnginx-mod-rtmp and ffmpeg).

mod common;

use stream_control_test_support as support;
use stream_control_test_support::fake_obs;
use stream_control_test_support::nginx;

use fake_obs::{FakeObs, FakeObsOptions};
use std::time::{Duration, Instant};
use stream_control::app::{App, RunOptions};

const RUNS: usize = 8;
const HIGH_SECS: u32 = 8;

fn main() {
    let runtime = common::runtime();
    let nginx = nginx::Nginx::start(&[("publish", "")]);
    let clips = tempfile::tempdir().unwrap();
    let high = nginx::encode_clip(clips.path(), "high", HIGH_SECS, 2500);
    let low = nginx::encode_clip(clips.path(), "low", 6, 300);
    let mut scheduled = Vec::new();
    let mut ingest = Vec::new();
    let mut startups = Vec::new();
    for run in 0..RUNS {
        let (from_schedule, from_ingest, startup) =
            runtime.block_on(one_drop(&nginx, &high, &low, run));
        println!(
            "run {run}: {:.2} s after the scheduled drop, {:.2} s after the drop at the ingest \
             (ffmpeg start-up {:.2} s)",
            from_schedule.as_secs_f64(),
            from_ingest.as_secs_f64(),
            startup.as_secs_f64()
        );
        scheduled.push(from_schedule);
        ingest.push(from_ingest);
        startups.push(startup);
    }
    println!();
    println!("| drop dated | drops | min | median | mean | max |");
    println!("|---|---|---|---|---|---|");
    for (label, mut latencies) in [
        ("scheduled (ffmpeg)", scheduled),
        ("at the ingest", ingest),
        ("(ffmpeg start-up)", startups),
    ] {
        latencies.sort();
        let secs = |d: Duration| d.as_secs_f64();
        let mean = latencies.iter().map(|d| secs(*d)).sum::<f64>() / latencies.len() as f64;
        println!(
            "| {label} | {} | {:.2} s | {:.2} s | {:.2} s | {:.2} s |",
            latencies.len(),
            secs(latencies[0]),
            secs(latencies[latencies.len() / 2]),
            mean,
            secs(latencies[latencies.len() - 1])
        );
    }
}

/// Reads the stream's `bytes_in` every 20 ms until `stop`, with when each answer came.
async fn watch_ingest(
    url: String,
    stream: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<(Instant, u64)> {
    let client = stream_control::guard::stats::client(&stream_control::tls::Tls::system());
    let mut seen = Vec::new();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        if let Ok(answer) = client.get(&url, Duration::from_secs(2)).await
            && let Ok(stream_control::guard::stats::Reading::Counter { bytes, .. }) =
                stream_control::guard::stats::nginx::parse(&answer.bytes, "publish", &stream)
        {
            seen.push((Instant::now(), bytes));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    seen
}

/// The end of the last 100 ms before `before` in which the counter grew faster than 1,500 kbps.
fn ingest_drop(seen: &[(Instant, u64)], before: Instant) -> Option<Instant> {
    let window = Duration::from_millis(100);
    let mut last_high = None;
    for (i, &(at, bytes)) in seen.iter().enumerate() {
        if at > before {
            break;
        }
        let Some(&(then, earlier)) = seen[..i]
            .iter()
            .rev()
            .find(|(t, _)| at.duration_since(*t) >= window)
        else {
            continue;
        };
        let kbps = (bytes.saturating_sub(earlier)) as f64 * 8.0
            / 1000.0
            / at.duration_since(then).as_secs_f64();
        if kbps > 1_500.0 {
            last_high = Some(at);
        }
    }
    last_high
}

async fn one_drop(
    nginx: &nginx::Nginx,
    high: &std::path::Path,
    low: &std::path::Path,
    run: usize,
) -> (Duration, Duration, Duration) {
    let stream = format!("bench{run}");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = tokio::spawn(watch_ingest(nginx.stat_url(), stream.clone(), stop.clone()));
    let started = Instant::now();
    let mut ffmpeg = nginx::publish(&[high, low], &nginx.publish_url("publish", &stream));
    let drop_at = started + Duration::from_secs(u64::from(HIGH_SECS));
    let obs = FakeObs::start(FakeObsOptions {
        password: Some(support::fake_secret_values()["OBS_PASSWORD"].clone()),
        streaming: true,
        ..FakeObsOptions::default()
    })
    .await;
    let config = format!(
        r#"(obs: (port: {}), guard: (servers: [(name: "nginx", kind: NginxRtmp(url: "{}", application: "publish", stream: "{stream}"))]))"#,
        obs.port(),
        nginx.stat_url()
    );
    let ctx = support::context(&config);
    // Vary where the drop falls between two polls.
    tokio::time::sleep(Duration::from_millis(31 * run as u64 % 250)).await;
    let app = App::start(ctx.clone(), RunOptions::default());
    let switch = obs
        .wait_for_request(
            "SetCurrentProgramScene",
            Duration::from_secs(u64::from(HIGH_SECS) + 10),
        )
        .await
        .expect("the guard switched");
    assert_eq!(
        switch.data["sceneName"], "LOW",
        "the first switch is to LOW"
    );
    let switched = switch.received.into_std();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = watcher.await.expect("the ingest watcher");
    let at_ingest = ingest_drop(&seen, switched).expect("nginx showed the high clip");
    let first_bytes = seen
        .iter()
        .find(|(_, bytes)| *bytes > 0)
        .expect("nginx counted bytes")
        .0;
    let _ = ffmpeg.kill();
    let _ = ffmpeg.wait();
    app.shutdown(Duration::from_secs(5)).await;
    (
        switched.saturating_duration_since(drop_at),
        switched.saturating_duration_since(at_ingest),
        first_bytes.saturating_duration_since(started),
    )
}
