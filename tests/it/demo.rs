//! `stream-control demo`: the bot against its built-in simulators.
//!
//! In process on a paused tokio clock (the simulators take their time from tokio, and every
//! socket is on loopback in the same single-threaded runtime, so the clock only jumps when
//! everything waits for a timer): the guard follows the trace to LOW, OFFLINE and back to LIVE,
//! twice, each switch in the phase that causes it, and the overlay and the status page show
//! it; `!brb` is left alone until `!live`; a raised LOW trigger catches the dip. Then the real
//! binary: the banner's URLs answer and a command typed on stdin reaches the simulated OBS.

use stream_control_test_support as support;

use futures_util::StreamExt as _;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use stream_control::demo::{self, Demo, DemoOptions};
use stream_control::dispatch::Invoker;
use stream_control::secrets::Redactor;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// Virtual time: how long a test may run the demo at most.
const LIMIT: Duration = Duration::from_secs(600);

async fn start() -> Demo {
    demo::start(DemoOptions::default(), Redactor::default())
        .await
        .expect("the demo starts")
}

/// Every scene switch the bot sent to the simulated OBS: the scene and when, as time into the
/// trace.
fn switches(demo: &Demo) -> Vec<(String, Duration)> {
    let started = demo.stats().started();
    demo.obs()
        .requests()
        .into_iter()
        .filter(|r| r.request_type == "SetCurrentProgramScene")
        .map(|r| {
            let scene = r.data["sceneName"].as_str().unwrap_or_default().to_string();
            (scene, r.received.saturating_duration_since(started))
        })
        .collect()
}

/// Waits (in virtual time, at most [`LIMIT`]) until the bot sent at least `n` scene switches.
async fn wait_for_switches(demo: &Demo, n: usize) -> Vec<(String, Duration)> {
    let deadline = Instant::now() + LIMIT;
    loop {
        // Mark first: a switch between the mark and the snapshot is in the snapshot and also
        // ends the wait at once.
        let mark = demo.obs().request_mark();
        let seen = switches(demo);
        if seen.len() >= n {
            return seen;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "after {LIMIT:?} only {seen:?}");
        demo.obs()
            .wait_for_request_since(mark, "SetCurrentProgramScene", left)
            .await;
    }
}

/// The name of the trace phase at `at`.
fn phase(demo: &Demo, at: Duration) -> &'static str {
    let trace = demo.stats().trace();
    trace.phases()[trace.phase_at(at).0].name
}

fn scenes(seen: &[(String, Duration)]) -> Vec<&str> {
    seen.iter().map(|(scene, _)| scene.as_str()).collect()
}

#[tokio::test(start_paused = true)]
async fn the_guard_follows_the_trace_to_low_offline_and_back_to_live_in_a_loop() {
    let demo = start().await;
    let (mut overlay, _) = tokio_tungstenite::connect_async(
        demo.overlay_url()
            .replace("http://", "ws://")
            .replace("/overlay", "/ws/overlay"),
    )
    .await
    .expect("the overlay's WebSocket");

    let seen = wait_for_switches(&demo, 7).await;
    // From the starting scene to LIVE, then two loops of the trace.
    assert_eq!(
        scenes(&seen[..7]),
        ["LIVE", "LOW", "OFFLINE", "LIVE", "LOW", "OFFLINE", "LIVE"],
        "{seen:?}"
    );
    let causes = ["good", "drop", "outage", "recovery"];
    for (i, (scene, at)) in seen[..7].iter().enumerate() {
        let cause = causes[if i == 0 { 0 } else { (i - 1) % 3 + 1 }];
        assert_eq!(phase(&demo, *at), cause, "{scene} at {at:?}: {seen:?}");
    }
    // The second loop is the first one again, one cycle later (to the poll).
    let cycle = demo.stats().trace().cycle();
    for (first, second) in seen[1..4].iter().zip(&seen[4..7]) {
        let late = second.1.saturating_sub(first.1 + cycle);
        let early = (first.1 + cycle).saturating_sub(second.1);
        assert!(
            late.max(early) <= Duration::from_secs(1),
            "{first:?} then {second:?}"
        );
    }
    assert_eq!(demo.obs().current_scene(), "LIVE");

    // The overlay got an alert for each of the guard's switches after it connected.
    let mut alerts: Vec<String> = Vec::new();
    let expected = ["low", "offline", "restored", "low", "offline", "restored"].map(String::from);
    while !alerts.ends_with(&expected) {
        let frame = tokio::time::timeout(Duration::from_secs(10), overlay.next())
            .await
            .unwrap_or_else(|_| panic!("overlay alerts so far: {alerts:?}"))
            .expect("the overlay stays connected")
            .expect("a frame");
        if let Message::Text(text) = frame {
            let json: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
            if json["event"] == "alert" {
                alerts.push(json["data"]["type"].as_str().unwrap().to_string());
            }
        }
    }

    // The status page's API shows the guard at work.
    let http = support::http();
    let api = format!("{}api/status", demo.status_url());
    let status: serde_json::Value = http.get(&api).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        status["obs"]["connection"]["state"], "connected",
        "{status}"
    );
    assert_eq!(status["obs"]["scene"], "LIVE", "{status}");
    assert_eq!(status["guard"]["level"], "live", "{status}");
    assert_eq!(
        status["guard"]["servers"][0]["name"], "demo-nginx",
        "{status}"
    );
    let page = http.get(demo.status_url()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(demo.shutdown().await, "every task stopped in time");
}

