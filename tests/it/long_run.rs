//! Faults over a long run (issue #15 §6): one bot with every peer feature on (OBS, the guard,
//! Twitch chat and EventSub, Discord with alerts and a status message, the web server with the
//! overlay, restream, stream-PC power) against every fake, for 24 simulated hours on a paused
//! clock, with faults at random times from a seeded RNG: OBS killed and restarted, EventSub
//! `session_reconnect` and revocations, Discord op 7 / op 9 / 429, the stats page flapping
//! (low bitrate, HTTP 500s, timeouts), `nginx -t` failing during a restream change, ssh timing
//! out during a power command.
//!
//! Asserts: the tokio alive-task count is flat (the same at every hour once warmed up); every
//! guard transition reaches the Discord alerts channel and Twitch chat exactly once, in order;
//! every state file parses (and secret ones are 0600) after every fault; every fault is
//! logged exactly once.
//!
//! The seed is printed; `LONG_RUN_SEED=<n>` replays a run, `LONG_RUN_HOURS=<n>` shortens it,
//! `LONG_RUN_LOG=<filter>` widens the captured log (default `warn,stream_control=info`).
//!
//! How the clock moves: real loopback sockets and child processes on a paused clock. Left to
//! itself, tokio advances a paused clock to the next timer whenever the runtime idles, even
//! with a reply in flight or a child process running, so a timeout could fire that never would
//! in production. Here a blocking task holds auto-advance off (tokio's test-util inhibits it
//! while a `spawn_blocking` task runs) and the test moves the clock itself, [`STEP`] at a time,
//! letting every task run and every socket drain between steps (`settle`). The clock does not
//! move while a program the bot started (a fake nginx or ssh) runs: the test waits for its
//! exit. Every fake runs on the test's runtime (`FakeEventSub::start_on_test_runtime`), so its
//! keepalives follow the same clock, and every fake's socket has TCP_NODELAY: a segment held
//! back by Nagle for a delayed ACK is a real-time wait the paused clock cannot see.
//!
//! Not covered: serenity times its gateway heartbeats with `std::time::Instant` (real time),
//! so over the simulated day it sends none; the fake Discord does not require them.

use stream_control_test_support as support;
use stream_control_test_support::fake_discord;
use stream_control_test_support::fake_eventsub;
use stream_control_test_support::fake_exec;
use stream_control_test_support::fake_obs;
use stream_control_test_support::fake_twitch;

use fake_discord::{FakeDiscord, GUILD_ID};
use fake_eventsub::FakeEventSub;
use fake_exec::FakeProgram;
use fake_obs::{FakeObs, FakeObsOptions};
use fake_twitch::{BROADCASTER_ID, FakeTwitch};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stream_control::app::{App, Context, RunOptions};
use stream_control::config::{LogConfig, LogFormat};
use stream_control::dispatch::Invoker;
use stream_control::reply::{Outcome, keys};
use stream_control::secrets::{Redactor, Secrets};
use stream_control::status::{Event, ObsConnection};
use stream_control::twitch::auth::{self, TOKEN_FILE};

const ALERTS_CHANNEL: u64 = 300_000_000_000_000_021;
const STATUS_CHANNEL: u64 = 300_000_000_000_000_022;
const TWITCH_URL: &str =
    "rtmp://ingest.global-contribute.live-video.net/app/live_123456789_abcdefghij";
/// One step of the clock.
const STEP: Duration = Duration::from_secs(2);
/// Scheduler rounds between two steps: each round polls the sockets once and runs every task
/// that became ready, so a request and its answer over loopback (a few rounds, TLS included)
/// complete before the clock moves again.
const SETTLE_ROUNDS: usize = 6;
/// Faults are spread one per slot, at a random second in its first minutes.
const SLOT: Duration = Duration::from_secs(15 * 60);
/// The latest start of a fault in its slot; every fault and its recovery fit in the rest.
const SLOT_JITTER_SECS: u64 = 5 * 60;
/// How long a stats fault (low bitrate, HTTP 500s, timeouts) lasts.
const STATS_FAULT: Duration = Duration::from_secs(90);
/// How long a Discord 429 fault lasts (the global limit at one request per minute).
const LIMITED: Duration = Duration::from_secs(120);
/// The longest a wait for an expected outcome may take (simulated).
const WAIT: Duration = Duration::from_secs(120);
/// The longest a child process (a fake nginx or ssh) may take to be seen (real time).
const CHILD_WAIT: std::time::Duration = std::time::Duration::from_secs(30);
/// Hours of warm-up before the task count must stay flat.
const WARM_UP_HOURS: u64 = 1;
/// How far the hourly task counts may differ once warmed up: a keep-alive connection (and its
/// task) may be open or just closed when the count is taken.
const TASK_SLACK: usize = 3;

