//! The guard end to end: a stats server the test controls (SRT Live Server JSON on 127.0.0.1),
//! the fake OBS, and the app in between. Real sockets, so real time with short windows; every
//! wait is bounded and event-driven.

use stream_control_test_support as support;
use stream_control_test_support::fake_obs;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use commands::Permission;
use fake_obs::{FakeObs, FakeObsOptions};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stream_control::app::{App, Context, RunOptions};
use stream_control::dispatch::{self, Invocation, Invoker, Surface};
use stream_control::status::{Event, GuardTransition};
use tokio::sync::broadcast;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

/// What a fake stats endpoint answers.
#[derive(Clone, Debug)]
enum Answer {
    Live { kbps: u32, rtt: f64 },
    NoPublisher,
    Status(u16),
    Html,
}

/// SRT Live Server stats endpoints `/stats/<name>`, each answering what the test sets.
#[derive(Clone, Default)]
struct Stats {
    answers: Arc<Mutex<HashMap<String, Answer>>>,
    port: u16,
}

impl Stats {
    async fn start() -> Stats {
        let answers: Arc<Mutex<HashMap<String, Answer>>> = Arc::default();
        let app = Router::new()
            .route("/stats/{name}", get(answer))
            .with_state(answers.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Stats { answers, port }
    }

    fn set(&self, name: &str, answer: Answer) {
        self.answers.lock().unwrap().insert(name.into(), answer);
    }

    fn server(&self, name: &str) -> String {
        format!(
            r#"(name: "{name}", kind: SrtLiveServer(url: "http://127.0.0.1:{}/stats/{name}", publisher: Some("live/feed")), timeout: "1s")"#,
            self.port
        )
    }
}

async fn answer(
    State(answers): State<Arc<Mutex<HashMap<String, Answer>>>>,
    Path(name): Path<String>,
) -> axum::response::Response {
    let answer = answers
        .lock()
        .unwrap()
        .get(&name)
        .cloned()
        .unwrap_or(Answer::NoPublisher);
    match answer {
        Answer::Live { kbps, rtt } => format!(
            r#"{{"publishers": {{"live/feed": {{"bitrate": {kbps}, "rtt": {rtt}, "uptime": 10}}}}, "status": "ok"}}"#
        )
        .into_response(),
        Answer::NoPublisher => r#"{"publishers": {}, "status": "ok"}"#.into_response(),
        Answer::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Answer::Html => (
            [("content-type", "text/html")],
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
            .into_response(),
    }
}

struct Rig {
    stats: Stats,
    obs: FakeObs,
    app: App,
    ctx: Arc<Context>,
    events: stream_control::status::Events,
}

/// Stats `a` live at 2500 kbps, OBS streaming on LIVE, the guard with short windows.
async fn rig(servers: &[&str], guard_extra: &str, obs_options: FakeObsOptions) -> Rig {
    let stats = Stats::start().await;
    for name in servers {
        stats.set(
            name,
            Answer::Live {
                kbps: 2500,
                rtt: 40.0,
            },
        );
    }
    let obs = FakeObs::start(FakeObsOptions {
        password: Some(support::fake_secret_values()["OBS_PASSWORD"].clone()),
        ..obs_options
    })
    .await;
    let list: Vec<String> = servers.iter().map(|n| stats.server(n)).collect();
    let config = format!(
        r#"(obs: (port: {}, reconnect_min: "100ms"),
            guard: (poll_interval: "100ms", servers: [{}],
                    policy: (degrade_after: "300ms", offline_after: "300ms", recover_after: "600ms", live_grace: "0s", unreachable_grace: "500ms"),
                    {guard_extra}),
            commands: (cooldowns: (command: "0s", user: "0s")))"#,
        obs.port(),
        list.join(", ")
    );
    let ctx = support::context(&config);
    let events = ctx.events.subscribe();
    let app = App::start(ctx.clone(), RunOptions::default());
    // Ready once the guard has seen the first server.
    let first = servers[0].to_string();
    let mut status = ctx.status.subscribe();
    timeout(
        WAIT,
        status.wait_for(|s| {
            s.obs
                .as_ref()
                .is_some_and(|o| o.connection == stream_control::status::ObsConnection::Connected)
                && s.guard.as_ref().is_some_and(|g| {
                    g.servers
                        .iter()
                        .any(|v| v.name == first && v.state != "waiting")
                })
        }),
    )
    .await
    .expect("guard ready")
    .unwrap();
    Rig {
        stats,
        obs,
        app,
        ctx,
        events,
    }
}

fn streaming() -> FakeObsOptions {
    FakeObsOptions {
        streaming: true,
        ..FakeObsOptions::default()
    }
}

impl Rig {
    /// The next guard transition event.
    async fn transition(&mut self) -> (&'static str, GuardTransition) {
        timeout(WAIT, async {
            loop {
                match self.events.recv().await {
                    Ok(Event::BitrateLow(t)) => return ("low", t),
                    Ok(Event::BitrateRestored(t)) => return ("restored", t),
                    Ok(Event::IngestOffline(t)) => return ("offline", t),
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => panic!("event bus closed"),
                }
            }
        })
        .await
        .expect("a guard transition")
    }