/// A command typed (or piped in) the moment the banner shows finds OBS connected.
#[tokio::test(start_paused = true)]
async fn a_command_right_after_start_reaches_obs() {
    let demo = start().await;
    let (reply, _) = support::command(demo.context(), "!brb", Invoker::console()).await;
    assert_eq!(reply.key.id(), "scene-switched", "{reply:?}");
    assert_eq!(demo.obs().current_scene(), "BRB");
    assert!(demo.shutdown().await);
}

/// The banner's `!mute mic` and `!source webcam hide` work on the simulated OBS.
#[tokio::test(start_paused = true)]
async fn the_demo_mutes_an_input_and_hides_a_source() {
    let demo = start().await;
    let (reply, _) = support::command(demo.context(), "!mute mic", Invoker::console()).await;
    assert_eq!(reply.key.id(), "audio-muted", "{reply:?}");
    assert_eq!(demo.obs().input_muted("Mic/Aux"), Some(true));
    let (reply, _) =
        support::command(demo.context(), "!source webcam hide", Invoker::console()).await;
    assert_eq!(reply.key.id(), "source-hidden", "{reply:?}");
    assert_eq!(demo.obs().scene_item_enabled("LIVE", "Webcam"), Some(false));
    assert!(demo.shutdown().await);
}

#[tokio::test(start_paused = true)]
async fn brb_is_left_alone_by_the_guard_until_live() {
    let demo = start().await;
    wait_for_switches(&demo, 1).await;
    let (reply, _) = support::command(demo.context(), "!brb", Invoker::console()).await;
    assert_eq!(reply.key.id(), "scene-switched", "{reply:?}");
    assert_eq!(demo.obs().current_scene(), "BRB");

    // A whole loop (drop, outage, recovery) passes: nobody touches BRB.
    tokio::time::sleep(demo.stats().trace().cycle()).await;
    assert_eq!(scenes(&switches(&demo)), ["LIVE", "BRB"]);
    assert_eq!(demo.obs().current_scene(), "BRB");

    // Back on LIVE, the guard takes over again at the next drop.
    let (reply, _) = support::command(demo.context(), "!live", Invoker::console()).await;
    assert_eq!(reply.key.id(), "scene-switched", "{reply:?}");
    let seen = wait_for_switches(&demo, 4).await;
    assert_eq!(scenes(&seen[..4]), ["LIVE", "BRB", "LIVE", "LOW"]);
    assert_eq!(phase(&demo, seen[3].1), "drop", "{seen:?}");
    assert!(demo.shutdown().await);
}

#[tokio::test(start_paused = true)]
async fn a_raised_low_trigger_makes_the_dip_count_as_low() {
    let demo = start().await;
    wait_for_switches(&demo, 1).await;
    let (reply, _) =
        support::command(demo.context(), "!trigger low 3000", Invoker::console()).await;
    assert_eq!(reply.key.id(), "trigger-set", "{reply:?}");
    let seen = wait_for_switches(&demo, 2).await;
    assert_eq!(scenes(&seen[..2]), ["LIVE", "LOW"]);
    assert_eq!(phase(&demo, seen[1].1), "dip", "{seen:?}");
    assert!(demo.shutdown().await);
}

