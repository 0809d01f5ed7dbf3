//! The guard against a real nginx-rtmp, fed by ffmpeg: 2500 kbps, then 300 kbps, then the
//! publisher stops, then it returns. With the default policy the guard takes OBS (the fake)
//! LIVE → LOW → OFFLINE → LIVE, and switches nothing else. Needs nginx, libnginx-mod-rtmp and
//! ffmpeg (`bash tests/run.sh` installs them); fails loudly without them.

use stream_control_test_support as support;
use stream_control_test_support::fake_obs;

use fake_obs::{FakeObs, FakeObsOptions};
use std::time::Duration;
use stream_control::app::{App, RunOptions};
use stream_control_test_support::nginx;

use nginx::{Nginx, encode_clip, publish};
use tokio::time::timeout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_low_offline_live_on_real_nginx_rtmp() {
    let nginx = Nginx::start(&[("publish", "")]);
    let clips = tempfile::tempdir().unwrap();
    let high = encode_clip(clips.path(), "high", 12, 2500);
    let low = encode_clip(clips.path(), "low", 8, 300);
    let again = encode_clip(clips.path(), "again", 30, 2500);
    let url = nginx.publish_url("publish", "test");
    let mut first = publish(&[&high, &low], &url);

    let obs = FakeObs::start(FakeObsOptions {
        password: Some(support::fake_secret_values()["OBS_PASSWORD"].clone()),
        ..FakeObsOptions::default()
    })
    .await;
    let config = format!(
        r#"(obs: (port: {}),
            guard: (servers: [(name: "nginx", kind: NginxRtmp(url: "{}", application: "publish", stream: "test"))]))"#,
        obs.port(),
        nginx.stat_url()
    );
    let ctx = support::context(&config);
    let app = App::start(ctx.clone(), RunOptions::default());
    // OBS goes live once the ingest is there (only_when_streaming: nothing decided before).
    let mut status = ctx.status.subscribe();
    timeout(
        Duration::from_secs(20),
        status.wait_for(|s| {
            s.guard
                .as_ref()
                .is_some_and(|g| g.servers[0].bitrate_kbps.is_some_and(|k| k > 1500))
        }),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "no bitrate from nginx: {:?}\n{}",
            ctx.status.borrow().guard,
            nginx.error_log()
        )
    })
    .unwrap();
    let mark = obs.request_mark();
    obs.set_streaming(true);

    let switch = |expected: &'static str, within: Duration| {
        let obs = &obs;
        async move {
            let request = obs
                .wait_for_request_since(mark, "SetCurrentProgramScene", within)
                .await
                .unwrap_or_else(|| panic!("no switch to {expected}"));
            assert_eq!(request.data["sceneName"], expected);
        }
    };
    // 2500 kbps for 12 s, then 300 kbps.
    switch("LOW", Duration::from_secs(25)).await;
    // The publisher ends after the 8 s low clip.
    let ended = tokio::task::spawn_blocking(move || first.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(ended.success());
    let wait_scene = |scene: &'static str| {
        let obs = &obs;
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
            loop {
                let seen: Vec<String> = obs
                    .requests()
                    .into_iter()
                    .skip(mark)
                    .filter(|r| r.request_type == "SetCurrentProgramScene")
                    .map(|r| r.data["sceneName"].as_str().unwrap().to_string())
                    .collect();
                if seen.last().map(String::as_str) == Some(scene) {
                    return seen;
                }
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                assert!(!left.is_zero(), "no switch to {scene}; saw {seen:?}");
                obs.wait_for_request("SetCurrentProgramScene", left).await;
            }
        }
    };
    wait_scene("OFFLINE").await;
    let mut second = publish(&[&again], &url);
    let seen = wait_scene("LIVE").await;
    assert_eq!(
        seen,
        ["LOW", "OFFLINE", "LIVE"],
        "exactly these switches, no flapping"
    );
    let _ = second.kill();
    let _ = second.wait();
    assert!(app.shutdown(Duration::from_secs(5)).await);
}
