//! The bot against a real OBS Studio: Debian 12's obs-studio (OBS 29.0.2, obs-websocket 5.1.0,
//! so the compat client) headless under Xvfb (`tests/support/src/real_obs.rs`), with a real
//! nginx-rtmp as its ingest and ffmpeg as the IRL feed. What OBS shows is read from OBS's own
//! events by a second client, not from the bot. Run alone with
//! `cargo test --locked --test it -- real_obs::`. Needs obs-studio, xvfb, nginx,
//! libnginx-mod-rtmp and ffmpeg (`bash tests/run.sh` installs them); fails loudly without them.

use stream_control_test_support as support;

use commands::Permission;
use std::sync::Arc;
use std::time::Duration;
use stream_control::app::{App, Context, RunOptions};
use stream_control::dispatch::{Invoker, Surface};
use stream_control::secrets::{Redactor, Secrets};
use stream_control::status::ObsConnection;
use support::nginx::{Nginx, encode_clip, publish};
use support::real_obs::{RealObs, SCENES, SceneWatcher, request};
use tokio::time::timeout;

/// Generous: a loaded CI machine starts OBS and x264 slowly.
const WAIT: Duration = Duration::from_secs(30);

fn obs_section(obs: &RealObs, extra: &str) -> String {
    format!(
        r#"obs: (port: {}, reconnect_min: "100ms", reconnect_max: "1s", request_timeout: "5s",
                scenes: (live: "LIVE", low: "LOW", brb: "BRB", offline: "OFFLINE",
                         starting: Some("Starting")),
                stop: (ending_delay: "0s", confirm_timeout: "20s"), {extra})"#,
        obs.port
    )
}

/// OBS and the guard on nginx's `publish/test`.
fn with_guard(obs: &RealObs, nginx: &Nginx) -> String {
    format!(
        r#"({},
            guard: (servers: [(name: "nginx", kind: NginxRtmp(url: "{}", application: "publish", stream: "test"))]))"#,
        obs_section(obs, ""),
        nginx.stat_url()
    )
}

async fn wait_connection(ctx: &Context, want: impl Fn(&ObsConnection) -> bool) {
    let mut status = ctx.status.subscribe();
    let reached = timeout(
        WAIT,
        status.wait_for(|s| s.obs.as_ref().is_some_and(|o| want(&o.connection))),
    )
    .await;
    assert!(
        reached.is_ok(),
        "OBS connection state not reached: {:?}",
        ctx.status.borrow().obs
    );
}