    async fn scene_switch(&self, mark: usize) -> String {
        let request = self
            .obs
            .wait_for_request_since(mark, "SetCurrentProgramScene", WAIT)
            .await
            .expect("a scene switch");
        request.data["sceneName"].as_str().unwrap().to_string()
    }

    fn switches(&self) -> Vec<String> {
        self.obs
            .requests()
            .into_iter()
            .filter(|r| r.request_type == "SetCurrentProgramScene")
            .map(|r| r.data["sceneName"].as_str().unwrap().to_string())
            .collect()
    }

    async fn say(&self, line: &str) -> String {
        let command = dispatch::parse_line(&self.ctx.config.commands, line)
            .unwrap()
            .unwrap();
        let invocation = Invocation {
            command,
            invoker: Invoker {
                surface: Surface::Twitch,
                user_id: "1".into(),
                display_name: "admin".into(),
                permission: Permission::Admin,
            },
            locale: "en-US".into(),
            reply_to: None,
            progress: stream_control::dispatch::Progress::none(),
        };
        let reply = dispatch::dispatch(&self.ctx, invocation).await;
        self.ctx.render("en-US", &reply)
    }

    async fn wait_guard(
        &self,
        what: &str,
        check: impl Fn(&stream_control::status::GuardStatus) -> bool,
    ) {
        let mut status = self.ctx.status.subscribe();
        let ok = timeout(
            WAIT,
            status.wait_for(|s| s.guard.as_ref().is_some_and(&check)),
        )
        .await;
        assert!(ok.is_ok(), "{what}: {:?}", self.ctx.status.borrow().guard);
    }