/// SplitMix64: small, seedable, good enough to spread faults.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    ObsKilled,
    EventSubReconnect,
    EventSubRevocation,
    DiscordReconnect,
    DiscordInvalidSession,
    Discord429,
    StatsLow,
    Stats500,
    StatsTimeout,
    NginxTestFails,
    SshTimeout,
}

const FAULTS: [Fault; 11] = [
    Fault::ObsKilled,
    Fault::EventSubReconnect,
    Fault::EventSubRevocation,
    Fault::DiscordReconnect,
    Fault::DiscordInvalidSession,
    Fault::Discord429,
    Fault::StatsLow,
    Fault::Stats500,
    Fault::StatsTimeout,
    Fault::NginxTestFails,
    Fault::SshTimeout,
];

/// What the stats page answers.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Live(u32),
    Status(u16),
    /// Accept the request and never answer.
    Hang,
}

async fn stats_server(answer: Arc<Mutex<Answer>>) -> String {
    use axum::response::IntoResponse;
    let app = axum::Router::new().route(
        "/stats",
        axum::routing::get(move || {
            let answer = *answer.lock().unwrap();
            async move {
                match answer {
                    Answer::Live(kbps) => format!(
                        r#"{{"publishers": {{"live/feed": {{"bitrate": {kbps}, "rtt": 40, "uptime": 10}}}}, "status": "ok"}}"#
                    )
                    .into_response(),
                    Answer::Status(code) => axum::http::StatusCode::from_u16(code)
                        .unwrap()
                        .into_response(),
                    Answer::Hang => std::future::pending().await,
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/stats", listener.local_addr().unwrap());
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Keeps tokio from advancing the paused clock by itself while it lives.
struct ClockHold(#[allow(dead_code)] std::sync::mpsc::Sender<()>);

fn hold_clock() -> ClockHold {
    let (release, held) = std::sync::mpsc::channel::<()>();
    tokio::task::spawn_blocking(move || {
        let _ = held.recv();
    });
    ClockHold(release)
}

/// Let every ready task run and every socket drain, without moving the clock.
async fn settle() {
    for _ in 0..SETTLE_ROUNDS {
        tokio::task::yield_now().await;
    }
}

struct Rig {
    obs: FakeObs,
    eventsub: FakeEventSub,
    twitch: FakeTwitch,
    discord: FakeDiscord,
    nginx: FakeProgram,
    ssh: FakeProgram,
    answer: Arc<Mutex<Answer>>,
    ctx: Arc<Context>,
    app: App,
    state: std::path::PathBuf,
    log: Arc<Mutex<Vec<u8>>>,
    /// Guard transitions seen on the bus, in order: `low`, `restored`, `offline`.
    transitions: Vec<&'static str>,
    events: stream_control::status::Events,
    /// Simulated seconds since the start.
    now: u64,
    /// A fake program hangs on purpose: the clock moves on while it runs.
    hanging: bool,
    /// Whether the restream target is on (each `nginx -t` fault toggles it).
    restream_on: bool,
    /// The log capture stays this thread's subscriber while the rig lives.
    _log_guard: tracing::subscriber::DefaultGuard,
    _dir: tempfile::TempDir,
}

impl Rig {
    /// One step of the clock, then everything that became due runs. The clock does not move
    /// while a program the bot started still runs (unless a fault makes it hang).
    async fn step(&mut self) {
        if !self.hanging {
            let started = std::time::Instant::now();
            while children_running() {
                assert!(started.elapsed() < CHILD_WAIT, "a child process hangs");
                tokio::task::yield_now().await;
            }
        }
        tokio::time::advance(STEP).await;
        settle().await;
        self.now += STEP.as_secs();
        self.drain_events();
    }

    fn drain_events(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            match event {
                Event::BitrateLow(_) => self.transitions.push("low"),
                Event::BitrateRestored(_) => self.transitions.push("restored"),
                Event::IngestOffline(_) => self.transitions.push("offline"),
                _ => {}
            }
        }
    }

    /// Step until `check` holds, at most [`WAIT`].
    async fn until(&mut self, what: &str, check: impl Fn(&Rig) -> bool) {
        let deadline = self.now + WAIT.as_secs();
        while !check(self) {
            assert!(
                self.now < deadline,
                "{what}: not within {WAIT:?} (at {}s)\nstatus: {:#?}\nlog:\n{}",
                self.now,
                *self.ctx.status.borrow(),
                self.log_text()
            );
            self.step().await;
        }
    }

    async fn run_for(&mut self, span: Duration) {
        for _ in 0..span.as_secs().div_ceil(STEP.as_secs()) {
            self.step().await;
        }
    }

    fn set(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    fn obs_connected(&self) -> bool {
        self.ctx
            .status
            .borrow()
            .obs
            .as_ref()
            .is_some_and(|o| o.connection == ObsConnection::Connected)
    }

    fn guard_level(&self) -> Option<&'static str> {
        self.ctx
            .status
            .borrow()
            .guard
            .as_ref()
            .and_then(|g| g.level)
    }

    fn chat_subscribed(&self) -> bool {
        self.ctx.status.borrow().twitch.as_ref().is_some_and(|t| {
            t.eventsub.state == "connected"
                && t.eventsub
                    .subscriptions
                    .get("channel.chat.message")
                    .is_some_and(|v| v == "enabled")
        })
    }

    fn log_lines(&self) -> usize {
        self.log_text().lines().count()
    }

    fn log_text(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().unwrap()).into_owned()
    }

    /// A command through dispatch, as the console; awaited with the clock held (a child process
    /// ends by itself).
    async fn say(&self, line: &str) -> stream_control::reply::Reply {
        support::command(&self.ctx, line, Invoker::console())
            .await
            .0
    }

    /// Every state file parses; secret ones are 0600; no temporary file is left over.
    fn check_state_files(&self, after: &str) {
        use std::os::unix::fs::PermissionsExt;
        for entry in std::fs::read_dir(&self.state).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("after {after}: {name} unreadable: {e}"));
            assert!(
                name.ends_with(".json"),
                "after {after}: an unexpected file {name} in the state directory"
            );
            serde_json::from_str::<serde_json::Value>(&text)
                .unwrap_or_else(|e| panic!("after {after}: {name} does not parse: {e}\n{text}"));
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            if name == TOKEN_FILE || name == "restream.json" {
                assert_eq!(mode, 0o600, "after {after}: {name} is {mode:o}");
            }
        }
    }
}

/// Whether a child process of this thread (the runtime's only one: every program the bot
/// starts) still runs; a zombie has ended.
fn children_running() -> bool {
    let children = std::fs::read_to_string("/proc/thread-self/children").unwrap_or_default();
    children
        .split_whitespace()
        .any(|pid| pid.parse().is_ok_and(fake_exec::process_alive))
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    for sub in ["nginx", "bin", "state"] {
        std::fs::create_dir(d.join(sub)).unwrap();
    }
    let bin = d.join("bin");
    let nginx = FakeProgram::new(&bin, "nginx");
    let systemctl = FakeProgram::new(&bin, "systemctl");
    let sudo = FakeProgram::new(&bin, "sudo");
    let ssh = FakeProgram::new(&bin, "ssh");
    let state = d.join("state");

    let answer = Arc::new(Mutex::new(Answer::Live(6000)));
    let stats = stats_server(answer.clone()).await;
    let values = support::fake_secret_values();
    let obs = FakeObs::start(FakeObsOptions {
        password: Some(values["OBS_PASSWORD"].clone()),
        streaming: true,
        ..FakeObsOptions::default()
    })
    .await;
    let eventsub = FakeEventSub::start_on_test_runtime().await;
    let twitch = FakeTwitch::start(Some(eventsub.clone())).await;
    twitch.sign_in(
        &state,
        TOKEN_FILE,
        BROADCASTER_ID,
        auth::SCOPES,
        Duration::from_secs(4 * 3600),
    );
    let discord = FakeDiscord::start().await;
    // The stream PC: accepts the bot's probes (and closes them).
    let pc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let pc_port = pc.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = pc.accept().await {
            drop(socket);
        }
    });
    let wol = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();

    let config = format!(
        r#"(
            state_dir: "{state}",
            web: (bind: "127.0.0.1:0", overlay: Some(())),
            obs: (port: {obs_port}, reconnect_min: "1s", reconnect_max: "4s"),
            guard: (poll_interval: "10s",
                    servers: [(name: "sls", kind: SrtLiveServer(url: "{stats}", publisher: Some("live/feed")), timeout: "5s")],
                    policy: (degrade_after: "20s", offline_after: "20s", recover_after: "30s",
                             live_grace: "0s", unreachable_grace: "30s")),
            twitch: (helix_url: "{helix}", oauth_url: "{oauth}", eventsub_url: "{es}"),
            discord: (guild_id: {GUILD_ID}, status_channel: Some({STATUS_CHANNEL}),
                      alerts: Some((channel: {ALERTS_CHANNEL},
                                    kinds: ["low", "restored", "offline", "obs_lost", "obs_back", "restream_failed"])),
                      {proxy}),
            restream: (include_path: "{d}/nginx/restream.conf",
                       nginx_config: Some("{d}/nginx/nginx.conf"),
                       nginx_args: ["-p", "{d}/nginx/"],
                       command_timeout: "5s"),
            power: (mac: "aa:bb:cc:01:02:fe", host: "127.0.0.1", broadcast: "{wol}",
                    probe_port: {pc_port}, ssh_user: Some("stream"), ssh_timeout: "5s"),
            programs: (nginx: "{nginx}", systemctl: "{systemctl}", sudo: "{sudo}", ssh: "{ssh}",
                       use_sudo: Some(false)),
            commands: (cooldowns: (command: "0s", user: "0s")),
            {tls},
        )"#,
        state = state.display(),
        d = d.display(),
        obs_port = obs.port(),
        helix = twitch.helix_url(),
        oauth = twitch.oauth_url(),
        es = eventsub.url(),
        proxy = discord.bot_config(),
        tls = discord.tls_config(),
        wol = wol.local_addr().unwrap(),
        pc_port = pc_port,
        nginx = nginx.path.display(),
        systemctl = systemctl.path.display(),
        sudo = sudo.path.display(),
        ssh = ssh.path.display(),
    );
    let config = stream_control_test_support::test_config(&config);
    let mut values: BTreeMap<String, String> = values;
    values.insert("TWITCH_CLIENT_ID".into(), fake_twitch::CLIENT_ID.into());
    values.insert(
        "TWITCH_CLIENT_SECRET".into(),
        fake_twitch::CLIENT_SECRET.into(),
    );
    let secrets = Secrets::from_lookup(|name| values.get(name).cloned());
    let redactor = Redactor::new(&secrets);
    let log = Arc::new(Mutex::new(Vec::new()));
    let subscriber = stream_control::logging::subscriber(
        &LogConfig {
            format: LogFormat::Json,
            filter: String::new(),
        },
        tracing_subscriber::EnvFilter::new(
            std::env::var("LONG_RUN_LOG").unwrap_or_else(|_| "warn,stream_control=info".into()),
        ),
        redactor.clone(),
        stream_control::logging::Sink::Buffer(log.clone()),
    );
    // The test's runtime has one thread: every task logs through this subscriber.
    let log_guard = tracing::subscriber::set_default(subscriber);
    let ctx = Context::new(config, secrets, redactor).unwrap();
    let events = ctx.events.subscribe_notable();
    let app = App::start(ctx.clone(), RunOptions::default());
    Rig {
        obs,
        eventsub,
        twitch,
        discord,
        nginx,
        ssh,
        answer,
        ctx,
        app,
        state,
        log,
        transitions: Vec::new(),
        events,
        now: 0,
        hanging: false,
        restream_on: true,
        _log_guard: log_guard,
        _dir: dir,
    }
}

