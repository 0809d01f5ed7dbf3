//! Detection latency on a real nginx-rtmp: ffmpeg drops from 2500 kbps to 300 kbps; how long
//! until the guard's `SetCurrentProgramScene(LOW)` reaches the (fake) OBS. Default policy
//! (0.5 s polls of the stat page, `bytes_in` deltas, LOW after 1 s below 800 kbps).
//!
//! The drop time is when ffmpeg (`-re`, realtime) starts sending the low clip: its start plus
//! the high clip's length. ffmpeg's own start-up delays the real drop a little, so the figures
//! err on the slow side. Run: `cargo bench --bench detection_latency` (needs nginx,
//! libnginx-mod-rtmp and ffmpeg).

mod common;

#[path = "../tests/support/fake_obs.rs"]
mod fake_obs;
#[path = "../tests/support/nginx.rs"]
mod nginx;
#[path = "../tests/support/mod.rs"]
mod support;

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
    let mut latencies = Vec::new();
    for run in 0..RUNS {
        let latency = runtime.block_on(one_drop(&nginx, &high, &low, run));
        println!("run {run}: {:.2} s", latency.as_secs_f64());
        latencies.push(latency);
    }
    latencies.sort();
    let secs = |d: Duration| d.as_secs_f64();
    let mean = latencies.iter().map(|d| secs(*d)).sum::<f64>() / latencies.len() as f64;
    println!();
    println!("| drops | min | median | mean | max |");
    println!("|---|---|---|---|---|");
    println!(
        "| {} | {:.2} s | {:.2} s | {:.2} s | {:.2} s |",
        latencies.len(),
        secs(latencies[0]),
        secs(latencies[latencies.len() / 2]),
        mean,
        secs(latencies[latencies.len() - 1])
    );
}

async fn one_drop(
    nginx: &nginx::Nginx,
    high: &std::path::Path,
    low: &std::path::Path,
    run: usize,
) -> Duration {
    let stream = format!("bench{run}");
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
    let latency = switch
        .received
        .into_std()
        .saturating_duration_since(drop_at);
    let _ = ffmpeg.kill();
    let _ = ffmpeg.wait();
    app.shutdown(Duration::from_secs(5)).await;
    latency
}