    async fn stop(self) {
        assert!(self.app.shutdown(Duration::from_secs(5)).await);
    }
}

#[tokio::test]
async fn live_low_live_offline_live_with_events_and_exactly_those_switches() {
    let mut rig = rig(&["a"], "", streaming()).await;
    let mark = rig.obs.request_mark();
    rig.stats.set(
        "a",
        Answer::Live {
            kbps: 300,
            rtt: 40.0,
        },
    );
    assert_eq!(rig.scene_switch(mark).await, "LOW");
    let (kind, t) = rig.transition().await;
    assert_eq!(
        (kind, t.from, t.to, t.cause),
        ("low", "live", "low", "low_bitrate")
    );
    assert_eq!(
        (t.bitrate_kbps, t.rtt_ms, t.server.as_deref(), t.dry_run),
        (Some(300), Some(40), Some("a"), false)
    );

    let mark = rig.obs.request_mark();
    rig.stats.set(
        "a",
        Answer::Live {
            kbps: 2500,
            rtt: 40.0,
        },
    );
    assert_eq!(rig.scene_switch(mark).await, "LIVE");
    assert_eq!(rig.transition().await.0, "restored");

    let mark = rig.obs.request_mark();
    rig.stats.set("a", Answer::NoPublisher);
    assert_eq!(rig.scene_switch(mark).await, "OFFLINE");
    let (kind, t) = rig.transition().await;
    assert_eq!((kind, t.cause), ("offline", "no_publisher"));

    let mark = rig.obs.request_mark();
    rig.stats.set(
        "a",
        Answer::Live {
            kbps: 2500,
            rtt: 40.0,
        },
    );
    assert_eq!(rig.scene_switch(mark).await, "LIVE");
    assert_eq!(rig.switches(), ["LOW", "LIVE", "OFFLINE", "LIVE"]);
    rig.wait_guard("level live", |g| g.level == Some("live"))
        .await;
    rig.stop().await;
}

/// The threads of this process named `name` (`/proc/self/task/*/comm`).
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

/// The product's runtime is multi-threaded: there the guard runs on a thread of its own
/// (`guard::run`), decides and switches as in place, and stops with the app without an error.
/// Other tests in this binary run their guard in place, on their current-thread runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_multi_thread_runtime_the_guard_has_a_thread_of_its_own() {
    let rig = rig(&["a"], "", streaming()).await;
    assert!(threads_named("guard") >= 1, "no guard thread");
    let mark = rig.obs.request_mark();
    rig.stats.set(
        "a",
        Answer::Live {
            kbps: 300,
            rtt: 40.0,
        },
    );
    assert_eq!(rig.scene_switch(mark).await, "LOW");
    rig.wait_guard("level low", |g| g.level == Some("low"))
        .await;
    let ctx = rig.ctx.clone();
    rig.stop().await;
    let guard = ctx
        .status
        .borrow()
        .tasks
        .get("guard")
        .cloned()
        .expect("the guard task");
    assert_eq!((guard.restarts, guard.last_error), (0, None));
}

#[tokio::test]
async fn a_scene_the_guard_does_not_own_is_a_manual_override() {
    let rig = rig(&["a"], "", streaming()).await;
    rig.obs.set_scene("BRB");
    rig.wait_guard("manual", |g| g.level.is_none()).await;
    let mark = rig.obs.request_mark();
    rig.stats.set("a", Answer::NoPublisher);
    rig.wait_guard("sees no publisher", |g| {
        g.servers[0].state == "no_publisher" && g.idle_reason == Some("manual_scene")
    })
    .await;
    assert!(
        rig.obs
            .wait_for_request_since(mark, "SetCurrentProgramScene", Duration::from_secs(1))
            .await
            .is_none()
    );
    assert_eq!(rig.obs.current_scene(), "BRB");
    rig.stop().await;
}

#[tokio::test]
async fn dry_run_announces_once_and_never_switches() {
    let mut rig = rig(&["a"], "", streaming()).await;
    assert_eq!(
        rig.say("!dryrun on").await,
        "Dry run on: the guard decides and announces, but does not switch."
    );
    let mark = rig.obs.request_mark();
    rig.stats.set(
        "a",
        Answer::Live {
            kbps: 300,
            rtt: 40.0,
        },
    );
    let (kind, t) = rig.transition().await;
    assert_eq!((kind, t.dry_run), ("low", true));
    // Not switched, and not announced again every window while OBS keeps LIVE.
    let again = timeout(Duration::from_secs(2), rig.transition()).await;
    assert!(again.is_err(), "announced again: {again:?}");
    assert!(
        rig.obs
            .wait_for_request_since(mark, "SetCurrentProgramScene", Duration::from_millis(100))
            .await
            .is_none()
    );
    assert_eq!(rig.obs.current_scene(), "LIVE");
    rig.stop().await;
}

