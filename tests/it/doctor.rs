//! `stream-control doctor` against the fakes, all on 127.0.0.1: fake OBS (right, wrong and
//! missing password, a missing scene), a stats server (a page the configured parser reads, an
//! unparseable one, another server's page), fake Twitch OAuth validate (scopes, another
//! application, expired tokens, not logged in), fake Discord (`/users/@me`, its servers and
//! permissions, a refused token), fake `nginx`, `systemctl` and `sudo` executables. Every ✗
//! carries its fix and makes the binary exit 1; all ✓ exits 0; absent sections are skipped;
//! a hanging check is cut at its timeout; no secret is ever printed.

use stream_control_test_support::fake_discord;
use stream_control_test_support::fake_exec;
use stream_control_test_support::fake_obs;
use stream_control_test_support::fake_twitch;

use fake_discord::{FakeDiscord, GUILD_ID};
use fake_exec::FakeProgram;
use fake_obs::{FakeObs, FakeObsOptions};
use fake_twitch::{BROADCASTER_ID, FakeTwitch};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use stream_control::doctor::{self, Check, Options, Outcome, Report};
use stream_control::secrets::Secrets;
use stream_control::twitch::auth::{self, TOKEN_FILE};

const BIN: &str = env!("CARGO_BIN_EXE_stream-control");
const OBS_PASSWORD: &str = "obs-password-s3cr3t-4711";
const DISCORD_TOKEN: &str = "discord-bot-token-s3cr3t-0815";
const ALERT_TOKEN: &str = "alert-token-s3cr3t-1234";
const NGINX_ERROR: &str = "nginx: [emerg] unknown directive \"pussh\" in /etc/nginx/stream-control/restream.conf:3\nnginx: configuration file /etc/nginx/nginx.conf test failed";

/// The environment doctor sees: every secret set, the Twitch client id of the fake.
fn environment() -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("OBS_PASSWORD", OBS_PASSWORD.to_string()),
        ("TWITCH_CLIENT_ID", fake_twitch::CLIENT_ID.to_string()),
        (
            "TWITCH_CLIENT_SECRET",
            fake_twitch::CLIENT_SECRET.to_string(),
        ),
        ("DISCORD_TOKEN", DISCORD_TOKEN.to_string()),
        ("ALERT_TOKEN", ALERT_TOKEN.to_string()),
    ])
}

fn secrets(env: &BTreeMap<&'static str, String>) -> Secrets {
    Secrets::from_lookup(|name| env.get(name).cloned())
}