async fn say(ctx: &Arc<Context>, line: &str) -> String {
    let admin = Invoker {
        surface: Surface::Console,
        user_id: "console".into(),
        display_name: "console".into(),
        permission: Permission::Broadcaster,
    };
    let (reply, _) = timeout(WAIT * 2, support::command(ctx, line, admin))
        .await
        .unwrap_or_else(|_| panic!("{line}: no reply in time"));
    ctx.render("en-US", &reply)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_password_connects_in_compatibility_mode_and_a_wrong_one_is_refused() {
    let obs = blocking(|| RealObs::start(None)).await;
    let ctx = support::context(&format!("({})", obs_section(&obs, "")));
    let app = App::start(ctx.clone(), RunOptions::default());
    wait_connection(&ctx, |c| *c == ObsConnection::Connected).await;
    {
        let status = ctx.status.borrow();
        let o = status.obs.as_ref().unwrap();
        assert_eq!(o.version.as_deref(), Some("29.0.2"), "{o:?}");
        assert_eq!(o.websocket_version.as_deref(), Some("5.1.0"));
        assert!(o.compatibility);
        assert_eq!(o.scenes, SCENES);
        assert_eq!(o.scene.as_deref(), Some("LIVE"));
    }
    assert!(app.shutdown(Duration::from_secs(5)).await);

    let config = support::test_config(&format!("({})", obs_section(&obs, "")));
    let secrets =
        Secrets::from_lookup(|name| (name == "OBS_PASSWORD").then(|| "not-the-password".into()));
    let ctx = Context::new(config, secrets, Redactor::default()).unwrap();
    let app = App::start(ctx.clone(), RunOptions::default());
    wait_connection(&ctx, |c| *c == ObsConnection::AuthenticationFailed).await;
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scene_commands_switch_the_real_obs_as_its_own_events_show() {
    let obs = blocking(|| RealObs::start(None)).await;
    let mut watcher = SceneWatcher::connect(obs.port, &obs.password).await;
    let ctx = support::context(&format!("({})", obs_section(&obs, "")));
    let app = App::start(ctx.clone(), RunOptions::default());
    wait_connection(&ctx, |c| *c == ObsConnection::Connected).await;
    for (line, scene) in [
        ("!brb", "BRB"),
        ("!scene low", "LOW"),
        ("!live", "LIVE"),
        ("!starting", "Starting"),
    ] {
        let answer = say(&ctx, line).await;
        assert_eq!(
            watcher.next(WAIT).await.as_deref(),
            Some(scene),
            "{line}: {answer}"
        );
    }
    // Already there: nothing is switched.
    say(&ctx, "!starting").await;
    assert_eq!(watcher.taken(), Vec::<String>::new());
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

/// `mute`/`unmute` and `source` against obs-websocket 5.1's own answers (no UUIDs, the compat
/// client): a media source created in LIVE has audio and is a scene item there; a color source
/// has no audio. What OBS did is asked of OBS by a client of our own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mute_and_source_change_the_real_obs() {
    let obs = blocking(|| RealObs::start(None)).await;
    for (name, kind) in [("Clip", "ffmpeg_source"), ("Card", "color_source_v3")] {
        let created = request(
            &obs,
            "CreateInput",
            serde_json::json!({"sceneName": "LIVE", "inputName": name, "inputKind": kind,
                               "inputSettings": {}, "sceneItemEnabled": true}),
        )
        .await;
        assert_eq!(created["requestStatus"]["result"], true, "{created}");
    }
    let ctx = support::context(&format!(
        "({})",
        obs_section(
            &obs,
            r#"audio_inputs: ["Clip", "Card"], sources: [(name: "Clip", scene: Some("LIVE")), (name: "Card")]"#
        )
    ));
    let app = App::start(ctx.clone(), RunOptions::default());
    wait_connection(&ctx, |c| *c == ObsConnection::Connected).await;
    let muted = || async {
        request(
            &obs,
            "GetInputMute",
            serde_json::json!({"inputName": "Clip"}),
        )
        .await["responseData"]["inputMuted"]
            .clone()
    };
    assert_eq!(say(&ctx, "!mute clip").await, "Clip muted.");
    assert_eq!(muted().await, true);
    assert_eq!(say(&ctx, "!unmute Clip").await, "Clip unmuted.");
    assert_eq!(muted().await, false);
    // OBS's own refusal for an input without audio (604).
    assert_eq!(
        say(&ctx, "!mute card").await,
        "“Card” has no audio in OBS: check obs.audio_inputs in config.ron."
    );
    assert_eq!(say(&ctx, "!source clip hide").await, "Clip hidden in LIVE.");
    let item = request(
        &obs,
        "GetSceneItemId",
        serde_json::json!({"sceneName": "LIVE", "sourceName": "Clip"}),
    )
    .await["responseData"]["sceneItemId"]
        .clone();
    let enabled = || async {
        request(
            &obs,
            "GetSceneItemEnabled",
            serde_json::json!({"sceneName": "LIVE", "sceneItemId": item}),
        )
        .await["responseData"]["sceneItemEnabled"]
            .clone()
    };
    assert_eq!(enabled().await, false);
    assert_eq!(say(&ctx, "!source clip show").await, "Clip shown in LIVE.");
    assert_eq!(enabled().await, true);
    // In the program scene; BRB has no Card (OBS's 600).
    assert_eq!(say(&ctx, "!brb").await, "Switched to BRB.");
    assert_eq!(
        say(&ctx, "!source card hide").await,
        "The scene “BRB” has no source “Card”: check obs.sources in config.ron."
    );
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

/// Whether nginx's stat page lists a publisher on `application`.
async fn publishing(nginx_stat: &str, application: &str) -> bool {
    let page = support::http()
        .get(nginx_stat)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let Some(at) = page.find(&format!("<name>{application}</name>")) else {
        return false;
    };
    let rest = &page[at..];
    let end = rest.find("</application>").unwrap_or(rest.len());
    rest[..end].contains("<publishing/>")
}

async fn wait_publishing(nginx: &Nginx, application: &str, want: bool) {
    let stat = nginx.stat_url();
    let reached = timeout(WAIT, async {
        while publishing(&stat, application).await != want {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(
        reached.is_ok(),
        "nginx `{application}` publishing should be {want}:\n{}",
        nginx.error_log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_streams_into_nginx_rtmp_and_stop_is_confirmed() {
    let nginx = blocking(|| Nginx::start(&[("live", "")])).await;
    let ingest = format!("rtmp://127.0.0.1:{}/live", nginx.rtmp_port);
    let obs = blocking(move || RealObs::start(Some(&ingest))).await;
    let ctx = support::context(&format!("({})", obs_section(&obs, "")));
    let app = App::start(ctx.clone(), RunOptions::default());
    wait_connection(&ctx, |c| *c == ObsConnection::Connected).await;

    let answer = say(&ctx, "!start").await;
    assert!(
        answer.contains("Starting"),
        "started, then the starting scene: {answer}\n{:?}\n{}",
        ctx.status.borrow().obs,
        obs.log()
    );
    assert!(ctx.status.borrow().obs.as_ref().unwrap().streaming);
    wait_publishing(&nginx, "live", true).await;

    let answer = say(&ctx, "!stop").await;
    assert_eq!(answer, "Stream ended.");
    assert!(!ctx.status.borrow().obs.as_ref().unwrap().streaming);
    wait_publishing(&nginx, "live", false).await;
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obs_killed_and_restarted_five_times_is_reconnected_each_time_and_the_guard_resumes() {
    let nginx = blocking(|| Nginx::start(&[("publish", "")])).await;
    let mut obs = blocking(|| RealObs::start(None)).await;
    let ctx = support::context(&with_guard(&obs, &nginx));
    let app = App::start(ctx.clone(), RunOptions::default());
    let guard_idle = |ctx: &Arc<Context>, reason: &'static str| {
        let mut status = ctx.status.subscribe();
        async move {
            let reached = timeout(
                WAIT,
                status.wait_for(|s| {
                    s.guard
                        .as_ref()
                        .is_some_and(|g| g.idle_reason == Some(reason))
                }),
            )
            .await;
            assert!(reached.is_ok(), "guard not idle for {reason}");
        }
    };
    wait_connection(&ctx, |c| *c == ObsConnection::Connected).await;
    guard_idle(&ctx, "not_streaming").await;
    for round in 0..5 {
        obs = blocking(move || {
            obs.kill();
            obs
        })
        .await;
        wait_connection(&ctx, |c| *c != ObsConnection::Connected).await;
        guard_idle(&ctx, "obs_offline").await;
        obs = blocking(move || {
            obs.restart();
            obs
        })
        .await;
        wait_connection(&ctx, |c| *c == ObsConnection::Connected).await;
        // The guard watches the reconnected OBS again.
        guard_idle(&ctx, "not_streaming").await;
        let answer = say(&ctx, "!brb").await;
        assert!(answer.contains("BRB"), "round {round}: {answer}");
        say(&ctx, "!live").await;
    }
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

/// The whole chain for real: ffmpeg publishes the IRL feed to nginx-rtmp at 2500 kbps, then 300
/// kbps, then stops, then returns; the real OBS streams (from its starting scene); the guard
/// takes it LIVE → LOW → OFFLINE → LIVE, exactly those switches, as OBS's own events show.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_on_real_nginx_rtmp_switches_the_real_obs_live_low_offline_live() {
    let nginx = blocking(|| Nginx::start(&[("publish", ""), ("live", "")])).await;
    let clips = tempfile::tempdir().unwrap();
    let dir = clips.path().to_path_buf();
    let (high, low, again) = blocking(move || {
        (
            encode_clip(&dir, "high", 16, 2500),
            encode_clip(&dir, "low", 8, 300),
            encode_clip(&dir, "again", 30, 2500),
        )
    })
    .await;
    let feed = nginx.publish_url("publish", "test");
    let mut first = publish(&[&high, &low], &feed);
    let ingest = format!("rtmp://127.0.0.1:{}/live", nginx.rtmp_port);
    let obs = blocking(move || RealObs::start(Some(&ingest))).await;
    let ctx = support::context(&with_guard(&obs, &nginx));
    let app = App::start(ctx.clone(), RunOptions::default());
    wait_connection(&ctx, |c| *c == ObsConnection::Connected).await;
    let mut status = ctx.status.subscribe();
    timeout(
        WAIT,
        status.wait_for(|s| {
            s.guard
                .as_ref()
                .is_some_and(|g| g.servers[0].bitrate_kbps.is_some_and(|k| k > 1500))
        }),
    )
    .await
    .unwrap_or_else(|_| panic!("no bitrate from nginx: {:?}", ctx.status.borrow().guard))
    .unwrap();
    // Everything OBS shows from here on, as OBS says it.
    let mut watcher = SceneWatcher::connect(obs.port, &obs.password).await;
    let answer = say(&ctx, "!start").await;
    assert!(
        ctx.status.borrow().obs.as_ref().unwrap().streaming,
        "{answer}\n{}",
        obs.log()
    );
    assert_eq!(
        watcher.next(WAIT).await.as_deref(),
        Some("Starting"),
        "`!start`"
    );
    // The guard leaves the starting scene for LIVE once the feed was good for recover_after.
    assert_eq!(
        watcher.next(WAIT).await.as_deref(),
        Some("LIVE"),
        "the feed is good"
    );
    assert_eq!(
        watcher.next(WAIT).await.as_deref(),
        Some("LOW"),
        "300 kbps after 16 s"
    );
    let ended = blocking(move || first.wait()).await.unwrap();
    assert!(ended.success());
    assert_eq!(
        watcher.next(WAIT).await.as_deref(),
        Some("OFFLINE"),
        "the feed ended"
    );
    let mut second = publish(&[&again], &feed);
    assert_eq!(
        watcher.next(WAIT).await.as_deref(),
        Some("LIVE"),
        "the feed is back"
    );
    // Exactly those switches: nothing more within a few polls.
    assert_eq!(watcher.next(Duration::from_secs(3)).await, None);
    let _ = second.kill();
    let _ = second.wait();
    say(&ctx, "!stop").await;
    assert!(app.shutdown(Duration::from_secs(5)).await);
}