#[tokio::test]
async fn guard_off_pauses_switching_until_guard_on() {
    let rig = rig(&["a"], "", streaming()).await;
    assert_eq!(
        rig.say("!guard off").await,
        "The guard is paused: it will not switch scenes until !guard on."
    );
    let status = rig.say("!guard").await;
    assert!(status.starts_with("Guard paused, scene LIVE."), "{status}");
    let mark = rig.obs.request_mark();
    rig.stats.set(
        "a",
        Answer::Live {
            kbps: 300,
            rtt: 40.0,
        },
    );
    rig.wait_guard("sees the drop", |g| {
        g.servers[0].bitrate_kbps == Some(300) && g.idle_reason == Some("disabled")
    })
    .await;
    assert!(
        rig.obs
            .wait_for_request_since(mark, "SetCurrentProgramScene", Duration::from_secs(1))
            .await
            .is_none()
    );
    assert_eq!(
        rig.say("!guard on").await,
        "The guard switches scenes again."
    );
    assert_eq!(rig.scene_switch(mark).await, "LOW");
    rig.stop().await;
}

#[tokio::test]
async fn nothing_is_decided_while_obs_does_not_stream_but_bitrate_still_answers() {
    let rig = rig(&["a"], "", FakeObsOptions::default()).await;
    rig.stats.set(
        "a",
        Answer::Live {
            kbps: 300,
            rtt: 40.4,
        },
    );
    rig.wait_guard("idle", |g| {
        g.idle_reason == Some("not_streaming") && g.servers[0].bitrate_kbps == Some(300)
    })
    .await;
    assert_eq!(rig.say("!bitrate").await, "a: 300 kbps, 40 ms RTT");
    assert!(rig.switches().is_empty());
    let status = rig.say("!guard status").await;
    assert!(
        status.contains("(waiting: OBS is not streaming)"),
        "{status}"
    );
    // Going live with a bad ingest switches (streaks start fresh).
    let mark = rig.obs.request_mark();
    rig.obs.set_streaming(true);
    assert_eq!(rig.scene_switch(mark).await, "LOW");
    rig.stop().await;
}

#[tokio::test]
async fn the_first_server_with_a_publisher_is_used_and_failover_does_not_switch() {
    let mut rig = rig(&["a", "b"], "", streaming()).await;
    rig.wait_guard("a active", |g| g.active_server.as_deref() == Some("a"))
        .await;
    rig.stats.set("a", Answer::NoPublisher);
    rig.wait_guard("b active", |g| {
        g.active_server.as_deref() == Some("b") && g.servers[0].state == "no_publisher"
    })
    .await;
    assert_eq!(
        rig.say("!bitrate").await,
        "a: nobody is publishing, b: 2500 kbps, 40 ms RTT"
    );
    let mark = rig.obs.request_mark();
    rig.stats.set(
        "b",
        Answer::Live {
            kbps: 300,
            rtt: 40.0,
        },
    );
    assert_eq!(rig.scene_switch(mark).await, "LOW");
    assert_eq!(rig.transition().await.1.server.as_deref(), Some("b"));
    assert_eq!(
        rig.switches(),
        ["LOW"],
        "failing over from a to b switched nothing"
    );
    rig.stop().await;
}