/// A stats server: `/sls` (an SLS page with `publish/live/feed1` live), `/garbage` (a text
/// page no parser reads), `/nginx` (an nginx-rtmp stat page).
async fn stats_server() -> String {
    use axum::routing::get;
    let sls = include_str!("../fixtures/stats/sls_publishers.json");
    let nginx = include_str!("../fixtures/stats/nginx_stat_sample.xml");
    let app = axum::Router::new()
        .route("/sls", get(move || async move { sls }))
        .route(
            "/garbage",
            get(|| async { "Service temporarily unavailable, try later" }),
        )
        .route("/nginx", get(move || async move { nginx }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

/// Every section configured against the fakes.
struct Rig {
    dir: tempfile::TempDir,
    obs: FakeObs,
    twitch: FakeTwitch,
    discord: FakeDiscord,
    nginx: FakeProgram,
    systemctl: FakeProgram,
    sudo: FakeProgram,
    stats: String,
    env: BTreeMap<&'static str, String>,
}

impl Rig {
    /// Everything healthy: OBS with the password in OBS_PASSWORD, a stats page the SLS parser
    /// reads, a token with every scope, Discord accepting DISCORD_TOKEN, `nginx -t` passing,
    /// both units active.
    async fn healthy() -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(dir.path().join("nginx")).unwrap();
        let obs = FakeObs::start(FakeObsOptions {
            password: Some(OBS_PASSWORD.into()),
            ..FakeObsOptions::default()
        })
        .await;
        let twitch = FakeTwitch::start(None).await;
        let discord = FakeDiscord::start().await;
        discord.require_token(DISCORD_TOKEN);
        let rig = Rig {
            obs,
            nginx: FakeProgram::new(&bin, "nginx"),
            systemctl: FakeProgram::new(&bin, "systemctl"),
            sudo: FakeProgram::new(&bin, "sudo"),
            stats: stats_server().await,
            twitch,
            discord,
            dir,
            env: environment(),
        };
        rig.systemctl.answer(None, 0, "active\nactive\n", "");
        rig.login(auth::SCOPES, Duration::from_secs(4 * 3600));
        rig
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Store a broadcaster token with these scopes.
    fn login(&self, scopes: &[&str], expires_in: Duration) -> (String, String) {
        self.twitch.sign_in(
            &self.state(),
            TOKEN_FILE,
            BROADCASTER_ID,
            scopes,
            expires_in,
        )
    }

    /// The configuration with every section; `servers` are extra guard servers, `extra` goes
    /// at the top level. Written to `config.ron`; returns its path.
    fn config(&self, servers: &str, use_sudo: bool, extra: &str) -> PathBuf {
        let text = format!(
            r#"(
                state_dir: "{state}",
                obs: (port: {obs}, request_timeout: "2s"),
                guard: (servers: [
                    (name: "sls", kind: SrtLiveServer(url: "{stats}/sls", publisher: Some("publish/live/feed1"))),
                    {servers}
                ]),
                twitch: (helix_url: "{helix}", oauth_url: "{oauth}"),
                discord: (guild_id: {GUILD_ID}, {proxy}),
                {tls},
                restream: (include_path: "{dir}/nginx/restream.conf", command_timeout: "10s"),
                services: (units: {{"nginx": "nginx.service", "stunnel": "stunnel@restream.service"}}),
                programs: (sudo: "{sudo}", use_sudo: Some({use_sudo}), nginx: "{nginx}",
                           systemctl: "{systemctl}", journalctl: "{systemctl}"),
                {extra}
            )"#,
            state = self.state().display(),
            obs = self.obs.port(),
            stats = self.stats,
            helix = self.twitch.helix_url(),
            oauth = self.twitch.oauth_url(),
            proxy = self.discord.bot_config(),
            tls = self.discord.tls_config(),
            dir = self.dir.path().display(),
            sudo = self.sudo.path.display(),
            nginx = self.nginx.path.display(),
            systemctl = self.systemctl.path.display(),
        );
        let path = self.dir.path().join("config.ron");
        std::fs::write(&path, text).unwrap();
        path
    }

    async fn doctor(&self, config: &Path) -> Report {
        doctor::run(
            config,
            secrets(&self.env),
            Options {
                timeout: Duration::from_secs(15),
                env_file: None,
            },
        )
        .await
    }

    /// The real binary: exit code and stdout.
    fn binary(&self, config: &Path) -> (Option<i32>, String) {
        let mut command = std::process::Command::new(BIN);
        command
            .args(["doctor", "--config", config.to_str().unwrap()])
            .current_dir(self.dir.path())
            .env_remove("RUST_LOG");
        for (name, _) in stream_control::secrets::VARIABLES {
            command.env_remove(name);
        }
        command.envs(self.env.iter().map(|(k, v)| (*k, v.as_str())));
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.trim().is_empty(), "stderr: {stderr}");
        (output.status.code(), stdout)
    }
}

fn check<'a>(report: &'a Report, name: &str) -> &'a Check {
    report
        .get(name)
        .unwrap_or_else(|| panic!("no check {name:?} in:\n{}", report.render()))
}

/// The check failed, its detail says `detail` and its fix says `fix`.
fn assert_fails(report: &Report, name: &str, detail: &str, fix: &str) {
    let check = check(report, name);
    let text = report.render();
    assert_eq!(check.outcome, Outcome::Fail, "{name}:\n{text}");
    assert!(check.detail.contains(detail), "{name} detail:\n{text}");
    let fixed = check.fix.as_deref().unwrap_or_default();
    assert!(fixed.contains(fix), "{name} fix {fixed:?}:\n{text}");
}

