// The OBS behaviour cases, included twice by `obs.rs`: once per obs-websocket generation.
// `WEBSOCKET_VERSION` and `OBS_VERSION` come from the including module.

use stream_control_test_support as support;
use stream_control_test_support::fake_obs;

use commands::Permission;
use fake_obs::{FakeObs, FakeObsOptions};
use std::sync::Arc;
use std::time::Duration;
use stream_control::app::{App, Context, RunOptions};
use stream_control::dispatch::{self, Invocation, Invoker, Surface};
use stream_control::status::{Event, ObsConnection, RaidOutcome};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

fn password() -> String {
    support::fake_secret_values()["OBS_PASSWORD"].clone()
}

/// The simulator as this module's OBS: its versions, the tests' password.
async fn start_fake(options: FakeObsOptions) -> FakeObs {
    FakeObs::start(FakeObsOptions {
        password: Some(password()),
        obs_version: OBS_VERSION.into(),
        websocket_version: WEBSOCKET_VERSION.into(),
        ..options
    })
    .await
}

/// Whether this module's obs-websocket is spoken by the compat client.
fn compatibility() -> bool {
    !WEBSOCKET_VERSION.starts_with("5.5")
}

/// The app connected to `fake`, with `extra` appended inside the `obs` section.
async fn connected(fake: &FakeObs, extra: &str) -> (App, Arc<Context>) {
    let config = format!(
        r#"(obs: (port: {}, reconnect_min: "100ms", reconnect_max: "500ms", request_timeout: "2s",
                 stop: (ending_delay: "50ms", confirm_timeout: "2s"), {extra}),
            commands: (cooldowns: (command: "0s", user: "0s")))"#,
        fake.port()
    );
    let ctx = support::context(&config);
    let app = App::start(ctx.clone(), RunOptions::default());
    wait_connection(&ctx, |c| *c == ObsConnection::Connected).await;
    (app, ctx)
}

async fn wait_connection(ctx: &Context, want: impl Fn(&ObsConnection) -> bool) {
    let mut status = ctx.status.subscribe();
    let waited = timeout(
        WAIT,
        status.wait_for(|s| s.obs.as_ref().is_some_and(|o| want(&o.connection))),
    )
    .await;
    assert!(
        waited.is_ok(),
        "OBS connection state not reached: {:?}",
        ctx.status.borrow().obs
    );
}

/// Run a chat line as a moderator (or the broadcaster for admin commands) and render the reply.
async fn say(ctx: &Arc<Context>, line: &str) -> String {
    let command = dispatch::parse_line(&ctx.config.commands, line)
        .expect("a command")
        .expect("well-formed");
    let invocation = Invocation {
        command,
        invoker: Invoker {
            surface: Surface::Twitch,
            user_id: "1".into(),
            display_name: "mod".into(),
            permission: Permission::Broadcaster,
        },
        locale: "en-US".into(),
        reply_to: None,
        progress: stream_control::dispatch::Progress::none(),
    };
    let reply = timeout(WAIT, dispatch::dispatch(ctx, invocation))
        .await
        .expect("a reply in time");
    ctx.render("en-US", &reply)
}