#[tokio::test]
async fn a_flaky_stats_page_is_not_offline_and_says_why() {
    let rig = rig(&["a"], "", streaming()).await;
    let mark = rig.obs.request_mark();
    rig.stats.set("a", Answer::Status(503));
    rig.wait_guard("error", |g| g.servers[0].state == "error")
        .await;
    let bitrate = rig.say("!bitrate").await;
    assert!(
        bitrate.starts_with("a: ") && bitrate.contains("answered HTTP 503"),
        "{bitrate}"
    );
    rig.stats.set(
        "a",
        Answer::Live {
            kbps: 2500,
            rtt: 40.0,
        },
    );
    rig.wait_guard("back", |g| g.servers[0].state == "live")
        .await;
    rig.stats.set("a", Answer::Html);
    rig.wait_guard("html", |g| g.servers[0].state == "error")
        .await;
    let bitrate = rig.say("!bitrate").await;
    assert!(
        bitrate.contains("SRT Live Server stats:") && bitrate.contains("HTML"),
        "{bitrate}"
    );
    rig.stats.set(
        "a",
        Answer::Live {
            kbps: 2500,
            rtt: 40.0,
        },
    );
    rig.wait_guard("back", |g| g.servers[0].state == "live")
        .await;
    // Each outage was shorter than unreachable_grace (500 ms at 100 ms polls): no switch.
    assert!(
        rig.obs
            .wait_for_request_since(mark, "SetCurrentProgramScene", Duration::from_millis(500))
            .await
            .is_none()
    );
    // A long one is OFFLINE, with the reason.
    let mut rig = rig;
    rig.stats.set("a", Answer::Status(500));
    assert_eq!(rig.scene_switch(mark).await, "OFFLINE");
    let (_, t) = rig.transition().await;
    assert_eq!(t.cause, "unreachable");
    assert!(t.error.as_deref().unwrap().contains("HTTP 500"));
    rig.stop().await;
}

#[tokio::test]
async fn triggers_change_at_run_time_and_keep_their_order() {
    let rig = rig(&["a"], "", streaming()).await;
    assert_eq!(
        rig.say("!trigger low").await,
        "The low trigger is 800 kbps."
    );
    assert_eq!(
        rig.say("!trigger low 2m").await,
        "The low trigger must stay at or below the recovery bitrate (1200 kbps)."
    );
    assert_eq!(
        rig.say("!trigger low 500").await,
        "The low trigger is now 500 kbps (kept across restarts; !trigger reset puts back the configured values)."
    );
    assert_eq!(
        rig.say("!trigger rtt off").await,
        "The rtt trigger is now off (kept across restarts; !trigger reset puts back the configured values)."
    );
    assert_eq!(
        rig.say("!trigger rtt-offline 1.5s").await,
        "The rtt-offline trigger is now 1500 ms (kept across restarts; !trigger reset puts back the configured values)."
    );
    rig.wait_guard("triggers", |g| {
        g.triggers.low_kbps == Some(500) && g.triggers.rtt_low_ms.is_none()
    })
    .await;
    // 600 kbps is no longer LOW.
    let mark = rig.obs.request_mark();
    rig.stats.set(
        "a",
        Answer::Live {
            kbps: 600,
            rtt: 40.0,
        },
    );
    rig.wait_guard("600", |g| g.servers[0].bitrate_kbps == Some(600))
        .await;
    assert!(
        rig.obs
            .wait_for_request_since(mark, "SetCurrentProgramScene", Duration::from_secs(1))
            .await
            .is_none()
    );
    // An RTT of 2 s is now OFFLINE.
    rig.stats.set(
        "a",
        Answer::Live {
            kbps: 2500,
            rtt: 2000.0,
        },
    );
    assert_eq!(rig.scene_switch(mark).await, "OFFLINE");
    rig.stop().await;
}

impl Rig {
    fn starts(&self) -> usize {
        self.obs
            .requests()
            .iter()
            .filter(|r| r.request_type == "StartStream")
            .count()
    }

    /// Set server `a`'s publisher there or gone, and wait until the guard has seen it.
    async fn publisher(&self, there: bool) {
        self.stats.set(
            "a",
            if there {
                Answer::Live {
                    kbps: 2500,
                    rtt: 40.0,
                }
            } else {
                Answer::NoPublisher
            },
        );
        let state = if there { "live" } else { "no_publisher" };
        self.wait_guard(state, |g| g.servers[0].state == state)
            .await;
    }

    /// Whether a `StartStream` arrives after `mark` within a few polls.
    async fn started_since(&self, mark: usize) -> bool {
        self.obs
            .wait_for_request_since(mark, "StartStream", Duration::from_millis(1500))
            .await
            .is_some()
    }
}