fn assert_ok(report: &Report, name: &str, detail: &str) {
    let check = check(report, name);
    let text = report.render();
    assert_eq!(check.outcome, Outcome::Ok, "{name}:\n{text}");
    assert!(check.detail.contains(detail), "{name} detail:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_green_exits_0_and_says_what_it_found() {
    let rig = Rig::healthy().await;
    let config = rig.config("", false, "");
    let report = rig.doctor(&config).await;
    assert!(report.passed(), "{}", report.render());
    assert_ok(&report, "config", "enabled: discord, guard, obs");
    assert_ok(&report, "environment", "set: ");
    assert_ok(&report, "OBS", "OBS 31.0.2 (obs-websocket 5.5.4)");
    assert_ok(&report, "OBS", "password accepted");
    assert_ok(&report, "OBS scenes", "every configured scene exists");
    assert_ok(
        &report,
        "stats sls",
        "the SRT Live Server parser reads it: publish/live/feed1 is live at 3990 kbps, RTT 51 ms",
    );
    // The page `/sls` is no word of a stats API: it could be a stream id, so it is not shown.
    assert_ok(&report, "stats sls", &format!("{}/… answers", rig.stats));
    assert_ok(&report, "Twitch token", "every scope granted");
    assert_eq!(check(&report, "Twitch bot token").outcome, Outcome::Skipped);
    assert_ok(
        &report,
        "Discord",
        "member of Fake Server with the permissions it uses",
    );
    assert_ok(&report, "nginx -t", "nginx accepts its configuration");
    assert_ok(&report, "restream include", "the bot can write");
    assert_ok(&report, "restream targets", "0 stored");
    assert_ok(&report, "service nginx", "nginx.service is active");
    assert_ok(
        &report,
        "service stunnel",
        "stunnel@restream.service is active",
    );
    assert_eq!(check(&report, "sudo").outcome, Outcome::Skipped);
    // nginx -t ran with the configured program, and systemctl read the states once.
    assert_eq!(rig.nginx.calls(), vec![vec!["-t".to_string()]]);
    assert_eq!(
        rig.systemctl.calls(),
        vec![vec![
            "is-active",
            "nginx.service",
            "stunnel@restream.service"
        ]]
    );
    // Doctor changes nothing: the fake OBS saw no request that changes state.
    assert!(
        rig.obs
            .requests()
            .iter()
            .all(|r| r.request_type.starts_with("Get")),
        "{:?}",
        rig.obs.requests()
    );

    let (code, stdout) = rig.binary(&config);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("✓ OBS: OBS 31.0.2"), "{stdout}");
    assert!(
        stdout.contains("– power: skipped: no `power` section"),
        "{stdout}"
    );
    assert!(!stdout.contains('✗'), "{stdout}");
}

