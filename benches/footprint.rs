//! Steady-state footprint of the real binary (release build) connected to every fake peer:
//! OBS (streaming, password), Twitch (OAuth, Helix, EventSub), Discord (REST and gateway, a
//! status message), a stats server polled every second by the guard, and its own web server
//! with the overlay. After a warm-up, for N minutes: resident memory (VmRSS from
//! /proc/<pid>/status, sampled every second), CPU (utime + stime from /proc/<pid>/stat over the
//! window, as % of one core); and the stripped binary's size.
//!
//! Run: `cargo bench --bench footprint` (10 minutes), or `cargo bench --bench footprint --
//! --minutes 2` (or `FOOTPRINT_MINUTES=2`). `--warmup S` (default 60 s) sets the warm-up.
//! `--binary PATH` measures another build of the same source (e.g. with other profile settings);
//! `MALLOC_ARENA_MAX` and `TOKIO_WORKER_THREADS` are passed on when set. `--guard-only`
//! configures only OBS and the guard (what NOALBS does), to compare like with like and to see
//! what the other sections cost;
//! `--web` adds the web server (with the overlay) to `--guard-only`. `--poll D` sets the guard's
//! `poll_interval` (default `1s`; the product's default is `250ms`).
//! For a long run (`-- --minutes 60`, docs/benchmarks.md), a line on stderr every minute gives
//! the RSS of that minute (min/max) and so far, and the table adds the window's minimum.

mod common;
use stream_control_test_support::nginx;

use stream_control_test_support::fake_discord;
use stream_control_test_support::fake_eventsub;
use stream_control_test_support::fake_obs;
use stream_control_test_support::fake_twitch;

use fake_discord::{CHANNEL_ID, FakeDiscord, GUILD_ID};
use fake_eventsub::FakeEventSub;
use fake_obs::{FakeObs, FakeObsOptions};
use fake_twitch::{BROADCASTER_ID, FakeTwitch};
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use stream_control::twitch::auth::{self, TOKEN_FILE};

const BUILT: &str = env!("CARGO_BIN_EXE_stream-control");
const OBS_PASSWORD: &str = "footprint-obs-password";
const DISCORD_TOKEN: &str = "footprint-discord-token";

/// `--name value` from the arguments (cargo bench adds `--bench`), else the variable.
fn argument(name: &str, variable: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .or_else(|| std::env::var(variable).ok())
}

fn setting(name: &str, variable: &str, default: f64) -> f64 {
    argument(name, variable)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let guard_only = std::env::args().any(|a| a == "--guard-only");
    let minutes = setting("--minutes", "FOOTPRINT_MINUTES", 10.0);
    let warmup = setting("--warmup", "FOOTPRINT_WARMUP_SECS", 60.0);
    // The fakes share the machine with the bot: two threads, as on the project's machine.
    let runtime = common::runtime();
    runtime.block_on(bench(
        Duration::from_secs_f64(minutes * 60.0),
        Duration::from_secs_f64(warmup),
        guard_only,
    ));
}