const AUTO_START: &str =
    r#"auto_start: Some((publisher_for: "300ms", quiet_after_stop: "1h", retry_after: "1s"))"#;

/// Issue #18 §1: the publisher is there and OBS is not streaming: one start (confirmed, as
/// `start`), announced; a flapping publisher afterwards starts nothing more.
#[tokio::test]
async fn auto_start_starts_once_for_a_publisher_and_not_again_while_it_flaps() {
    let mut rig = rig(&["a"], AUTO_START, FakeObsOptions::default()).await;
    let started = rig
        .obs
        .wait_for_request("StartStream", WAIT)
        .await
        .expect("an auto-start");
    assert_eq!(started.request_type, "StartStream");
    rig.wait_guard("streaming", |_| rig.obs.is_streaming())
        .await;
    let announced = timeout(WAIT, async {
        loop {
            if let Ok(Event::AutoStart { server, error }) = rig.events.recv().await {
                return (server, error);
            }
        }
    })
    .await
    .expect("an AutoStart event");
    assert_eq!(announced, ("a".to_string(), None));
    for _ in 0..3 {
        rig.publisher(false).await;
        rig.publisher(true).await;
    }
    let mark = rig.obs.request_mark();
    assert!(
        !rig.started_since(mark).await,
        "flapping starts nothing more"
    );
    assert_eq!(rig.starts(), 1);
    rig.stop().await;
}

/// No auto-start within the quiet time after a stop, for the publisher that stayed or for one
/// that comes back; none while the guard is off; once allowed, the publisher that appeared
/// after the quiet time starts the stream.
#[tokio::test]
async fn no_auto_start_after_a_stop_within_the_quiet_time_nor_while_the_guard_is_off() {
    let rig_quiet = rig(&["a"], AUTO_START, streaming()).await;
    rig_quiet.say("!stop").await;
    let mark = rig_quiet.obs.request_mark();
    assert!(!rig_quiet.started_since(mark).await, "the publisher stayed");
    rig_quiet.publisher(false).await;
    rig_quiet.publisher(true).await;
    assert!(
        !rig_quiet.started_since(mark).await,
        "it came back within the quiet time"
    );
    assert_eq!(rig_quiet.starts(), 0);
    rig_quiet.stop().await;

    let no_quiet =
        r#"auto_start: Some((publisher_for: "300ms", quiet_after_stop: "0s", retry_after: "1s"))"#;
    let rig = rig(&["a"], no_quiet, streaming()).await;
    rig.say("!guard off").await;
    rig.say("!stop").await;
    rig.publisher(false).await;
    rig.publisher(true).await;
    let mark = rig.obs.request_mark();
    assert!(!rig.started_since(mark).await, "the guard is off");
    rig.say("!guard on").await;
    assert!(rig.started_since(mark).await, "on again, and no quiet time");
    assert_eq!(rig.starts(), 1);
    rig.stop().await;
}