/// OBS 29.0.2 (Debian 12) ships obs-websocket 5.1.0: connected through the compat client, and
/// doctor says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_obs_before_30_2_is_green_in_compatibility_mode() {
    let rig = Rig::healthy().await;
    rig.obs.shutdown().await;
    let obs = FakeObs::start(FakeObsOptions {
        password: Some(OBS_PASSWORD.into()),
        obs_version: "29.0.2".into(),
        websocket_version: "5.1.0".into(),
        ..FakeObsOptions::default()
    })
    .await;
    let rig = Rig { obs, ..rig };
    let config = rig.config("", false, "");
    let report = rig.doctor(&config).await;
    assert!(report.passed(), "{}", report.render());
    assert_ok(
        &report,
        "OBS",
        "OBS 29.0.2 (obs-websocket 5.1.0), compatibility mode",
    );
    assert_ok(&report, "OBS", "password accepted");
    assert_ok(&report, "OBS scenes", "every configured scene exists");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failure_is_a_cross_with_its_fix_and_exit_1_and_no_secret_is_shown() {
    let rig = Rig::healthy().await;
    // OBS wants another password; Discord another token; the token lacks scopes; nginx -t
    // fails; a unit failed; two stats pages no SLS parser reads; one unreachable URL with a
    // secret in it.
    let obs = rig.obs;
    obs.shutdown().await;
    let obs = FakeObs::start(FakeObsOptions {
        password: Some("the-real-password-in-obs".into()),
        ..FakeObsOptions::default()
    })
    .await;
    let rig = Rig { obs, ..rig };
    rig.discord.require_token("another-token-entirely");
    let (access, refresh) = rig.login(&["user:read:chat"], Duration::from_secs(3600));
    rig.nginx.answer(Some("-t"), 1, "", NGINX_ERROR);
    rig.systemctl.answer(None, 3, "active\nfailed\n", "");
    let servers = format!(
        r#"(name: "garbage", kind: SrtLiveServer(url: "{stats}/garbage")),
           (name: "wrongtype", kind: SrtLiveServer(url: "{stats}/nginx")),
           (name: "down", kind: Belabox(url: "http://viewer:hunter2-pass@127.0.0.1:1/stats/streamid-7f3a?key={ALERT_TOKEN}")),"#,
        stats = rig.stats
    );
    let config = rig.config(&servers, false, "");
    let report = rig.doctor(&config).await;
    assert!(!report.passed());
    assert_fails(
        &report,
        "OBS",
        "refused the password in OBS_PASSWORD",
        "Tools → WebSocket Server Settings",
    );
    assert_eq!(check(&report, "OBS scenes").outcome, Outcome::Skipped);
    assert_ok(&report, "stats sls", "is live at 3990 kbps");
    assert_fails(
        &report,
        "stats garbage",
        "SRT Live Server stats: invalid JSON",
        "is the SRT Live Server stats page",
    );
    assert_fails(
        &report,
        "stats wrongtype",
        "looks like an nginx-rtmp stat page: set the type to NginxRtmp",
        "change the kind of guard.servers[2]",
    );
    assert_fails(
        &report,
        "stats down",
        // Which server: its name and address, without credentials, query or stream id.
        "cannot reach http://127.0.0.1:1/stats/…",
        "start the stats server, or correct the URL in guard.servers[3].kind",
    );
    assert_fails(
        &report,
        "Twitch token",
        "lacks the scopes channel:manage:broadcast, channel:manage:raids, user:write:chat, \
         clips:edit, channel:edit:commercial, channel:manage:ads, channel:read:ads",
        "`stream-control twitch login` again",
    );
    assert_fails(
        &report,
        "Discord",
        "Discord refuses DISCORD_TOKEN (401 Unauthorized)",
        "Reset Token",
    );
    assert_fails(
        &report,
        "nginx -t",
        "unknown directive \"pussh\"",
        "nginx's message above names the problem",
    );
    assert_ok(&report, "service nginx", "active");
    assert_fails(
        &report,
        "service stunnel",
        "stunnel@restream.service is failed",
        "journalctl -u stunnel@restream.service",
    );
    assert_eq!(report.failures().count(), 8, "{}", report.render());

    let (code, stdout) = rig.binary(&config);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("✗ OBS: OBS at 127.0.0.1:")
            && stdout.contains("    fix: copy the server password"),
        "{stdout}"
    );
    assert!(stdout.contains("8 failed"), "{stdout}");
    for secret in [
        OBS_PASSWORD,
        DISCORD_TOKEN,
        ALERT_TOKEN,
        "viewer",
        "hunter2-pass",
        "streamid-7f3a",
        fake_twitch::CLIENT_SECRET,
        &access,
        &refresh,
    ] {
        assert!(!stdout.contains(secret), "{secret} in:\n{stdout}");
        assert!(!report.render().contains(secret), "{secret} in the report");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn obs_without_the_password_with_a_wrong_one_and_with_the_right_one() {
    let rig = Rig::healthy().await;
    let extra = "";
    let config = rig.config("", false, extra);
    let mut without = rig.env.clone();
    without.remove("OBS_PASSWORD");
    let report = doctor::run(&config, secrets(&without), Options::default()).await;
    assert_fails(
        &report,
        "OBS",
        "asks for a password and OBS_PASSWORD is not set",
        "set OBS_PASSWORD",
    );
    // The environment check says so too, but it is not an error on its own.
    assert_ok(&report, "environment", "OBS_PASSWORD is not set");

    let mut wrong = rig.env.clone();
    wrong.insert("OBS_PASSWORD", "not-the-password".into());
    let report = doctor::run(&config, secrets(&wrong), Options::default()).await;
    assert_fails(
        &report,
        "OBS",
        "refused the password in OBS_PASSWORD",
        "into OBS_PASSWORD",
    );

    // The right password, and a scene name OBS does not have.
    std::fs::write(
        &config,
        std::fs::read_to_string(&config).unwrap().replace(
            r#"request_timeout: "2s")"#,
            r#"request_timeout: "2s", scenes: (low: "Camera 3"))"#,
        ),
    )
    .unwrap();
    let report = rig.doctor(&config).await;
    assert_ok(&report, "OBS", "password accepted");
    assert_fails(
        &report,
        "OBS scenes",
        "OBS has no scene Camera 3; it has: LIVE, LOW, BRB, OFFLINE, Starting soon",
        "set `obs.scenes`",
    );

    // Audio inputs and sources: each one OBS refuses is named with OBS's reason; a source that
    // follows the program scene is not checked.
    assert!(
        report.get("OBS inputs and sources").is_none(),
        "no check without audio inputs or sources"
    );
    let healthy = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        healthy.replace(
            r#"scenes: (low: "Camera 3"))"#,
            r#"audio_inputs: ["Mic/Aux"], sources: [(name: "Webcam", scene: Some("LIVE")), (name: "Chat")])"#,
        ),
    )
    .unwrap();
    let report = rig.doctor(&config).await;
    assert_ok(
        &report,
        "OBS inputs and sources",
        "1 audio input(s) can be muted, 1 source(s) are in their scenes",
    );
    std::fs::write(
        &config,
        healthy.replace(
            r#"scenes: (low: "Camera 3"))"#,
            r#"audio_inputs: ["Webcam", "Ghost"], sources: [(name: "Webcam", scene: Some("BRB")), (name: "SRT Ingest", scene: Some("LOW"))])"#,
        ),
    )
    .unwrap();
    let report = rig.doctor(&config).await;
    assert_fails(
        &report,
        "OBS inputs and sources",
        "audio input Webcam: The specified input does not support audio.; audio input Ghost: \
         No source was found by the name of `Ghost`.; source SRT Ingest in LOW: No scene items \
         were found in the specified scene by that name or offset.",
        "set `obs.audio_inputs` and `obs.sources`",
    );
    std::fs::write(&config, healthy).unwrap();

    // OBS gone.
    let port = rig.obs.port();
    rig.obs.shutdown().await;
    let report = doctor::run(&config, secrets(&rig.env), Options::default()).await;
    assert_fails(
        &report,
        "OBS",
        &format!("cannot reach OBS at 127.0.0.1:{port}"),
        "turn on its WebSocket server",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twitch_tokens_not_logged_in_another_application_and_expired() {
    let rig = Rig::healthy().await;
    let config = rig.config("", false, "");
    std::fs::remove_file(rig.state().join(TOKEN_FILE)).unwrap();
    let report = rig.doctor(&config).await;
    assert_fails(
        &report,
        "Twitch token",
        "not logged in",
        "run `stream-control twitch login`",
    );

    rig.login(auth::SCOPES, Duration::from_secs(3600));
    let mut other = rig.env.clone();
    other.insert("TWITCH_CLIENT_ID", "someotherapplication12".into());
    let report = doctor::run(&config, secrets(&other), Options::default()).await;
    assert_fails(
        &report,
        "Twitch token",
        "belongs to another Twitch application than TWITCH_CLIENT_ID",
        "set TWITCH_CLIENT_ID to the application you logged in with",
    );

    // An expired access token with a refresh token is the bot's to refresh: not an error.
    let (access, _) = rig.login(auth::SCOPES, Duration::from_secs(3600));
    rig.twitch.expire(&access);
    let report = rig.doctor(&config).await;
    assert_ok(&report, "Twitch token", "the access token has expired");
    // Doctor never refreshes (the running bot owns the tokens).
    assert_eq!(rig.twitch.request_count("/oauth2/token"), 0);

    // A bot account with too few scopes is checked like the broadcaster's.
    rig.twitch.sign_in(
        &rig.state(),
        auth::BOT_TOKEN_FILE,
        BROADCASTER_ID,
        &["user:read:chat"],
        Duration::from_secs(3600),
    );
    let report = rig.doctor(&config).await;
    assert_fails(
        &report,
        "Twitch bot token",
        "lacks the scopes user:write:chat",
        "`stream-control twitch login --bot`",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_bot_not_in_the_server_or_without_permissions() {
    let rig = Rig::healthy().await;
    let config = rig.config("", false, "");
    rig.discord.set_guild_permissions(1 << 10 | 1 << 11);
    let report = rig.doctor(&config).await;
    assert_fails(
        &report,
        "Discord",
        "lacks: Embed Links, Attach Files, Read Message History",
        "permissions=117760",
    );
    rig.discord.set_guild_permissions(1 << 3);
    assert_ok(&rig.doctor(&config).await, "Discord", "accepted");
    rig.discord.leave_guild();
    let report = rig.doctor(&config).await;
    assert_fails(
        &report,
        "Discord",
        &format!("is not in the server {GUILD_ID}"),
        &format!(
            "client_id={}&scope=bot+applications.commands&permissions=117760",
            fake_discord::APP_ID
        ),
    );
    let mut without = rig.env.clone();
    without.remove("DISCORD_TOKEN");
    let report = doctor::run(&config, secrets(&without), Options::default()).await;
    assert_fails(
        &report,
        "Discord",
        "DISCORD_TOKEN is not set",
        "set DISCORD_TOKEN",
    );
    assert_fails(
        &report,
        "environment",
        "not set: DISCORD_TOKEN",
        "/etc/stream-control/env",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sudo_is_asked_with_dash_l_for_every_privileged_command() {
    let rig = Rig::healthy().await;
    let config = rig.config("", true, "");
    let report = rig.doctor(&config).await;
    assert_ok(
        &report,
        "sudo",
        "sudo allows all 8 privileged commands without a password",
    );
    let calls = rig.sudo.calls();
    let nginx = rig.nginx.path.display().to_string();
    let systemctl = rig.systemctl.path.display().to_string();
    for expected in [
        vec!["-n", nginx.as_str(), "-t"],
        vec!["-n", "-l", nginx.as_str(), "-t"],
        vec!["-n", "-l", nginx.as_str(), "-s", "reload"],
        vec!["-n", "-l", systemctl.as_str(), "restart", "nginx.service"],
        vec![
            "-n",
            "-l",
            systemctl.as_str(),
            "-u",
            "stunnel@restream.service",
            "-n",
            "1000",
            "-o",
            "short-iso",
            "--no-pager",
        ],
    ] {
        assert!(
            calls.contains(&expected.iter().map(|s| s.to_string()).collect()),
            "{expected:?} not in {calls:#?}"
        );
    }
    // Refused: every command is listed with sudo's words, and nginx -t (through sudo) says so.
    rig.sudo
        .answer(None, 1, "", "sudo: a password is required\n");
    let report = rig.doctor(&config).await;
    assert_fails(
        &report,
        "sudo",
        &format!(
            "sudo refuses 8 of 8 privileged commands:\n{nginx} -t: sudo: a password is required\n{nginx} -s reload: sudo: a password is required"
        ),
        "install packaging/stream-control.service.d/sudo.conf as the unit's drop-in",
    );
    assert_fails(
        &report,
        "sudo",
        "sudo refuses 8 of 8",
        "install the rules `stream-control sudoers` prints",
    );
    assert_fails(
        &report,
        "nginx -t",
        "a password is required",
        "install the rules `stream-control sudoers` prints, which include nginx",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_check_is_cut_at_its_timeout() {
    let rig = Rig::healthy().await;
    let config = rig.config("", false, "");
    rig.nginx.hang(Some("-t"));
    let started = std::time::Instant::now();
    let report = doctor::run(
        &config,
        secrets(&rig.env),
        Options {
            timeout: Duration::from_millis(800),
            env_file: None,
        },
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_fails(
        &report,
        "restream",
        "did not finish within 800ms",
        "something it waits for hangs",
    );
    // The other checks still ran.
    assert_ok(&report, "OBS", "password accepted");
}

#[tokio::test]
async fn absent_sections_are_skipped_and_a_bad_config_is_a_cross() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.ron");
    std::fs::write(
        &path,
        format!("(state_dir: \"{}\")", dir.path().join("state").display()),
    )
    .unwrap();
    let report = doctor::run(&path, Secrets::default(), Options::default()).await;
    assert!(report.passed(), "{}", report.render());
    for name in [
        "OBS", "guard", "Twitch", "Kick", "Discord", "restream", "services", "power",
    ] {
        let check = check(&report, name);
        assert_eq!(check.outcome, Outcome::Skipped, "{name}");
        assert!(check.detail.contains("no `"), "{name}: {}", check.detail);
    }
    std::fs::write(&path, "(obs: (port: 99999), colour: true)").unwrap();
    let report = doctor::run(&path, Secrets::default(), Options::default()).await;
    assert_fails(&report, "config", "2 problems", "check-config");
    assert_eq!(report.checks.len(), 2);
    let output = std::process::Command::new(BIN)
        .args(["doctor", "--config", path.to_str().unwrap()])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("✗ config: "), "{stdout}");
}