/// A stats server: SLS JSON with `publish/live/feed1` live, its numbers moving a little.
async fn stats_server() -> (String, Arc<AtomicU64>) {
    use axum::routing::get;
    let polls = Arc::new(AtomicU64::new(0));
    let counter = polls.clone();
    let app = axum::Router::new().route(
        "/stats",
        get(move || {
            let n = polls.fetch_add(1, Ordering::Relaxed);
            async move {
                format!(
                    r#"{{"publishers":{{"publish/live/feed1":{{"bitrate":{},"rtt":{},"mbpsBandwidth":9.2,"mbpsRecvRate":5.1,"msRcvBuf":1935,"pktRcvDrop":0,"pktRcvLoss":{},"uptime":{}}}}},"status":"ok"}}"#,
                    5800 + (n % 7) * 37,
                    40 + n % 5,
                    n / 10,
                    n
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/stats", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, counter)
}

/// `utime + stime` of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the bot runs");
    // Fields after the command name (which may hold spaces) start at state (field 3).
    let rest = stat.rsplit_once(')').expect("a stat line").1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields[11].parse().unwrap();
    let stime: u64 = fields[12].parse().unwrap();
    utime + stime
}

async fn bench(window: Duration, warmup: Duration, guard_only: bool) {
    let bin = argument("--binary", "FOOTPRINT_BINARY").unwrap_or_else(|| BUILT.to_string());
    let eventsub = FakeEventSub::start().await;
    let twitch = FakeTwitch::start(Some(eventsub.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    twitch.sign_in(
        &state,
        TOKEN_FILE,
        BROADCASTER_ID,
        auth::SCOPES,
        Duration::from_secs(24 * 3600),
    );
    let obs = FakeObs::start(FakeObsOptions {
        password: Some(OBS_PASSWORD.into()),
        streaming: true,
        stream_kbps: 6000,
        ..FakeObsOptions::default()
    })
    .await;
    let discord = FakeDiscord::start().await;
    discord.require_token(DISCORD_TOKEN);
    let (stats, polls) = stats_server().await;
    let web_port = nginx::free_port();
    let poll = argument("--poll", "FOOTPRINT_POLL").unwrap_or_else(|| "1s".into());
    let with_web = std::env::args().any(|a| a == "--web");
    let others = if guard_only && with_web {
        format!(r#"web: (bind: "127.0.0.1:{web_port}", overlay: Some(())),"#)
    } else if guard_only {
        String::new()
    } else {
        format!(
            r#"web: (bind: "127.0.0.1:{web_port}", overlay: Some(())),
               twitch: (helix_url: "{helix}", oauth_url: "{oauth}", eventsub_url: "{eventsub}"),
               discord: (guild_id: {GUILD_ID}, status_channel: Some({CHANNEL_ID}), api_url: Some("{api}")),"#,
            helix = twitch.helix_url(),
            oauth = twitch.oauth_url(),
            eventsub = eventsub.url(),
            api = discord.api_url,
        )
    };
    let config = dir.path().join("config.ron");
    std::fs::write(
        &config,
        format!(
            r#"(
                state_dir: "{state}",
                log: (filter: "warn"),
                obs: (port: {obs_port}),
                guard: (poll_interval: "{poll}", servers: [
                    (name: "sls", kind: SrtLiveServer(url: "{stats}", publisher: Some("publish/live/feed1"))),
                ]),
                {others}
            )"#,
            state = state.display(),
            obs_port = obs.port(),
        ),
    )
    .unwrap();

    let notify_path = dir.path().join("notify");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut command = Command::new(&bin);
    command.env_clear();
    // Passed on to compare allocator arenas and tokio's worker count.
    for variable in ["MALLOC_ARENA_MAX", "TOKIO_WORKER_THREADS"] {
        if let Ok(value) = std::env::var(variable) {
            command.env(variable, value);
        }
    }
    let mut child = command
        .args(["run", "--config", config.to_str().unwrap()])
        .current_dir(dir.path())
        .env("PATH", "/usr/bin:/bin")
        .env("NOTIFY_SOCKET", &notify_path)
        .env("OBS_PASSWORD", OBS_PASSWORD)
        .env("TWITCH_CLIENT_ID", fake_twitch::CLIENT_ID)
        .env("TWITCH_CLIENT_SECRET", fake_twitch::CLIENT_SECRET)
        .env("DISCORD_TOKEN", DISCORD_TOKEN)
        .env("ALERT_TOKEN", "footprint-alert-token")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut buffer = [0u8; 512];
    let n = notify.recv(&mut buffer).expect("READY=1 from the bot");
    assert!(buffer[..n].starts_with(b"READY=1"));

    if guard_only {
        // No web server to ask: wait for OBS's stats requests and a few polls.
        let _ = obs
            .wait_for_request("GetStats", Duration::from_secs(30))
            .await
            .expect("the bot reads OBS's stats");
        let deadline = Instant::now() + Duration::from_secs(30);
        while polls.load(Ordering::Relaxed) < 3 {
            assert!(Instant::now() < deadline, "the guard does not poll");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    } else {
        wait_connected(web_port, &eventsub, &discord).await;
    }

    eprintln!(
        "connected; warming up {} s, then measuring {} s",
        warmup.as_secs(),
        window.as_secs()
    );
    tokio::time::sleep(warmup).await;
    let obs_requests_before = obs.requests().len();
    let polls_before = polls.load(Ordering::Relaxed);
    let started = Instant::now();
    let ticks_before = cpu_ticks(pid);
    let mut samples = Vec::new();
    let mut minute = Vec::new();
    while started.elapsed() < window {
        let rss = common::status_field(pid, "VmRSS");
        samples.push(rss);
        minute.push(rss);
        if minute.len() == 60 {
            let (low, high) = (minute.iter().min(), minute.iter().max());
            let (all_low, all_high) = (samples.iter().min(), samples.iter().max());
            eprintln!(
                "minute {}: RSS {:.2}..{:.2} MiB; so far {:.2}..{:.2} MiB",
                samples.len() / 60,
                common::mib(low.copied().unwrap_or(0)),
                common::mib(high.copied().unwrap_or(0)),
                common::mib(all_low.copied().unwrap_or(0)),
                common::mib(all_high.copied().unwrap_or(0)),
            );
            minute.clear();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let ticks = cpu_ticks(pid) - ticks_before;
    let elapsed = started.elapsed();
    let (anon, file, threads) = (
        common::status_field(pid, "RssAnon"),
        common::status_field(pid, "RssFile"),
        common::status_field(pid, "Threads"),
    );
    let obs_requests = obs.requests().len() - obs_requests_before;
    let stats_polls = polls.load(Ordering::Relaxed) - polls_before;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the bot stopped during the window"
    );

    // SIGTERM, and the exit within 5 s.
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();

    // SAFETY: sysconf only reads a constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let cpu_percent = ticks as f64 / hz / elapsed.as_secs_f64() * 100.0;
    let first = samples.first().copied().unwrap_or(0);
    let last = samples.last().copied().unwrap_or(0);
    let mut sorted = samples.clone();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    let min = sorted[0];
    let max = sorted[sorted.len() - 1];

    let stripped = dir.path().join("stream-control.stripped");
    let strip = Command::new("strip")
        .args(["-o", stripped.to_str().unwrap(), bin.as_str()])
        .status()
        .expect("strip (binutils)");
    assert!(strip.success());
    let size = |p: &std::path::Path| std::fs::metadata(p).unwrap().len() as f64 / 1e6;

    println!("binary: {bin}");
    println!(
        "sections: {}; poll_interval {poll}",
        match (guard_only, with_web) {
            (true, true) => "obs, guard, web with overlay (--guard-only --web)",
            (true, false) => "obs, guard (--guard-only)",
            _ => "obs, guard, twitch, discord (status message), web with overlay",
        }
    );
    println!(
        "window: {:.0} s after {} s of warm-up; {} RSS samples; {obs_requests} OBS requests and {stats_polls} stats polls in the window; {threads} threads",
        elapsed.as_secs_f64(),
        warmup.as_secs(),
        samples.len()
    );
    println!(
        "| RSS median | RSS min … max | RSS first → last | of which anonymous / file-backed (end) | CPU (one core) | binary stripped | unstripped |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {:.1} MiB | {:.2} … {:.2} MiB | {:.1} → {:.1} MiB | {:.1} / {:.1} MiB | {:.3} % ({ticks} ticks of 1/{hz} s) | {:.1} MB | {:.1} MB |",
        common::mib(median),
        common::mib(min),
        common::mib(max),
        common::mib(first),
        common::mib(last),
        common::mib(anon),
        common::mib(file),
        cpu_percent,
        size(&stripped),
        size(std::path::Path::new(&bin)),
    );
}

/// Until `/api/status` shows every peer connected and the chat subscription and the Discord
/// status message exist.
async fn wait_connected(web_port: u16, eventsub: &FakeEventSub, discord: &FakeDiscord) {
    let http = stream_control::tls::Tls::system()
        .http_client()
        .no_proxy()
        .build()
        .unwrap();
    let status_url = format!("http://127.0.0.1:{web_port}/api/status");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status: serde_json::Value = match http.get(&status_url).send().await {
            Ok(response) => response.json().await.unwrap_or_default(),
            Err(_) => serde_json::Value::Null,
        };
        let connected = status["obs"]["connection"]["state"] == "connected"
            && status["guard"]["active_server"] == "sls"
            && status["twitch"]["eventsub"]["state"] == "connected"
            && status["discord"]["state"] == "connected";
        if connected {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the bot did not connect to every peer: {status:#}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        eventsub
            .wait_for_subscription("channel.chat.message", Duration::from_secs(15))
            .await
            .is_some(),
        "subscribed to chat"
    );
    discord
        .wait_for("the status message", |view| {
            (!view.messages_in(CHANNEL_ID).is_empty()).then_some(())
        })
        .await;
}