/// Issue #18 §6: `guard off`, `dryrun on` and `trigger …` are kept in the state directory
/// (atomically, only what differs from the configuration), put back at the next start and shown
/// as changed at run time; `trigger reset` puts back the configured thresholds; `config.ron` is
/// never written.
#[tokio::test]
async fn runtime_changes_survive_a_restart_and_trigger_reset_puts_back_the_configuration() {
    let state = tempfile::tempdir().unwrap();
    let config_path = state.path().join("config.ron");
    let config = format!(
        r#"(state_dir: "{}", obs: (port: 9),
            guard: (servers: [(name: "a", kind: Belabox(url: "http://127.0.0.1:9/stats"))],
                    policy: (low_kbps: Some(800), recover_kbps: 1200, offline_kbps: Some(300))),
            commands: (cooldowns: (command: "0s", user: "0s")))"#,
        state.path().display()
    );
    std::fs::write(&config_path, &config).unwrap();
    let admin = || Invoker {
        surface: Surface::Console,
        user_id: "console".into(),
        display_name: "console".into(),
        permission: Permission::Admin,
    };
    let say = |ctx: Arc<Context>, line: &'static str| async move {
        let (reply, _) = support::command(&ctx, line, admin()).await;
        ctx.render("en-US", &reply)
    };

    let ctx = support::context(&config);
    say(ctx.clone(), "!guard off").await;
    say(ctx.clone(), "!dryrun on").await;
    say(ctx.clone(), "!trigger low 500").await;
    say(ctx.clone(), "!trigger offline off").await;
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.path().join("guard.json")).unwrap()).unwrap();
    assert_eq!(
        stored,
        serde_json::json!({"enabled": false, "dry_run": true,
                           "low_kbps": {"value": 500}, "offline_kbps": "off"})
    );
    drop(ctx);

    // The next start: the same controls, shown as changed at run time.
    let ctx = support::context(&config);
    let guard = ctx.status.borrow().guard.clone().unwrap();
    assert!(!guard.enabled && guard.dry_run);
    // Every server listed (waiting) before the guard task's first poll.
    assert_eq!(guard.servers.len(), 1);
    assert_eq!(guard.servers[0].state, "waiting");
    assert_eq!(guard.triggers.low_kbps, Some(500));
    assert_eq!(guard.triggers.offline_kbps, None);
    assert_eq!(
        guard.triggers.recover_kbps, 1200,
        "not changed, so configured"
    );
    assert_eq!(
        guard.changed_at_runtime,
        ["guard", "dryrun", "trigger low", "trigger offline"]
    );
    let shown = say(ctx.clone(), "!guard").await;
    assert!(
        shown.ends_with(
            "Changed at run time and kept across restarts: guard, dryrun, trigger low, \
             trigger offline (!trigger reset puts back the configured thresholds)."
        ),
        "{shown}"
    );

    // `trigger reset`: the configured thresholds; switching and dry run stay as they are.
    let reset = say(ctx.clone(), "!trigger reset").await;
    assert_eq!(
        reset,
        "The configured triggers are back: LOW below 800 kbps, back to LIVE at 1200 kbps, \
         OFFLINE below 300 kbps; RTT LOW at 2500 ms, OFFLINE at off."
    );
    let guard = ctx.status.borrow().guard.clone().unwrap();
    assert_eq!(guard.changed_at_runtime, ["guard", "dryrun"]);
    // Everything as configured again: nothing is kept, and nothing said.
    say(ctx.clone(), "!guard on").await;
    say(ctx.clone(), "!dryrun off").await;
    assert!(!state.path().join("guard.json").exists());
    let shown = say(ctx.clone(), "!guard").await;
    assert!(!shown.contains("Changed at run time"), "{shown}");
    assert_eq!(std::fs::read_to_string(&config_path).unwrap(), config);
    let names: Vec<String> = std::fs::read_dir(state.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["config.ron"], "no temporary file left behind");
}

/// A kept change that no longer fits the configuration (its thresholds out of order after an
/// edit), or a file that is not the guard's, is left out with a warning: the configured values
/// hold, and the bot starts.
#[tokio::test]
async fn stored_changes_that_no_longer_fit_are_left_out() {
    let state = tempfile::tempdir().unwrap();
    let config = |low: u32| {
        format!(
            r#"(state_dir: "{}", obs: (port: 9),
                guard: (servers: [(name: "a", kind: Belabox(url: "http://127.0.0.1:9/stats"))],
                        policy: (low_kbps: Some({low}), recover_kbps: 1200, offline_kbps: Some(300))))"#,
            state.path().display()
        )
    };
    let file = state.path().join("guard.json");
    // offline 700 fitted under low 800; the configuration now says low 600.
    std::fs::write(
        &file,
        r#"{"offline_kbps": {"value": 700}, "enabled": false}"#,
    )
    .unwrap();
    let ctx = support::context(&config(600));
    let guard = ctx.status.borrow().guard.clone().unwrap();
    assert_eq!(guard.triggers.offline_kbps, Some(300), "the configured one");
    assert!(!guard.enabled, "the switch still fits: kept");
    for junk in [
        "not json",
        r#"{"low_kbps": "sideways"}"#,
        r#"{"bitrate": 1}"#,
    ] {
        std::fs::write(&file, junk).unwrap();
        let ctx = support::context(&config(800));
        let guard = ctx.status.borrow().guard.clone().unwrap();
        assert!(
            guard.enabled && guard.changed_at_runtime.is_empty(),
            "{junk}"
        );
    }
}