fn scene_requests(fake: &FakeObs, since: usize) -> Vec<String> {
    fake.requests()
        .into_iter()
        .skip(since)
        .filter(|r| r.request_type == "SetCurrentProgramScene")
        .map(|r| r.data["sceneName"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn count(fake: &FakeObs, request_type: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.request_type == request_type)
        .count()
}

#[tokio::test]
async fn status_mirrors_obs_from_the_first_read_and_from_events() {
    let fake = start_fake(FakeObsOptions::default()).await;
    let (app, ctx) = connected(&fake, "").await;
    {
        let status = ctx.status.borrow();
        let obs = status.obs.as_ref().unwrap();
        assert_eq!(obs.version.as_deref(), Some(OBS_VERSION));
        assert_eq!(obs.websocket_version.as_deref(), Some(WEBSOCKET_VERSION));
        assert_eq!(obs.compatibility, compatibility());
        assert_eq!(obs.scene.as_deref(), Some("LIVE"));
        let mut scenes = obs.scenes.clone();
        scenes.sort();
        assert_eq!(scenes, ["BRB", "LIVE", "LOW", "OFFLINE", "Starting soon"]);
        assert!(!obs.streaming);
    }
    let mut status = ctx.status.subscribe();
    fake.set_scene("BRB");
    timeout(
        WAIT,
        status.wait_for(|s| s.obs.as_ref().unwrap().scene.as_deref() == Some("BRB")),
    )
    .await
    .unwrap()
    .unwrap();
    fake.set_streaming(true);
    timeout(WAIT, status.wait_for(|s| s.obs.as_ref().unwrap().streaming))
        .await
        .unwrap()
        .unwrap();
    fake.add_scene("Camera 2");
    timeout(
        WAIT,
        status.wait_for(|s| {
            s.obs
                .as_ref()
                .unwrap()
                .scenes
                .iter()
                .any(|n| n == "Camera 2")
        }),
    )
    .await
    .unwrap()
    .unwrap();
    // Outgoing bitrate from outputBytes deltas, read every 5 s: two reads while streaming, up
    // to 10 s after the stream started, so a bound with room for a loaded CI machine.
    timeout(
        Duration::from_secs(30),
        status.wait_for(|s| {
            s.obs
                .as_ref()
                .unwrap()
                .outgoing_kbps
                .is_some_and(|k| k > 1000)
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn scene_commands_switch_and_answer() {
    let fake = start_fake(FakeObsOptions::default()).await;
    let (app, ctx) = connected(&fake, "").await;
    assert_eq!(say(&ctx, "!brb").await, "Switched to BRB.");
    assert_eq!(fake.current_scene(), "BRB");
    let mut status = ctx.status.subscribe();
    timeout(
        WAIT,
        status.wait_for(|s| s.obs.as_ref().unwrap().scene.as_deref() == Some("BRB")),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(say(&ctx, "!brb").await, "Already on BRB.");
    assert_eq!(say(&ctx, "!live").await, "Switched to LIVE.");
    assert_eq!(
        say(&ctx, "!scene start").await,
        "Switched to Starting soon."
    );
    assert_eq!(say(&ctx, "!scene ofline").await, "Switched to OFFLINE.");
    let ambiguous = say(&ctx, "!scene o").await;
    assert!(
        ambiguous.starts_with("“o” matches several scenes:"),
        "{ambiguous}"
    );
    let missing = say(&ctx, "!scene kitchen").await;
    assert!(
        missing.starts_with("There is no scene “kitchen”. Closest:"),
        "{missing}"
    );
    assert_eq!(say(&ctx, "!starting").await, "Switched to Starting soon.");
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn start_is_confirmed_then_shows_the_starting_scene() {
    let fake = start_fake(FakeObsOptions::default()).await;
    let (app, ctx) = connected(&fake, "").await;
    assert_eq!(
        say(&ctx, "!start").await,
        "Stream started; showing Starting soon."
    );
    assert!(fake.is_streaming());
    assert_eq!(fake.current_scene(), "Starting soon");
    assert_eq!(say(&ctx, "!start").await, "The stream is already live.");
    assert_eq!(count(&fake, "StartStream"), 1);
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn a_start_whose_output_fails_is_reported_not_trusted() {
    let fake = start_fake(FakeObsOptions::default()).await;
    fake.fail_stream_after_start(true);
    let (app, ctx) = connected(&fake, "").await;
    assert_eq!(
        say(&ctx, "!start").await,
        "OBS started the stream, but the output stopped again: is the ingest server up?"
    );
    assert!(!fake.is_streaming());
    assert_eq!(
        fake.current_scene(),
        "LIVE",
        "no starting scene for a failed start"
    );
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn stop_shows_the_ending_scene_then_stops_confirmed_then_offline() {
    let fake = start_fake(FakeObsOptions {
        streaming: true,
        ..FakeObsOptions::default()
    })
    .await;
    let (app, ctx) = connected(&fake, r#"scenes: (ending: Some("BRB"))"#).await;
    let mark = fake.request_mark();
    assert_eq!(say(&ctx, "!stop").await, "Stream ended.");
    assert!(!fake.is_streaming());
    assert_eq!(scene_requests(&fake, mark), ["BRB", "OFFLINE"]);
    let order: Vec<String> = fake
        .requests()
        .into_iter()
        .skip(mark)
        .map(|r| r.request_type)
        .filter(|t| t == "SetCurrentProgramScene" || t == "StopStream")
        .collect();
    assert_eq!(
        order,
        [
            "SetCurrentProgramScene",
            "StopStream",
            "SetCurrentProgramScene"
        ]
    );
    assert_eq!(say(&ctx, "!stop").await, "The stream is not live.");
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn a_stop_obs_does_not_carry_out_is_reported() {
    let fake = start_fake(FakeObsOptions {
        streaming: true,
        ..FakeObsOptions::default()
    })
    .await;
    fake.ignore_stop(true);
    let (app, ctx) = connected(&fake, "").await;
    assert_eq!(
        say(&ctx, "!stop").await,
        "OBS did not confirm within 2 s that the stream stopped: check OBS."
    );
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn a_stop_interrupted_by_a_disconnect_is_retried_after_the_reconnect() {
    let fake = start_fake(FakeObsOptions {
        streaming: true,
        ..FakeObsOptions::default()
    })
    .await;
    fake.ignore_stop(true);
    let (app, ctx) = connected(&fake, "").await;
    let mark = fake.request_mark();
    let stopping = tokio::spawn({
        let ctx = ctx.clone();
        async move { say(&ctx, "!stop").await }
    });
    fake.wait_for_request_since(mark, "StopStream", WAIT)
        .await
        .expect("a StopStream");
    // The socket dies before OBS confirms; after the reconnect OBS still streams.
    fake.ignore_stop(false);
    fake.drop_connections();
    assert_eq!(stopping.await.unwrap(), "Stream ended.");
    assert!(!fake.is_streaming());
    assert_eq!(count(&fake, "StopStream"), 2);
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn commands_while_obs_is_away_answer_at_once() {
    let fake = start_fake(FakeObsOptions::default()).await;
    let (app, ctx) = connected(&fake, "").await;
    fake.shutdown().await;
    wait_connection(&ctx, |c| matches!(c, ObsConnection::Offline(_))).await;
    for line in [
        "!brb",
        "!scene LOW",
        "!start",
        "!stop",
        "!fix",
        "!record start",
    ] {
        let started = tokio::time::Instant::now();
        assert_eq!(say(&ctx, line).await, "OBS is not connected.", "{line}");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{line} must not wait for OBS"
        );
    }
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn a_wrong_password_is_diagnosed() {
    let fake = FakeObs::start(FakeObsOptions {
        password: Some("another password".into()),
        obs_version: OBS_VERSION.into(),
        websocket_version: WEBSOCKET_VERSION.into(),
        ..FakeObsOptions::default()
    })
    .await;
    let ctx = support::context(&format!(
        r#"(obs: (port: {}, reconnect_min: "100ms"))"#,
        fake.port()
    ));
    let app = App::start(ctx.clone(), RunOptions::default());
    wait_connection(&ctx, |c| *c == ObsConnection::AuthenticationFailed).await;
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

/// obs-websocket 4 (OBS before 28) speaks another protocol: named too old, with its version.
#[tokio::test]
async fn an_obs_websocket_before_5_is_named_too_old() {
    let fake = FakeObs::start(FakeObsOptions {
        password: Some(password()),
        obs_version: "27.2.4".into(),
        websocket_version: "4.9.1".into(),
        ..FakeObsOptions::default()
    })
    .await;
    let ctx = support::context(&format!(
        r#"(obs: (port: {}, reconnect_min: "100ms"))"#,
        fake.port()
    ));
    let app = App::start(ctx.clone(), RunOptions::default());
    wait_connection(&ctx, |c| matches!(c, ObsConnection::TooOld(_))).await;
    let connection = ctx.status.borrow().obs.as_ref().map(|o| o.connection.clone());
    assert_eq!(
        connection,
        Some(ObsConnection::TooOld("obs-websocket 4.9.1".into()))
    );
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn fix_restarts_media_sources_and_confirms_they_play() {
    let fake = start_fake(FakeObsOptions::default()).await;
    let (app, ctx) = connected(
        &fake,
        r#"fix: RestartMedia(sources: ["SRT Ingest"], confirm_timeout: "1s")"#,
    )
    .await;
    assert_eq!(
        say(&ctx, "!fix").await,
        "Restarted SRT Ingest: playing again."
    );
    assert_eq!(count(&fake, "TriggerMediaInputAction"), 1);
    fake.freeze_media(true);
    assert_eq!(
        say(&ctx, "!fix").await,
        "Restarted SRT Ingest, but SRT Ingest is not playing yet."
    );
    assert!(app.shutdown(Duration::from_secs(5)).await);
    let fake2 = fake_with_media(&[]).await;
    let (app, ctx) = connected(&fake2, r#"fix: RestartMedia(sources: ["Nope"])"#).await;
    assert_eq!(
        say(&ctx, "!fix").await,
        "OBS has no media source “Nope”: check obs.fix in config.ron."
    );
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

async fn fake_with_media(inputs: &[&str]) -> FakeObs {
    start_fake(FakeObsOptions {
        media_inputs: inputs.iter().map(|s| s.to_string()).collect(),
        ..FakeObsOptions::default()
    })
    .await
}

#[tokio::test]
async fn fix_bounce_and_refresh_switch_through_brb() {
    let fake = start_fake(FakeObsOptions::default()).await;
    let (app, ctx) = connected(&fake, r#"fix: Bounce(delay: "50ms"), refresh_hold: "50ms""#).await;
    let mark = fake.request_mark();
    assert_eq!(
        say(&ctx, "!fix").await,
        "Trying to fix: BRB, then back to LIVE."
    );
    assert_eq!(scene_requests(&fake, mark), ["BRB", "LIVE"]);
    let mut status = ctx.status.subscribe();
    fake.set_scene("LOW");
    timeout(
        WAIT,
        status.wait_for(|s| s.obs.as_ref().unwrap().scene.as_deref() == Some("LOW")),
    )
    .await
    .unwrap()
    .unwrap();
    let mark = fake.request_mark();
    assert_eq!(say(&ctx, "!refresh").await, "Refreshed: back on LOW.");
    assert_eq!(scene_requests(&fake, mark), ["BRB", "LOW"]);
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn raid_stop_ends_the_stream_once_and_announces_the_message() {
    let fake = start_fake(FakeObsOptions {
        streaming: true,
        ..FakeObsOptions::default()
    })
    .await;
    let (app, ctx) = connected(
        &fake,
        r#"raid_stop: (delay: "50ms", min_live: "0s", message: Some("Raided {channel}! See you next time."))"#,
    )
    .await;
    let obs = ctx.obs.clone().unwrap();
    let mut events = ctx.events.subscribe();
    assert_eq!(
        obs.stop_after_raid("coolfriend").await,
        RaidOutcome::Stopped
    );
    assert!(!fake.is_streaming());
    assert_eq!(fake.current_scene(), "OFFLINE");
    let message = loop {
        if let Event::RaidHandled {
            channel, message, ..
        } = events.recv().await.unwrap()
        {
            assert_eq!(channel, "coolfriend");
            break message;
        }
    };
    assert_eq!(
        message.as_deref(),
        Some("Raided coolfriend! See you next time.")
    );
    // A second raid event within 30 s changes nothing.
    fake.set_streaming(true);
    assert_eq!(
        obs.stop_after_raid("coolfriend").await,
        RaidOutcome::Duplicate
    );
    assert!(fake.is_streaming());
    assert_eq!(count(&fake, "StopStream"), 1);
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn raid_stop_respects_the_minimum_live_time_and_not_streaming() {
    let fake = start_fake(FakeObsOptions {
        streaming: true,
        ..FakeObsOptions::default()
    })
    .await;
    let (app, ctx) = connected(&fake, r#"raid_stop: (min_live: "1h")"#).await;
    let obs = ctx.obs.clone().unwrap();
    let mut status = ctx.status.subscribe();
    timeout(
        WAIT,
        status.wait_for(|s| s.obs.as_ref().unwrap().stream_uptime_secs.is_some()),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(obs.stop_after_raid("a").await, RaidOutcome::TooShort);
    assert!(fake.is_streaming());
    assert!(app.shutdown(Duration::from_secs(5)).await);

    let idle = fake_with_media(&[]).await; // not streaming
    let (app, ctx) = connected(&idle, r#"raid_stop: ()"#).await;
    assert_eq!(
        ctx.obs.clone().unwrap().stop_after_raid("a").await,
        RaidOutcome::NotStreaming
    );
    assert!(app.shutdown(Duration::from_secs(5)).await);

    let plain = start_fake(FakeObsOptions::default()).await;
    let (app, ctx) = connected(&plain, "").await;
    assert_eq!(
        ctx.obs.clone().unwrap().stop_after_raid("a").await,
        RaidOutcome::Disabled
    );
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn a_hundred_obs_restarts_reconnect_within_the_backoff_cap() {
    let mut obs_server = start_fake(FakeObsOptions::default()).await;
    let (app, ctx) = connected(&obs_server, "").await;
    let mut events = ctx.events.subscribe();
    // reconnect_max is 500 ms: each reconnect must come within that plus 1 s.
    let bound = Duration::from_millis(1500);
    for round in 0..100 {
        obs_server.restart().await;
        loop {
            match timeout(WAIT, events.recv())
                .await
                .expect("ObsLost")
                .unwrap()
            {
                Event::ObsLost { .. } => break,
                _ => continue,
            }
        }
        // In the gap a command is answered at once, never hangs.
        assert_eq!(
            say(&ctx, "!brb").await,
            "OBS is not connected.",
            "round {round}"
        );
        let connected = timeout(bound, async {
            loop {
                if let Event::ObsConnected { .. } = events.recv().await.unwrap() {
                    return;
                }
            }
        })
        .await;
        assert!(
            connected.is_ok(),
            "round {round}: no reconnect within {bound:?}"
        );
    }
    // And the connection works after all that.
    assert_eq!(say(&ctx, "!brb").await, "Switched to BRB.");
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

/// What was logged at warn and above while the guard of [`capture_warnings`] lives.
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Log warnings into a buffer. The tests' runtime is single-threaded: every task logs through
/// this subscriber while the guard lives.
fn capture_warnings() -> (Captured, tracing::subscriber::DefaultGuard) {
    use stream_control::config::LogConfig;
    use stream_control::logging::{Sink, subscriber};
    let buffer = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = subscriber(
        &LogConfig::default(),
        tracing_subscriber::EnvFilter::new("warn"),
        stream_control::secrets::Redactor::default(),
        Sink::Buffer(buffer.clone()),
    );
    (Captured(buffer), tracing::subscriber::set_default(log))
}

#[tokio::test]
async fn a_configured_scene_missing_in_obs_is_a_warning_naming_what_exists() {
    let (buffer, _guard) = capture_warnings();
    let fake = start_fake(FakeObsOptions::default()).await;
    let (app, _ctx) = connected(&fake, r#"scenes: (low: "Low bitrate")"#).await;
    assert!(app.shutdown(Duration::from_secs(5)).await);
    let text = buffer.text();
    assert!(
        text.contains("scenes named in config.ron do not exist in OBS"),
        "{text}"
    );
    assert!(text.contains("Low bitrate"), "{text}");
    assert!(
        text.contains("Starting soon") && text.contains("OFFLINE"),
        "lists the scenes that exist: {text}"
    );
}

/// The upload alerts of `obs.upload`, as the events carry them: (problem, active), a clear
/// because OBS went away marked `gone`.
fn upload_changes(events: &mut stream_control::status::Events) -> Vec<(&'static str, bool)> {
    let mut changes = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let Event::ObsUpload {
            problem,
            active,
            gone,
            ..
        } = event
        {
            changes.push((if gone { "gone" } else { problem.as_str() }, active));
        }
    }
    changes
}

/// Wait for `n` more readings of OBS's statistics to have been judged: the reading after
/// them has begun (one task reads and judges, in turn).
async fn stats_readings(fake: &FakeObs, n: usize) {
    for _ in 0..=n {
        let mark = fake.request_mark();
        assert!(
            fake.wait_for_request_since(mark, "GetStreamStatus", Duration::from_secs(60))
                .await
                .is_some(),
            "no statistics read"
        );
    }
}

/// Wait until the upload problems in Status are `want`.
async fn upload_problems(ctx: &Context, want: &[&str]) {
    let mut status = ctx.status.subscribe();
    let reached = timeout(
        Duration::from_secs(300),
        status.wait_for(|s| {
            let problems = s.obs.as_ref().map(|o| &o.upload_problems);
            problems.is_some_and(|p| p.iter().map(|p| p.as_str()).eq(want.iter().copied()))
        }),
    )
    .await;
    assert!(
        reached.is_ok(),
        "upload problems {want:?} not reached: {:?}",
        ctx.status.borrow().obs
    );
}

/// One upload alert end to end: `start` the condition in OBS, the alert is in force (OBS's
/// health a warning) after its time, `clear` the condition, it clears.
async fn upload_round(
    fake: &FakeObs,
    ctx: &Context,
    start: &dyn Fn(&FakeObs),
    clear: &dyn Fn(&FakeObs),
    problem: &'static str,
) {
    start(fake);
    upload_problems(ctx, &[problem]).await;
    assert_eq!(
        ctx.status.borrow().health().obs,
        stream_control::status::Level::Warn
    );
    stats_readings(fake, 2).await;
    clear(fake);
    upload_problems(ctx, &[]).await;
}

/// Each upload alert starts once when its condition has held for its time and clears once;
/// a blip shorter than its time is no alert. Paused time: OBS's statistics are read every 5 s.
#[tokio::test(start_paused = true)]
async fn upload_alerts_start_once_clear_once_and_a_blip_is_none() {
    use stream_control::status::Level;
    let fake = start_fake(FakeObsOptions {
        streaming: true,
        ..FakeObsOptions::default()
    })
    .await;
    let (app, ctx) = connected(
        &fake,
        r#"upload: (reconnecting_for: "10s", congestion: 0.5, congestion_for: "20s",
                    dropped_percent: 5.0, dropped_window: "20s", disk_low_mb: Some(1000))"#,
    )
    .await;
    let mut events = ctx.events.subscribe_notable();
    stats_readings(&fake, 2).await;

    // Blips: congestion and reconnecting seen in two readings 5 s apart at most (the reading
    // under way may already see the reconnecting event).
    fake.set_congestion(0.9);
    fake.set_reconnecting(true);
    stats_readings(&fake, 0).await;
    fake.set_congestion(0.1);
    fake.set_reconnecting(false);
    stats_readings(&fake, 6).await;
    assert_eq!(upload_changes(&mut events), []);
    assert_eq!(ctx.status.borrow().health().obs, Level::Ok);

    // Congestion held for 20 s, then low again for as long.
    let (fake, ctx) = (&fake, &ctx);
    let high = |f: &FakeObs| f.set_congestion(0.8);
    upload_round(fake, ctx, &high, &|f| f.set_congestion(0.0), "congestion").await;
    // The output reconnecting for 10 s, then reconnected.
    let lost = |f: &FakeObs| f.set_reconnecting(true);
    upload_round(fake, ctx, &lost, &|f| f.set_reconnecting(false), "reconnecting").await;
    // A tenth of the frames dropped over the window, then none.
    let drop = |f: &FakeObs| f.set_dropped_share(0.1);
    upload_round(fake, ctx, &drop, &|f| f.set_dropped_share(0.0), "dropped_frames").await;
    // The recording disk: low only while recording.
    fake.set_disk_space_mb(500.0);
    stats_readings(fake, 2).await;
    assert_eq!(
        upload_changes(&mut events),
        [
            ("congestion", true),
            ("congestion", false),
            ("reconnecting", true),
            ("reconnecting", false),
            ("dropped_frames", true),
            ("dropped_frames", false)
        ]
    );
    let record = |f: &FakeObs| f.set_recording(true);
    upload_round(fake, ctx, &record, &|f| f.set_disk_space_mb(20_000.0), "disk_low").await;
    assert_eq!(
        upload_changes(&mut events),
        [("disk_low", true), ("disk_low", false)]
    );

    // An alert in force when the stream stops clears with it, and so when OBS goes away.
    fake.set_congestion(1.0);
    upload_problems(ctx, &["congestion"]).await;
    fake.set_streaming(false);
    upload_problems(ctx, &[]).await;
    fake.set_congestion(0.0);
    fake.set_streaming(true);
    assert_eq!(
        upload_changes(&mut events),
        [("congestion", true), ("gone", false)]
    );
    fake.set_congestion(1.0);
    upload_problems(ctx, &["congestion"]).await;
    fake.drop_connections();
    upload_problems(ctx, &[]).await;
    assert_eq!(
        upload_changes(&mut events),
        [("congestion", true), ("gone", false)]
    );
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn configured_inputs_and_sources_obs_refuses_are_warnings_at_connect() {
    let (buffer, _guard) = capture_warnings();
    let fake = start_fake(FakeObsOptions::default()).await;
    let (app, _ctx) = connected(&fake, AUDIO_AND_SOURCES).await;
    assert!(app.shutdown(Duration::from_secs(5)).await);
    let text = buffer.text();
    let lines = |needle: &str| text.lines().filter(|l| l.contains(needle)).count();
    // Webcam has no audio, Ghost does not exist; Nowhere is not in BRB. SRT Ingest follows
    // the program scene (LIVE has it) and Mic/Aux is fine: no warning for them.
    assert_eq!(lines("an input in obs.audio_inputs cannot be muted"), 2, "{text}");
    assert!(text.contains("does not support audio") && text.contains("Ghost"), "{text}");
    assert_eq!(lines("a source in obs.sources is not in its scene"), 1, "{text}");
    assert!(text.contains("Nowhere"), "{text}");
    assert!(!text.contains("Mic/Aux") && !text.contains("SRT Ingest"), "{text}");
}

/// `obs` settings for the audio and source cases: two audio inputs OBS has, one input without
/// audio and one OBS lacks; a source in a fixed scene, one in the program scene, one in a scene
/// that lacks it. The simulator also has inputs and items nobody configured.
const AUDIO_AND_SOURCES: &str = r#"audio_inputs: ["Mic/Aux", "Desktop Audio", "Webcam", "Ghost"],
    sources: [(name: "Webcam", scene: Some("LIVE")), (name: "SRT Ingest"), (name: "Nowhere", scene: Some("BRB"))]"#;

fn sent(fake: &FakeObs, request_type: &str, since: usize) -> Vec<serde_json::Value> {
    fake.requests()
        .into_iter()
        .skip(since)
        .filter(|r| r.request_type == request_type)
        .map(|r| r.data)
        .collect()
}

#[tokio::test]
async fn mute_and_unmute_name_the_new_state_and_match_like_scene() {
    let fake = start_fake(FakeObsOptions::default()).await;
    let (app, ctx) = connected(&fake, AUDIO_AND_SOURCES).await;
    let mark = fake.request_mark();
    assert_eq!(say(&ctx, "!mute mic").await, "Mic/Aux muted.");
    assert_eq!(fake.input_muted("Mic/Aux"), Some(true));
    // By name in every version (5.0 to 5.2 have no UUIDs).
    assert_eq!(
        sent(&fake, "SetInputMute", mark),
        [serde_json::json!({"inputName": "Mic/Aux", "inputMuted": true})]
    );
    assert_eq!(say(&ctx, "!unmute MIC/AUX").await, "Mic/Aux unmuted.");
    assert_eq!(fake.input_muted("Mic/Aux"), Some(false));
    assert_eq!(say(&ctx, "!mute desktp audio").await, "Desktop Audio muted.");
    assert_eq!(fake.input_muted("Desktop Audio"), Some(true));
    let ambiguous = say(&ctx, "!mute a").await;
    assert!(
        ambiguous.starts_with("“a” matches several audio inputs:"),
        "{ambiguous}"
    );
    // OBS's answers: 604 for an input without audio, 600 for none.
    assert_eq!(
        say(&ctx, "!mute webcam").await,
        "“Webcam” has no audio in OBS: check obs.audio_inputs in config.ron."
    );
    assert_eq!(
        say(&ctx, "!unmute ghost").await,
        "OBS has no input “Ghost”: check obs.audio_inputs in config.ron."
    );
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn inputs_not_configured_are_unknown_and_never_named() {
    let fake = start_fake(FakeObsOptions::default()).await;
    let (app, ctx) = connected(&fake, r#"audio_inputs: ["Desktop Audio"]"#).await;
    let mark = fake.request_mark();
    // OBS has Mic/Aux and SRT Ingest (both with audio); neither is configured.
    // The answer echoes what was typed and lists only configured inputs.
    for input in ["Mic/Aux", "SRT Ingest"] {
        assert_eq!(
            say(&ctx, &format!("!mute {input}")).await,
            format!("There is no audio input “{input}”. Closest: Desktop Audio.")
        );
    }
    assert_eq!(fake.input_muted("Mic/Aux"), Some(false));
    assert_eq!(fake.input_muted("SRT Ingest"), Some(false));
    assert!(sent(&fake, "SetInputMute", mark).is_empty());
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn source_shows_and_hides_in_its_scene_or_the_program_scene() {
    let fake = start_fake(FakeObsOptions::default()).await;
    let (app, ctx) = connected(&fake, AUDIO_AND_SOURCES).await;
    let mark = fake.request_mark();
    assert_eq!(say(&ctx, "!source webcam hide").await, "Webcam hidden in LIVE.");
    assert_eq!(fake.scene_item_enabled("LIVE", "Webcam"), Some(false));
    let item = sent(&fake, "GetSceneItemId", mark);
    assert_eq!(
        item,
        [serde_json::json!({"sceneName": "LIVE", "sourceName": "Webcam"})]
    );
    let enabled = sent(&fake, "SetSceneItemEnabled", mark);
    assert_eq!(enabled[0]["sceneName"], "LIVE");
    assert_eq!(enabled[0]["sceneItemEnabled"], false);
    assert_eq!(say(&ctx, "!source Webcam SHOW").await, "Webcam shown in LIVE.");
    assert_eq!(fake.scene_item_enabled("LIVE", "Webcam"), Some(true));
    // Without a scene: the program scene of the moment.
    assert_eq!(
        say(&ctx, "!source srt hide").await,
        "SRT Ingest hidden in LIVE."
    );
    assert_eq!(fake.scene_item_enabled("LIVE", "SRT Ingest"), Some(false));
    fake.set_scene("BRB");
    assert_eq!(
        say(&ctx, "!source srt ingest show").await,
        "The scene “BRB” has no source “SRT Ingest”: check obs.sources in config.ron."
    );
    // A fixed scene stays the scene whatever is on program.
    assert_eq!(say(&ctx, "!source webcam hide").await, "Webcam hidden in LIVE.");
    assert_eq!(fake.scene_item_enabled("BRB", "Webcam"), Some(true));
    assert_eq!(
        say(&ctx, "!source nowhere show").await,
        "The scene “BRB” has no source “Nowhere”: check obs.sources in config.ron."
    );
    let ambiguous = say(&ctx, "!source e show").await;
    assert!(
        ambiguous.starts_with("“e” matches several sources:"),
        "{ambiguous}"
    );
    // Mic/Aux is an item in LIVE, but not a configured source.
    let unknown = say(&ctx, "!source Mic/Aux hide").await;
    assert!(
        unknown.starts_with("There is no source “Mic/Aux”. Closest:"),
        "{unknown}"
    );
    assert_eq!(fake.scene_item_enabled("LIVE", "Mic/Aux"), Some(true));
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn audio_and_sources_without_configuration_say_so_and_ask_nothing() {
    let fake = start_fake(FakeObsOptions::default()).await;
    let (app, ctx) = connected(&fake, "").await;
    let mark = fake.request_mark();
    assert_eq!(
        say(&ctx, "!mute Mic/Aux").await,
        "No audio input may be muted from here: list them in config.ron (obs.audio_inputs)."
    );
    assert_eq!(
        say(&ctx, "!source Webcam hide").await,
        "No source may be shown or hidden from here: list them in config.ron (obs.sources)."
    );
    assert_eq!(fake.request_mark(), mark, "{:?}", fake.requests());
    assert_eq!(fake.input_muted("Mic/Aux"), Some(false));
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn audio_and_sources_while_obs_is_away_answer_at_once() {
    let fake = start_fake(FakeObsOptions::default()).await;
    let (app, ctx) = connected(&fake, AUDIO_AND_SOURCES).await;
    fake.shutdown().await;
    wait_connection(&ctx, |c| matches!(c, ObsConnection::Offline(_))).await;
    for line in ["!mute mic", "!unmute mic", "!source webcam show"] {
        assert_eq!(say(&ctx, line).await, "OBS is not connected.", "{line}");
    }
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

/// The configured inputs' and sources' states in Status (what the panel labels its toggles with).
/// (name, muted) per input; (name, scene, visible) per source.
type AudioStates = Vec<(String, Option<bool>)>;
type SourceStates = Vec<(String, Option<String>, Option<bool>)>;

fn audio_and_sources(ctx: &Context) -> (AudioStates, SourceStates) {
    let status = ctx.status.borrow();
    let obs = status.obs.as_ref().unwrap();
    (
        obs.audio.iter().map(|a| (a.name.clone(), a.muted)).collect(),
        obs.sources
            .iter()
            .map(|s| (s.name.clone(), s.scene.clone(), s.visible))
            .collect(),
    )
}

async fn wait_status(ctx: &Context, what: &str, want: impl Fn(&stream_control::status::ObsStatus) -> bool) {
    let mut status = ctx.status.subscribe();
    let waited = timeout(
        WAIT,
        status.wait_for(|s| s.obs.as_ref().is_some_and(&want)),
    )
    .await;
    assert!(waited.is_ok(), "{what}: {:?}", ctx.status.borrow().obs);
}

#[tokio::test]
async fn status_follows_mute_and_visibility_from_obs_events() {
    let fake = start_fake(FakeObsOptions::default()).await;
    fake.set_input_muted("Desktop Audio", true).unwrap();
    let (app, ctx) = connected(&fake, AUDIO_AND_SOURCES).await;
    // Read at connect: unknown where OBS lacks the input or it has no audio.
    let s = |v: &str| v.to_string();
    assert_eq!(
        audio_and_sources(&ctx),
        (
            vec![
                (s("Mic/Aux"), Some(false)),
                (s("Desktop Audio"), Some(true)),
                (s("Webcam"), None),
                (s("Ghost"), None),
            ],
            vec![
                (s("Webcam"), Some(s("LIVE")), Some(true)),
                (s("SRT Ingest"), Some(s("LIVE")), Some(true)),
                (s("Nowhere"), Some(s("BRB")), None),
            ],
        )
    );
    // Changes made in OBS arrive as events.
    fake.set_input_muted("Mic/Aux", true).unwrap();
    wait_status(&ctx, "Mic/Aux muted", |o| o.audio[0].muted == Some(true)).await;
    fake.set_scene_item_enabled("LIVE", "Webcam", false).unwrap();
    wait_status(&ctx, "Webcam hidden", |o| o.sources[0].visible == Some(false)).await;
    // And so do the bot's own.
    say(&ctx, "!unmute mic").await;
    wait_status(&ctx, "Mic/Aux unmuted", |o| o.audio[0].muted == Some(false)).await;
    say(&ctx, "!source srt hide").await;
    wait_status(&ctx, "SRT Ingest hidden", |o| o.sources[1].visible == Some(false)).await;
    // A source without a scene of its own follows the program scene.
    fake.set_scene("BRB");
    wait_status(&ctx, "SRT Ingest looked for in BRB", |o| {
        o.sources[1].scene.as_deref() == Some("BRB") && o.sources[1].visible.is_none()
    })
    .await;
    fake.set_scene("LIVE");
    wait_status(&ctx, "SRT Ingest back in LIVE, still hidden", |o| {
        o.sources[1].scene.as_deref() == Some("LIVE") && o.sources[1].visible == Some(false)
    })
    .await;
    // A lost connection makes every state unknown.
    fake.shutdown().await;
    wait_connection(&ctx, |c| matches!(c, ObsConnection::Offline(_))).await;
    let (audio, sources) = audio_and_sources(&ctx);
    assert!(audio.iter().all(|(_, muted)| muted.is_none()), "{audio:?}");
    assert!(sources.iter().all(|(_, _, visible)| visible.is_none()), "{sources:?}");
    assert!(app.shutdown(Duration::from_secs(5)).await);
}