/// The real binary: `stream-control demo` prints the status page and overlay URLs, both
/// answer, `!brb` typed on stdin switches the simulated OBS, and end of input quits cleanly.
#[test]
fn the_binary_prints_urls_that_answer_and_takes_commands_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_stream-control"));
    command
        .arg("demo")
        .current_dir(dir.path())
        .env("TMPDIR", tmp.path())
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The demo needs no secret and must not pick any up.
    for (name, value) in support::fake_secret_values() {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut out = String::new();
    let mut next_line = || {
        let mut line = String::new();
        let read = stdout.read_line(&mut line).unwrap();
        assert_ne!(read, 0, "the demo ended early:\n{out}");
        out.push_str(&line);
        line
    };
    let url_after = |line: &str, label: &str| {
        line.strip_prefix(label)
            .map(|rest| rest.split_whitespace().next().unwrap().to_string())
    };
    let (mut status_url, mut overlay_url) = (None, None);
    while status_url.is_none() || overlay_url.is_none() {
        let line = next_line();
        status_url = status_url.or(url_after(&line, "  Status page: "));
        overlay_url = overlay_url.or(url_after(&line, "  Overlay:     "));
    }
    let (status_url, overlay_url) = (status_url.unwrap(), overlay_url.unwrap());
    // The state lives in one private directory under TMPDIR while the demo runs.
    let state: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(state.len(), 1, "{state:?}");
    assert!(
        state[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("stream-control-demo-"),
        "{state:?}"
    );
    let mode = std::fs::metadata(&state[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert!(status_url.starts_with("http://127.0.0.1:"), "{status_url}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let http = support::http();
    // The status page and the overlay answer, with no key (the demo sets none, whatever the
    // environment holds).
    runtime.block_on(async {
        for url in [&status_url, &overlay_url] {
            let answer = http.get(url.as_str()).send().await.unwrap();
            assert_eq!(answer.status(), 200, "{url}");
        }
    });
    // `/api/status` once `until` holds (asked every 50 ms, at most 20 s).
    let api = format!("{status_url}api/status");
    let status_when = |until: &dyn Fn(&serde_json::Value) -> bool| {
        runtime.block_on(async {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            loop {
                let status: serde_json::Value =
                    http.get(&api).send().await.unwrap().json().await.unwrap();
                if until(&status) || tokio::time::Instant::now() > deadline {
                    return status;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    // Connected to the simulated OBS, and the guard took it from the starting scene to LIVE.
    let live = |s: &serde_json::Value| {
        s["obs"]["connection"]["state"] == "connected"
            && s["obs"]["scene"] == "LIVE"
            && s["guard"]["level"] == "live"
    };
    let status = status_when(&live);
    assert!(live(&status), "{status}");

    writeln!(stdin, "!brb").unwrap();
    stdin.flush().unwrap();
    loop {
        let line = next_line();
        if line.starts_with("Switched to BRB.") {
            break;
        }
    }
    // OBS shows BRB, and the guard knows it is a manual scene.
    let on_brb = |s: &serde_json::Value| {
        s["obs"]["scene"] == "BRB" && s["guard"]["idle_reason"] == "manual_scene"
    };
    let status = status_when(&on_brb);
    assert!(on_brb(&status), "{status}");

    drop(stdin); // end of input quits
    let out_reader = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stdout.read_to_string(&mut rest);
        rest
    });
    let code = wait_at_most(child, Duration::from_secs(10));
    out.push_str(&out_reader.join().unwrap());
    let err = err_reader.join().unwrap();
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(err.contains("guard decided"), "{err}");
    for secret in support::fake_secret_values().values() {
        assert!(!out.contains(secret.as_str()) && !err.contains(secret.as_str()));
    }
    // Nothing in the working directory; the state directory is gone.
    assert_empty(dir.path());
    assert_empty(tmp.path());
}

/// The child's exit code once it exits, at most `limit` from now; `None` (and the child
/// killed) when it does not.
fn wait_at_most(mut child: std::process::Child, limit: Duration) -> Option<i32> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn assert_empty(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}