/// One fault, injected now; returns once the bot has recovered from it.
async fn inject(rig: &mut Rig, fault: Fault) {
    match fault {
        Fault::ObsKilled => {
            rig.obs.restart().await;
            rig.until("OBS lost", |r| !r.obs_connected()).await;
            rig.until("OBS back", |r| r.obs_connected()).await;
        }
        Fault::EventSubReconnect => {
            rig.eventsub.reconnect().await;
            rig.until("chat after session_reconnect", |r| r.chat_subscribed())
                .await;
        }
        Fault::EventSubRevocation => {
            rig.eventsub
                .revoke("channel.chat.message", "moderator_removed");
            rig.until("chat revoked", |r| !r.chat_subscribed()).await;
            rig.until("chat subscribed again", |r| r.chat_subscribed())
                .await;
        }
        Fault::DiscordReconnect => {
            rig.discord.send_reconnect();
            rig.run_for(Duration::from_secs(10)).await;
        }
        Fault::DiscordInvalidSession => {
            rig.discord.send_invalid_session(false);
            rig.run_for(Duration::from_secs(10)).await;
        }
        Fault::Discord429 => {
            // A global limit the bot does not know: its next posts meet 429s and wait.
            rig.discord.set_global_limit(1, Duration::from_secs(60));
            stats_fault(rig, Answer::Live(300)).await;
            rig.run_for(LIMITED).await;
            rig.discord.set_global_limit(50, Duration::from_secs(1));
        }
        Fault::StatsLow => stats_fault(rig, Answer::Live(300)).await,
        Fault::Stats500 => stats_fault(rig, Answer::Status(500)).await,
        Fault::StatsTimeout => stats_fault(rig, Answer::Hang).await,
        Fault::NginxTestFails => {
            rig.nginx
                .fail_once("-t", "nginx: [emerg] unknown directive \"pushh\"\n");
            let line = if rig.restream_on {
                "!restream off Twitch"
            } else {
                "!restream on Twitch"
            };
            let reply = rig.say(line).await;
            assert_eq!(reply.key, keys::RESTREAM_APPLY_FAILED, "{reply:?}");
            // And a change that goes through, so the store is written too.
            let reply = rig.say(line).await;
            assert_eq!(reply.outcome, Outcome::Done, "{reply:?}");
            rig.restream_on = !rig.restream_on;
        }
        Fault::SshTimeout => {
            rig.ssh.hang(None);
            rig.hanging = true;
            let calls = rig.ssh.calls().len();
            let ctx = rig.ctx.clone();
            let command = tokio::spawn(async move {
                support::command(&ctx, "!pc restart force", Invoker::console())
                    .await
                    .0
            });
            // ssh has started (it records its call) before the clock moves on.
            let started = std::time::Instant::now();
            while rig.ssh.calls().len() == calls {
                assert!(started.elapsed() < CHILD_WAIT, "ssh was not called");
                tokio::task::yield_now().await;
            }
            while !command.is_finished() {
                rig.step().await;
            }
            let reply = command.await.unwrap();
            assert_eq!(reply.key, keys::COMMAND_TIMEOUT, "{reply:?}");
            rig.ssh.unhang(None);
            rig.hanging = false;
        }
    }
}