/// Issue #15 §3: a stats URL with a user name and password, a query key and a stream id in its
/// path is shown as `http://127.0.0.1:<port>/stats/…` everywhere people read it: `/api/status`,
/// `/metrics`, the `bitrate` reply and the Discord status embed. One page answers 503 (the
/// bot's own message names the URL), the other is refused (reqwest's message names it).
#[tokio::test]
async fn stats_addresses_never_show_credentials_queries_or_stream_ids() {
    let stats = Stats::start().await;
    stats.set("streamid-7f3a", Answer::Status(503));
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let secret_url = |port: u16| {
        format!("http://viewer:hunter2-pass@127.0.0.1:{port}/stats/streamid-7f3a?key=query-s3cret")
    };
    let obs = FakeObs::start(FakeObsOptions {
        password: Some(support::fake_secret_values()["OBS_PASSWORD"].clone()),
        ..streaming()
    })
    .await;
    let state = tempfile::tempdir().unwrap();
    let config = format!(
        r#"(state_dir: "{}", obs: (port: {}, reconnect_min: "100ms"),
            guard: (poll_interval: "100ms", servers: [
                (name: "relay", kind: SrtLiveServer(url: "{}"), timeout: "1s"),
                (name: "backup", kind: Belabox(url: "{}"), timeout: "1s"),
            ]),
            web: (bind: "127.0.0.1:0"))"#,
        state.path().display(),
        obs.port(),
        secret_url(stats.port),
        secret_url(closed),
    );
    let ctx = support::context_with_secrets(&config, &["OBS_PASSWORD"]);
    let events = ctx.events.subscribe();
    let (app, base) = support::start_web(&ctx).await;
    let rig = Rig {
        stats,
        obs,
        app,
        ctx,
        events,
    };
    rig.wait_guard("both pages fail", |g| {
        g.servers.iter().all(|s| s.state == "error")
    })
    .await;

    let http = support::http();
    let mut shown = Vec::new();
    for path in ["/api/status", "/metrics"] {
        let response = http.get(format!("{base}{path}")).send().await.unwrap();
        assert!(response.status().is_success(), "{path}");
        shown.push((path.to_string(), response.text().await.unwrap()));
    }
    shown.push(("bitrate".into(), rig.say("!bitrate").await));
    let status = rig.ctx.status.borrow().clone();
    let embed = stream_control::surfaces::discord::embed::status_embed(&rig.ctx, &status, "en-US");
    shown.push(("embed".into(), serde_json::to_string(&embed).unwrap()));

    let answered = format!(
        "http://127.0.0.1:{}/stats/… answered HTTP 503",
        rig.stats.port
    );
    let refused = format!("cannot reach http://127.0.0.1:{closed}/stats/…");
    for (what, text) in &shown {
        for secret in ["viewer", "hunter2", "query-s3cret", "streamid", "key="] {
            assert!(!text.contains(secret), "{secret} in {what}:\n{text}");
        }
    }
    // /metrics names servers by their configured name only (and has no number for these); the
    // embed shows errors only while no server is active.
    for (what, text) in shown
        .iter()
        .filter(|(what, _)| what == "/api/status" || what == "bitrate")
    {
        assert!(
            text.contains(&answered) && text.contains(&refused),
            "{what} does not say which server failed:\n{text}"
        );
    }
    rig.stop().await;
}