/// The stats page answers `answer` for [`STATS_FAULT`], then is live and good again; returns
/// once the guard is LIVE again.
async fn stats_fault(rig: &mut Rig, answer: Answer) {
    rig.set(answer);
    rig.until("the guard leaves LIVE", |r| r.guard_level() != Some("live"))
        .await;
    rig.run_for(STATS_FAULT).await;
    rig.set(Answer::Live(6000));
    rig.until("the guard LIVE again", |r| r.guard_level() == Some("live"))
        .await;
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[tokio::test(start_paused = true)]
async fn a_day_of_faults_leaks_nothing_loses_no_alert_and_logs_each_fault_once() {
    let seed = env_u64("LONG_RUN_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    });
    let hours = env_u64("LONG_RUN_HOURS").unwrap_or(24);
    eprintln!("long_run: seed {seed} (LONG_RUN_SEED={seed} replays it), {hours} simulated hours");
    let mut rng = Rng(seed);

    let clock = hold_clock();
    let mut rig = rig().await;
    rig.until("every peer connected", |r| {
        r.obs_connected()
            && r.chat_subscribed()
            && r.guard_level() == Some("live")
            && r.ctx
                .status
                .borrow()
                .discord
                .as_ref()
                .is_some_and(|d| d.commands.is_some())
    })
    .await;
    let reply = rig.say(&format!("!restream add Twitch {TWITCH_URL}")).await;
    assert_eq!(reply.key, keys::RESTREAM_ADDED, "{reply:?}");
    rig.check_state_files("the start");

    // One fault per slot after the first, kinds dealt evenly and shuffled.
    let slots = hours * 3600 / SLOT.as_secs();
    let mut kinds: Vec<Fault> = (1..slots)
        .map(|i| FAULTS[i as usize % FAULTS.len()])
        .collect();
    for i in (1..kinds.len()).rev() {
        kinds.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let plan: Vec<(u64, Fault)> = kinds
        .into_iter()
        .enumerate()
        .map(|(i, fault)| {
            let at = (i as u64 + 1) * SLOT.as_secs() + rng.below(SLOT_JITTER_SECS);
            (at, fault)
        })
        .collect();

    let mut tasks: Vec<(u64, usize)> = Vec::new();
    let mut injected: BTreeMap<Fault, usize> = BTreeMap::new();
    // Per fault: the log from its injection to the next one.
    // Per fault: where its log starts, and the requests the fake Discord answered 429 meanwhile.
    let mut windows: Vec<(Fault, usize, usize)> = Vec::new();
    let mut next = plan.iter().peekable();
    let end = hours * 3600;
    while rig.now < end {
        if rig.now % 3600 == 0 {
            let alive = tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks();
            eprintln!("long_run: hour {}: {alive} tasks", rig.now / 3600);
            tasks.push((rig.now / 3600, alive));
        }
        if let Some((_, fault)) = next.next_if(|(at, _)| *at <= rig.now) {
            let mark = rig.log_lines();
            let limited = rig.discord.view(|v| v.over_limit().len());
            inject(&mut rig, *fault).await;
            *injected.entry(*fault).or_default() += 1;
            rig.check_state_files(&format!("{fault:?} at {}s", rig.now));
            let limited = rig.discord.view(|v| v.over_limit().len()) - limited;
            windows.push((*fault, mark, limited));
        }
        rig.step().await;
    }
    // Whatever is still on its way (an alert behind a 429) arrives.
    rig.run_for(Duration::from_secs(300)).await;
    rig.check_state_files("the end");

    let log = rig.log_text();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    eprintln!("long_run: faults injected {injected:?}");

    // Every fault logged exactly once, in its own window (its injection to the next fault's).
    let mut over_limit = 0;
    for (i, (fault, mark, answered_429)) in windows.iter().enumerate() {
        let end = windows.get(i + 1).map_or(lines.len(), |w| w.1);
        let window = &lines[*mark..end];
        let count = |message: &str, field: Option<(&str, &str)>| {
            window
                .iter()
                .filter(|l| l["message"] == message)
                .filter(|l| field.is_none_or(|(k, v)| l[k] == v))
                .count()
        };
        let (what, seen, expected) = match fault {
            Fault::ObsKilled => (
                "OBS lost",
                count("lost the connection to OBS; reconnecting", None),
                1,
            ),
            Fault::EventSubReconnect => (
                "session_reconnect",
                count("EventSub session moved to a new connection", None),
                1,
            ),
            Fault::EventSubRevocation => (
                "revocation",
                count("Twitch revoked an EventSub subscription", None),
                1,
            ),
            Fault::DiscordReconnect | Fault::DiscordInvalidSession => (
                "gateway interrupted",
                count(
                    "the Discord gateway connection was interrupted; reconnected",
                    None,
                ),
                1,
            ),
            Fault::Discord429 => {
                over_limit += answered_429;
                (
                    "global 429s",
                    count(
                        "Discord answered 429 (global rate limit); retrying after the wait",
                        None,
                    ),
                    *answered_429,
                )
            }
            Fault::StatsLow => ("LOW", count("guard decided", Some(("to", "low"))), 1),
            Fault::Stats500 | Fault::StatsTimeout => (
                "unreachable",
                count("guard decided", Some(("cause", "unreachable"))),
                1,
            ),
            Fault::NginxTestFails => ("nginx -t", count("restream apply failed", None), 1),
            Fault::SshTimeout => (
                "ssh timeout",
                count("stream PC power action failed", None),
                1,
            ),
        };
        assert_eq!(
            seen, expected,
            "{fault:?} (fault {i}): {what} logged {seen} times, not {expected}"
        );
    }
    assert!(over_limit > 0, "no 429 was ever answered");
    for secret in support::fake_secret_values().values() {
        assert!(!log.contains(secret.as_str()), "a secret in the log");
    }
    assert!(
        !log.contains("panicked"),
        "a panic: {}",
        log.lines().find(|l| l.contains("panicked")).unwrap()
    );

    // Every guard transition reached Discord and Twitch chat exactly once, in order.
    let discord: Vec<String> = rig
        .discord
        .view(|v| v.messages_in(ALERTS_CHANNEL))
        .into_iter()
        .map(|m| m.content)
        .collect();
    let kind_of = |text: &str, table: &[(&str, &'static str)]| {
        table
            .iter()
            .find(|(start, _)| text.contains(start))
            .map(|(_, kind)| *kind)
    };
    let guard_alerts = [
        ("Low bitrate:", "low"),
        ("Bitrate restored:", "restored"),
        ("Ingest offline", "offline"),
    ];
    let on_discord: Vec<&str> = discord
        .iter()
        .filter_map(|m| kind_of(m, &guard_alerts))
        .collect();
    assert_eq!(on_discord, rig.transitions, "Discord alerts");
    let announcements = [
        ("Low bitrate (", "low"),
        ("Connection restored (", "restored"),
        ("Stream connection lost", "offline"),
    ];
    let on_twitch: Vec<&str> = rig
        .twitch
        .chat_messages()
        .iter()
        .filter_map(|m| kind_of(&m.message, &announcements))
        .collect();
    assert_eq!(on_twitch, rig.transitions, "Twitch chat announcements");
    let others = |start: &str| discord.iter().filter(|m| m.contains(start)).count();
    let killed = injected.get(&Fault::ObsKilled).copied().unwrap_or(0);
    assert_eq!(others("Lost OBS:"), killed, "OBS lost alerts");
    assert_eq!(others("OBS is back"), killed, "OBS back alerts");
    assert_eq!(
        others("Applying the restream targets failed"),
        injected.get(&Fault::NginxTestFails).copied().unwrap_or(0),
        "restream alerts"
    );
    assert!(
        discord.iter().all(|m| !m.starts_with('(')),
        "alerts were suppressed: {discord:?}"
    );

    // The task count is flat once warmed up.
    let warm: Vec<usize> = tasks
        .iter()
        .filter(|(hour, _)| *hour > WARM_UP_HOURS)
        .map(|(_, n)| *n)
        .collect();
    let (low, high) = (
        warm.iter().min().copied().unwrap_or(0),
        warm.iter().max().copied().unwrap_or(0),
    );
    assert!(high - low <= TASK_SLACK, "alive tasks per hour: {tasks:?}");
    eprintln!(
        "long_run: {} guard transitions, each alerted once on Discord and Twitch; {} Discord alerts in all; {over_limit} requests answered 429; alive tasks {low}..{high} after hour {WARM_UP_HOURS} ({tasks:?})",
        rig.transitions.len(),
        discord.len(),
    );
    drop(clock);
    assert!(rig.app.shutdown(Duration::from_secs(10)).await);
}
