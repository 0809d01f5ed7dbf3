//! Restream with fake `nginx`, `systemctl` and `sudo` executables that record their argv: the
//! commands end to end (add, on, off, remove, list), the exact nginx argv, the include and
//! stunnel files (golden), the store (0600, validated when read), rollback after a refused
//! test, a failed reload or a hang, keys kept out of replies, Status and events, the public
//! chat refusal, 50+ malicious or malformed inputs refused with a reason and never rendered,
//! and the seed import (library and binary). The real nginx-rtmp run is `tests/it/restream_nginx.rs`.

use stream_control_test_support as support;
use stream_control_test_support::fake_exec;

use commands::Permission;
use fake_exec::FakeProgram;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use stream_control::app::{App, Context, RunOptions};
use stream_control::config::StunnelConfig;
use stream_control::dispatch::{Invocation, Invoker, Progress, Surface, dispatch, parse_line};
use stream_control::reply::{Outcome, Reply, keys};
use stream_control::restream::endpoint::{Endpoint, Platform};
use stream_control::restream::render::render;
use stream_control::status::Event;

const TWITCH: &str = "rtmp://ingest.global-contribute.live-video.net/app/live_123456789_abcdefghij";
const TWITCH_KEY: &str = "live_123456789_abcdefghij";
const YOUTUBE: &str = "rtmps://a.rtmps.youtube.com/live2/abcd-efgh-ijkl-mnop";
const YOUTUBE_KEY: &str = "abcd-efgh-ijkl-mnop";

struct Setup {
    dir: tempfile::TempDir,
    nginx: FakeProgram,
    systemctl: FakeProgram,
    sudo: FakeProgram,
    /// The configuration text, for a second context on the same files.
    config: String,
    ctx: Arc<Context>,
}

impl Setup {
    fn include(&self) -> PathBuf {
        self.dir.path().join("nginx/restream.conf")
    }
    fn stunnel(&self) -> PathBuf {
        self.dir.path().join("stunnel/restream.conf")
    }
    fn store(&self) -> PathBuf {
        self.dir.path().join("state/restream.json")
    }
    fn conf(&self) -> String {
        self.dir
            .path()
            .join("nginx/nginx.conf")
            .display()
            .to_string()
    }
    fn prefix(&self) -> String {
        format!("{}/", self.dir.path().join("nginx").display())
    }
    /// `nginx -p <prefix> -c <conf> <args>` as recorded (without the program).
    fn nginx_args(&self, args: &[&str]) -> Vec<String> {
        let mut all = vec!["-p".to_string(), self.prefix(), "-c".into(), self.conf()];
        all.extend(args.iter().map(|a| a.to_string()));
        all
    }
    async fn say(&self, line: &str) -> (Reply, Vec<Reply>, String) {
        self.say_as(line, Invoker::console()).await
    }
    async fn say_as(&self, line: &str, invoker: Invoker) -> (Reply, Vec<Reply>, String) {
        let (reply, steps) = support::command(&self.ctx, line, invoker).await;
        let text = self.ctx.render("en-US", &reply);
        (reply, steps, text)
    }
    fn steps(&self, steps: &[Reply]) -> Vec<String> {
        steps.iter().map(|r| self.ctx.render("en-US", r)).collect()
    }
}

fn setup(extra: &str, use_sudo: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["nginx", "stunnel", "bin"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
    }
    let bin = dir.path().join("bin");
    let nginx = FakeProgram::new(&bin, "nginx");
    let systemctl = FakeProgram::new(&bin, "systemctl");
    let sudo = FakeProgram::new(&bin, "sudo");
    let d = dir.path().display();
    let config = format!(
        r#"(
            state_dir: "{d}/state",
            restream: (
                include_path: "{d}/nginx/restream.conf",
                nginx_config: Some("{d}/nginx/nginx.conf"),
                nginx_args: ["-p", "{d}/nginx/"],
                command_timeout: "1s",
                stunnel: Some((config_path: "{d}/stunnel/restream.conf")),
                {extra}
            ),
            programs: (nginx: "{nginx}", systemctl: "{systemctl}", sudo: "{sudo}", use_sudo: Some({use_sudo})),
            commands: (cooldowns: (command: "0s", user: "0s")),
        )"#,
        nginx = nginx.path.display(),
        systemctl = systemctl.path.display(),
        sudo = sudo.path.display(),
    );
    let ctx = support::context(&config);
    Setup {
        dir,
        nginx,
        systemctl,
        sudo,
        config,
        ctx,
    }
}

fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn add_list_toggle_and_remove_apply_through_nginx_and_never_show_a_key() {
    let s = setup("", false);
    let mut events = s.ctx.events.subscribe();
    let (reply, _, text) = s.say("!restream").await;
    assert_eq!(reply.key, keys::RESTREAM_LIST_EMPTY);
    assert!(text.contains("!restream add <name> <url>"), "{text}");

    // Add: test, reload, and only then stored.
    let (reply, steps, text) = s.say(&format!("!restream add Twitch {TWITCH}")).await;
    assert_eq!(reply.outcome, Outcome::Done, "{text}");
    assert_eq!(
        text,
        "Added Twitch. Pushing to: Twitch. A running stream keeps its old pushes until the encoder reconnects."
    );
    assert_eq!(
        s.steps(&steps),
        [
            "Checking the new push list with nginx -t…",
            "nginx -t passed; reloading nginx…"
        ]
    );
    assert_eq!(
        s.nginx.calls(),
        [s.nginx_args(&["-t"]), s.nginx_args(&["-s", "reload"])]
    );
    assert!(read(&s.include()).ends_with(&format!("# Twitch (twitch)\npush {TWITCH};\n")));
    assert_eq!(mode(&s.include()), 0o600);
    assert_eq!(mode(&s.store()), 0o600);
    assert!(read(&s.store()).contains(TWITCH_KEY));

    // RTMPS goes through stunnel: a local port in the include, the real ingest in stunnel's
    // file, and the stunnel unit restarted after the test.
    s.nginx.clear_calls();
    let (reply, steps, text) = s.say(&format!("!restream add YouTube {YOUTUBE}")).await;
    assert_eq!(reply.outcome, Outcome::Done, "{text}");
    assert_eq!(
        s.steps(&steps),
        [
            "Checking the new push list with nginx -t…",
            "nginx -t passed; restarting stunnel for the RTMPS targets…",
            "nginx -t passed; reloading nginx…"
        ]
    );
    assert!(
        read(&s.include()).contains(&format!(
            "# YouTube (youtube, RTMPS through stunnel on 127.0.0.1:19350)\npush rtmp://127.0.0.1:19350/live2/{YOUTUBE_KEY};\n"
        )),
        "{}",
        read(&s.include())
    );
    let stunnel = read(&s.stunnel());
    assert!(
        stunnel.contains("accept = 127.0.0.1:19350\nconnect = a.rtmps.youtube.com:443\nsni = a.rtmps.youtube.com\ncheckHost = a.rtmps.youtube.com\nverifyChain = yes\n"),
        "{stunnel}"
    );
    assert_eq!(
        s.systemctl.calls(),
        [args(&["restart", "stunnel@restream.service"])]
    );

    // List: keys masked.
    let (_, _, text) = s.say("!restream list").await;
    assert_eq!(
        text,
        "Restream targets: Twitch (twitch, on): rtmp://ingest.global-contribute.live-video.net/app/live…ghij, YouTube (youtube, on): rtmps://a.rtmps.youtube.com/live2/abcd…mnop"
    );

    // Off (any case), then off again: nothing to apply.
    let (_, _, text) = s.say("!restream off twitch").await;
    assert_eq!(
        text,
        "Twitch is off. Pushing to: YouTube. A running stream keeps its old pushes until the encoder reconnects."
    );
    assert!(!read(&s.include()).contains(TWITCH_KEY));
    s.nginx.clear_calls();
    let (_, _, text) = s.say("!restream off Twitch").await;
    assert_eq!(text, "Twitch was already off. Pushing to: YouTube.");
    assert!(s.nginx.calls().is_empty(), "nothing changed, nothing ran");

    // Unknown names list the valid ones.
    let (reply, _, text) = s.say("!restream on Kick").await;
    assert_eq!(reply.outcome, Outcome::Refused);
    assert_eq!(
        text,
        "There is no restream target “Kick”. Targets: Twitch, YouTube."
    );

    // Status: endpoints without keys, the last apply.
    let status = s.ctx.status.borrow().clone();
    let restream = status.restream.as_ref().unwrap();
    assert_eq!(restream.endpoints.len(), 2);
    assert_eq!(restream.endpoints[1].name, "YouTube");
    assert_eq!(restream.endpoints[1].platform, "youtube");
    assert_eq!(
        restream.endpoints[1].url_masked,
        "rtmps://a.rtmps.youtube.com/live2"
    );
    assert!(!restream.endpoints[0].enabled);
    assert!(restream.last_apply.as_ref().unwrap().ok);
    let json = serde_json::to_string(&status).unwrap();
    assert!(!json.contains(TWITCH_KEY) && !json.contains(YOUTUBE_KEY));
    assert_eq!(
        stream_control::restream::list(s.ctx.restream.as_ref().unwrap()),
        restream.endpoints,
        "the Discord panel's list"
    );

    // Remove.
    let (_, _, text) = s.say("!restream remove youtube").await;
    assert_eq!(
        text,
        "Removed YouTube. Pushing to: none. A running stream keeps its old pushes until the encoder reconnects."
    );
    assert!(!read(&s.stunnel()).contains("[restream-"));

    let applied: Vec<Vec<String>> = std::iter::from_fn(|| events.try_recv().ok())
        .filter_map(|e| match e {
            Event::RestreamApplied { enabled } => Some(enabled),
            _ => None,
        })
        .collect();
    assert_eq!(
        applied,
        [
            args(&["Twitch"]),
            args(&["Twitch", "YouTube"]),
            args(&["YouTube"]),
            args(&[])
        ]
    );
    // Keys learnt at run time are masked wherever text is rendered or logged.
    assert_eq!(
        s.ctx
            .redactor
            .redact(&format!("x {TWITCH_KEY} {YOUTUBE_KEY}")),
        "x *** ***"
    );
}

#[tokio::test]
async fn restream_add_is_refused_in_public_twitch_chat_and_allowed_in_discord() {
    let s = setup("", false);
    let streamer = |surface| Invoker {
        surface,
        user_id: "1".into(),
        display_name: "streamer".into(),
        permission: Permission::Broadcaster,
    };
    let (reply, _, text) = s
        .say_as(
            &format!("!restream add Twitch {TWITCH}"),
            streamer(Surface::Twitch),
        )
        .await;
    assert_eq!(reply.outcome, Outcome::Refused);
    assert!(
        text.starts_with("Not in public chat: the URL holds the stream key."),
        "{text}"
    );
    assert!(!text.contains(TWITCH_KEY));
    assert!(s.nginx.calls().is_empty() && !s.store().exists());
    let (reply, _, _) = s
        .say_as(
            &format!("!restream add Twitch {TWITCH}"),
            streamer(Surface::Discord),
        )
        .await;
    assert_eq!(reply.outcome, Outcome::Done);
    // Toggling stays possible from chat.
    let (reply, _, _) = s
        .say_as("!restream off Twitch", streamer(Surface::Twitch))
        .await;
    assert_eq!(reply.outcome, Outcome::Done);
}

#[tokio::test]
async fn a_refused_nginx_test_restores_the_include_and_keeps_the_store() {
    let s = setup("", false);
    let (reply, _, _) = s.say(&format!("!restream add Twitch {TWITCH}")).await;
    assert_eq!(reply.outcome, Outcome::Done);
    let include_before = read(&s.include());
    let store_before = read(&s.store());
    let mut events = s.ctx.events.subscribe();
    s.nginx.clear_calls();
    let other_key = "live_987654321_zyxwvutsrq";
    s.nginx.answer(
        Some("-t"),
        1,
        "",
        &format!(
            "nginx: [emerg] unexpected \"push\" near rtmp://b.example/app/{other_key} in {}:5\nnginx: configuration file {} test failed\n",
            s.include().display(),
            s.conf()
        ),
    );
    let (reply, steps, text) = s
        .say(&format!(
            "!restream add Backup rtmp://b.example/app/{other_key}"
        ))
        .await;
    assert_eq!(reply.key, keys::RESTREAM_APPLY_FAILED, "{text}");
    assert_eq!(reply.outcome, Outcome::Failed);
    assert!(
        text.starts_with("nginx refused the new push list, so nothing changed (the previous list is back): nginx: [emerg] unexpected \"push\" near rtmp://b.example/app/*** in "),
        "{text}"
    );
    assert!(text.ends_with("test failed"), "{text}");
    assert!(
        !text.contains(other_key),
        "the key is masked even in nginx's text"
    );
    assert_eq!(
        s.steps(&steps),
        ["Checking the new push list with nginx -t…"]
    );
    assert_eq!(s.nginx.calls(), [s.nginx_args(&["-t"])], "no reload");
    assert_eq!(
        read(&s.include()),
        include_before,
        "the include is restored"
    );
    assert_eq!(read(&s.store()), store_before, "the store is unchanged");
    // The backup of the include is kept beside it.
    let backup = s.dir.path().join("nginx/restream.conf.bak");
    assert_eq!(read(&backup), include_before);
    let last = support::last_apply(&s.ctx);
    assert!(!last.ok);
    assert!(last.error.as_ref().unwrap().contains("[emerg]"));
    assert!(!last.error.unwrap().contains(other_key));
    let failed: Vec<String> = std::iter::from_fn(|| events.try_recv().ok())
        .filter_map(|e| match e {
            Event::RestreamApplyFailed { error } => Some(error),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].contains("[emerg]") && !failed[0].contains(other_key));
    let (_, _, text) = s.say("!restream list").await;
    assert!(!text.contains("Backup"), "{text}");
}

#[tokio::test]
async fn a_failed_reload_restores_and_reloads_again() {
    let s = setup("", false);
    let _ = s.say(&format!("!restream add Twitch {TWITCH}")).await;
    let include_before = read(&s.include());
    s.nginx.clear_calls();
    s.nginx.fail_once(
        "reload",
        "nginx: [error] open() \"/run/nginx.pid\" failed (2: No such file or directory)\n",
    );
    let (reply, _, text) = s.say("!restream off Twitch").await;
    assert_eq!(reply.key, keys::RESTREAM_APPLY_FAILED, "{text}");
    assert!(
        text.ends_with("open() \"/run/nginx.pid\" failed (2: No such file or directory)"),
        "{text}"
    );
    assert_eq!(
        s.nginx.calls(),
        [
            s.nginx_args(&["-t"]),
            s.nginx_args(&["-s", "reload"]),
            s.nginx_args(&["-s", "reload"])
        ],
        "test, the failed reload, the reload of the restored list"
    );
    assert_eq!(read(&s.include()), include_before);
    let (_, _, text) = s.say("!restream list").await;
    assert!(text.contains("Twitch (twitch, on)"), "{text}");

    // When the second reload fails too, the reply says so.
    s.nginx.answer(
        Some("reload"),
        1,
        "",
        "nginx: [alert] kill(4242, 1) failed\n",
    );
    let (reply, _, text) = s.say("!restream off Twitch").await;
    assert_eq!(reply.key, keys::RESTREAM_ROLLBACK_FAILED);
    assert!(text.ends_with("check nginx now!"), "{text}");
}

#[tokio::test]
async fn a_hanging_nginx_test_is_killed_and_rolled_back() {
    let s = setup("", false);
    let _ = s.say(&format!("!restream add Twitch {TWITCH}")).await;
    let include_before = read(&s.include());
    s.nginx.hang(Some("-t"));
    let started = std::time::Instant::now();
    let (reply, _, text) = s.say("!restream off Twitch").await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(reply.key, keys::RESTREAM_APPLY_FAILED);
    assert!(text.ends_with("nginx did not finish within 1s"), "{text}");
    assert_eq!(read(&s.include()), include_before);
    assert!(!fake_exec::process_alive(s.nginx.last_pid().unwrap()));
}

#[tokio::test]
async fn an_include_that_cannot_be_written_changes_nothing() {
    let s = setup("", false);
    std::fs::remove_dir_all(s.include().parent().unwrap()).unwrap();
    let (reply, _, text) = s.say(&format!("!restream add Twitch {TWITCH}")).await;
    assert_eq!(reply.key, keys::RESTREAM_WRITE_FAILED, "{text}");
    assert!(
        text.starts_with("Could not write nginx's push list, so nothing changed: "),
        "{text}"
    );
    assert!(s.nginx.calls().is_empty() && !s.store().exists());
}

#[tokio::test]
async fn a_failed_stunnel_restart_rolls_back_before_any_reload() {
    let s = setup("", false);
    s.systemctl.fail_once(
        "stunnel@restream.service",
        "Job for stunnel@restream.service failed.\n",
    );
    let (reply, _, text) = s.say(&format!("!restream add YouTube {YOUTUBE}")).await;
    assert_eq!(reply.key, keys::RESTREAM_STUNNEL_FAILED, "{text}");
    assert!(
        text.ends_with("Job for stunnel@restream.service failed."),
        "{text}"
    );
    assert_eq!(s.nginx.calls(), [s.nginx_args(&["-t"])], "never reloaded");
    assert_eq!(
        s.systemctl.calls().len(),
        2,
        "restarted again with the restored file"
    );
    assert!(!read(&s.stunnel()).contains("[restream-"));
    assert!(!s.store().exists());
}

#[tokio::test]
async fn nginx_and_systemctl_go_through_sudo_n_when_asked() {
    let s = setup("", true);
    let (reply, _, _) = s.say(&format!("!restream add YouTube {YOUTUBE}")).await;
    assert_eq!(reply.outcome, Outcome::Done);
    let nginx = s.nginx.path.to_str().unwrap().to_string();
    let systemctl = s.systemctl.path.to_str().unwrap().to_string();
    let with_sudo = |program: &str, rest: Vec<String>| {
        let mut all = vec!["-n".to_string(), program.to_string()];
        all.extend(rest);
        all
    };
    assert_eq!(
        s.sudo.calls(),
        [
            with_sudo(&nginx, s.nginx_args(&["-t"])),
            with_sudo(&systemctl, args(&["restart", "stunnel@restream.service"])),
            with_sudo(&nginx, s.nginx_args(&["-s", "reload"])),
        ]
    );
    assert!(s.nginx.calls().is_empty(), "only through sudo");
}

#[tokio::test]
async fn a_failed_drop_of_the_publisher_is_reported_and_the_change_still_applies() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = setup(
        &format!(
            r#"drop_publisher: Some((control_url: "http://127.0.0.1:{port}/control", application: "live")),"#
        ),
        false,
    );
    let (reply, steps, text) = s.say(&format!("!restream add Twitch {TWITCH}")).await;
    assert_eq!(reply.outcome, Outcome::Done);
    assert!(
        text.starts_with("Added Twitch. Pushing to: Twitch. Could not disconnect the encoder ("),
        "{text}"
    );
    assert_eq!(
        s.steps(&steps)[1],
        "nginx -t passed; disconnecting the encoder so the new list applies at once…"
    );
}

#[tokio::test]
async fn at_start_nginx_is_brought_in_line_with_the_store_without_dropping_anyone() {
    let s = setup("", false);
    let _ = s.say(&format!("!restream add Twitch {TWITCH}")).await;
    // The include is lost (or the store was imported): the task at start writes and applies it.
    std::fs::remove_file(s.include()).unwrap();
    s.nginx.clear_calls();
    let ctx = support::context(&s.config);
    let app = App::start(ctx.clone(), RunOptions::default());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while s.nginx.calls().len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        s.nginx.calls(),
        [s.nginx_args(&["-t"]), s.nginx_args(&["-s", "reload"])]
    );
    assert!(read(&s.include()).contains(TWITCH_KEY));
    // Running again with everything in line does nothing.
    assert!(app.shutdown(Duration::from_secs(5)).await);
    s.nginx.clear_calls();
    let app = App::start(ctx.clone(), RunOptions::default());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(s.nginx.calls().is_empty());
    assert!(app.shutdown(Duration::from_secs(5)).await);
}

/// (name, push URL) pairs that must never reach nginx.
fn hostile_inputs() -> Vec<(String, String)> {
    let ok_name = "Target";
    let urls = [
        "rtmp://h.example/app/key;include /etc/passwd",
        "rtmp://h.example/app/key;}",
        "rtmp://h.example/app/k}{",
        "rtmp://h.example/app/k'x",
        "rtmp://h.example/app/k\"x",
        "rtmp://h.example/app/k`id`",
        "rtmp://h.example/app/k#comment",
        "rtmp://h.example/app/$hostname",
        "rtmp://h.example/app/k${x}",
        "rtmp://h.example/app/k\\x",
        "rtmp://h.example/app/k\nallow publish all;",
        "rtmp://h.example/app/k\rx",
        "rtmp://h.example/app/k\tx",
        "rtmp://h.example/app/k\u{0}x",
        "rtmp://h.example/app/k\u{7f}",
        "rtmp://h.example/app/k\u{2028}x",
        "rtmp://h.example/app/k\u{202e}x",
        "rtmp://h.example/app/k\u{200b}x",
        "rtmp://h.example/app/kéy",
        "rtmp://h.example/app/ｋｅｙ",
        "rtmp://hö.example/app/k",
        "rtmp://h.example/app/k*y",
        "rtmp://h.example/app/k|y",
        "rtmp://h.example/app/k<y",
        "rtmp://h.example/app/k>y",
        "rtmp://h.example/app/k(y)",
        "rtmp://h.example/app/k[y]",
        "rtmp://h.example/ap p/k",
        "rtmp://h.example/app/",
        "rtmp://h.example",
        "rtmp://",
        "rtmp://:1935/app/k",
        "rtmp://user:pass@h.example/app/k",
        "rtmp://h.example:0/app/k",
        "rtmp://h.example:65536/app/k",
        "rtmp://h.example:19x5/app/k",
        "http://h.example/app/k",
        "file:///etc/passwd",
        "//h.example/app/k",
        "rtmp:/h.example/app/k",
        "rtmp://-oProxyCommand=x/app/k",
        "rtmp://h..example/app/k",
        "rtmp://[::1/app/k",
        "rtmp://[zz::1]/app/k",
        "rtmp://h.example//k",
        "",
    ];
    let mut inputs: Vec<(String, String)> = urls
        .iter()
        .map(|u| (ok_name.to_string(), u.to_string()))
        .collect();
    inputs.push((
        ok_name.into(),
        format!("rtmp://h.example/app/{}", "k".repeat(1100)),
    ));
    inputs.push((
        ok_name.into(),
        format!("rtmp://h.example/app/{}", "k".repeat(600)),
    ));
    let good = "rtmp://h.example/app/key";
    for name in [
        "",
        "a;b",
        &"x".repeat(33),
        "Tw\u{0131}tch",
        "a\nb",
        "{evil}",
        "Ｔｗｉｔｃｈ",
        "#x",
        "a$b",
        "a\u{0}b",
    ] {
        inputs.push((name.to_string(), good.to_string()));
    }
    inputs
}

#[tokio::test]
async fn fifty_hostile_inputs_are_refused_with_a_reason_and_never_reach_nginx() {
    let s = setup("", false);
    let inputs = hostile_inputs();
    assert!(inputs.len() >= 50, "{}", inputs.len());
    let i18n = &s.ctx.i18n;
    for (name, url) in &inputs {
        // 1. The library refuses it, with a localised reason.
        let error = Endpoint::from_push_url(name, url, None, true)
            .map(|e| e.name().to_string())
            .expect_err(&format!("accepted {name:?} {url:?}"));
        for locale in ["en-US", "nb-NO"] {
            let reason = i18n.render(locale, &error.reply());
            assert!(
                !reason.is_empty() && !reason.contains("endpoint-"),
                "{locale}: {reason}"
            );
        }
        // 2. The command refuses it: a usage error from the parser, or the handler's refusal.
        let line = format!("!restream add {name} {url}");
        match parse_line(&s.ctx.config.commands, &line) {
            None => {}
            Some(Err(_)) => {}
            Some(Ok(command)) => {
                let reply = dispatch(
                    &s.ctx,
                    Invocation {
                        command,
                        invoker: Invoker::console(),
                        locale: "en-US".into(),
                        reply_to: None,
                        progress: Progress::none(),
                    },
                )
                .await;
                assert_eq!(reply.outcome, Outcome::Refused, "{line:?}: {reply:?}");
                let text = s.ctx.render("en-US", &reply);
                assert!(text.starts_with("Refused: "), "{text}");
            }
        }
    }
    // 3. The seed import refuses every one too.
    let entries: Vec<serde_json::Value> = inputs
        .iter()
        .map(|(name, url)| serde_json::json!({"name": name, "enabled": true, "url": url}))
        .collect();
    let seed = serde_json::json!({ "push_endpoints": entries }).to_string();
    let report = stream_control::restream::import(&s.ctx.config, &seed).unwrap();
    assert!(report.imported.is_empty(), "{:?}", report.imported);
    assert_eq!(report.refused.len(), inputs.len());
    // Nothing ran, nothing was written.
    assert!(s.nginx.calls().is_empty());
    assert!(!s.include().exists() && !s.store().exists());
    // A good one renders as exactly one push line.
    let (reply, _, _) = s.say("!restream add Good rtmp://h.example/app/key").await;
    assert_eq!(reply.outcome, Outcome::Done);
    let include = read(&s.include());
    let pushes: Vec<&str> = include.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(pushes, ["push rtmp://h.example/app/key;"]);
}

#[tokio::test]
async fn a_hand_edited_store_is_validated_before_anything_is_rendered() {
    let s = setup("", false);
    std::fs::create_dir_all(s.store().parent().unwrap()).unwrap();
    std::fs::write(
        s.store(),
        r#"{"endpoints": [
            {"name": "Good", "platform": "custom", "url": "rtmp://h.example/app", "key": "k1", "enabled": true},
            {"name": "Evil", "platform": "custom", "url": "rtmp://h.example/app;\n}", "key": "k2", "enabled": true}
        ]}"#,
    )
    .unwrap();
    let (reply, _, text) = s.say("!restream").await;
    assert_eq!(reply.key, keys::RESTREAM_STORE_INVALID);
    assert!(
        text.contains("entry 2: the URL contains characters that are not allowed"),
        "{text}"
    );
    let (reply, _, _) = s.say("!restream on Good").await;
    assert_eq!(reply.key, keys::RESTREAM_STORE_INVALID);
    assert!(s.nginx.calls().is_empty() && !s.include().exists());
}

/// The golden render: `tests/fixtures/restream/{restream.conf,stunnel.conf}`.
#[test]
fn render_matches_the_golden_files() {
    let endpoints = [
        Endpoint::from_push_url("Twitch", TWITCH, None, true).unwrap(),
        Endpoint::from_push_url("Off one", "rtmp://h.example/app/k", None, false).unwrap(),
        Endpoint::from_push_url("YouTube", YOUTUBE, None, true).unwrap(),
        Endpoint::new(
            "Kick",
            Some(Platform::Kick),
            "rtmps://fa723fc1b171.global-contribute.live-video.net:443/app",
            "sk_us-west-2_abcdef123456",
            true,
        )
        .unwrap(),
        Endpoint::from_push_url("Local_2", "rtmps://127.0.0.1:8443/live/key-2", None, true)
            .unwrap(),
        Endpoint::from_push_url(
            "Facebook",
            "rtmp://live-api-s.facebook.com:80/rtmp/FB-1-0-Ab?s_bl=1&s_sw=0",
            None,
            true,
        )
        .unwrap(),
    ];
    let stunnel = StunnelConfig::default();
    let rendered = render(&endpoints, Some(&stunnel)).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/restream");
    let golden = |name: &str, actual: &str| {
        let path = fixtures.join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, actual).unwrap();
        }
        assert_eq!(
            actual,
            read(&path),
            "{} (UPDATE_GOLDEN=1 rewrites it)",
            path.display()
        );
    };
    golden("restream.conf", &rendered.include);
    golden("stunnel.conf", rendered.stunnel.as_deref().unwrap());
    assert_eq!(
        rendered.pushing,
        ["Twitch", "YouTube", "Kick", "Local_2", "Facebook"]
    );
    assert!(rendered.uses_stunnel);
}

#[test]
fn the_seed_file_is_imported_with_every_refusal_reported() {
    let dir = tempfile::tempdir().unwrap();
    let config = stream_control::config::Config::parse(&format!(
        r#"(state_dir: "{}", restream: ())"#,
        dir.path().join("state").display()
    ))
    .unwrap();
    let seed = r#"{"push_endpoints": [
        {"name": "Twitch", "enabled": true, "platform": "twitch",
         "url": "rtmp://ingest.global-contribute.live-video.net/app/live_123456789_abcdefghij"},
        {"name": "Kick", "enabled": false, "platform": "kick",
         "url": "rtmp://127.0.0.1:19360/fa723fc1b171.global-contribute.live-video.net/sk_us-west-2_abc",
         "base_url_override": "rtmp://127.0.0.1:19360/fa723fc1b171.global-contribute.live-video.net"},
        {"name": "YT", "enabled": true, "url": "rtmp://a.rtmp.youtube.com/live2/abcd-efgh"},
        {"name": "", "enabled": true, "url": "rtmp://h.example/app/k"},
        {"name": "twitch", "enabled": true, "url": "rtmp://h.example/app/k"},
        {"name": "Evil", "enabled": true, "url": "rtmp://h.example/app/k;}"},
        {"name": "Odd", "enabled": true, "platform": "facebook", "url": "rtmp://h.example/app/k"},
        {"name": "Secure", "enabled": true, "url": "rtmps://h.example/app/k"},
        42
    ]}"#;
    let report = stream_control::restream::import(&config, seed).unwrap();
    let imported: Vec<(&str, Platform, bool)> = report
        .imported
        .iter()
        .map(|e| (e.name(), e.platform(), e.enabled()))
        .collect();
    assert_eq!(
        imported,
        [
            ("Twitch", Platform::Twitch, true),
            ("Kick", Platform::Kick, false),
            ("YT", Platform::Youtube, true)
        ]
    );
    use stream_control::restream::endpoint::EndpointError as E;
    let refused: Vec<(usize, &str, &E)> = report
        .refused
        .iter()
        .map(|(n, name, e)| (*n, name.as_str(), e))
        .collect();
    assert_eq!(
        refused,
        [
            (4, "", &E::NameEmpty),
            (5, "twitch", &E::NameTaken("Twitch".into())),
            (6, "Evil", &E::UrlCharacters),
            (7, "Odd", &E::UnknownPlatform("facebook".into())),
            (8, "Secure", &E::RtmpsNeedsStunnel),
            (9, "", &E::Malformed),
        ]
    );
    let store = dir.path().join("state/restream.json");
    assert_eq!(mode(&store), 0o600);
    let stored = stream_control::restream::endpoint::load(
        &stream_control::state_store::StateDir::new(dir.path().join("state")),
    )
    .unwrap();
    assert_eq!(stored, report.imported);
    // Not the seed's format at all.
    assert!(stream_control::restream::import(&config, r#"{"endpoints": []}"#).is_err());
}

#[test]
fn the_import_command_lists_what_it_took_and_refused_without_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.ron");
    std::fs::write(
        &config,
        format!(
            r#"(state_dir: "{}", restream: ())"#,
            dir.path().join("state").display()
        ),
    )
    .unwrap();
    let seed = dir.path().join("rtmp_endpoints.json");
    std::fs::write(
        &seed,
        format!(
            r#"{{"push_endpoints": [{{"name": "Twitch", "enabled": true, "url": "{TWITCH}"}}, {{"name": "Bad", "enabled": true, "url": "http://h.example/app/k"}}]}}"#
        ),
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_stream-control"))
        .args(["restream", "import"])
        .arg(&seed)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a refusal is exit 1: {stdout}"
    );
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "imported \"Twitch\" (twitch, on): rtmp://ingest.global-contribute.live-video.net/app/live…ghij",
            "refused entry 2 (\"Bad\"): the URL must start with rtmp:// or rtmps://",
            "1 imported, 1 refused. The bot applies them to nginx when it starts (or at the next restream change).",
        ]
    );
    assert!(!stdout.contains(TWITCH_KEY));
    assert!(dir.path().join("state/restream.json").exists());
}

/// Issue #15: the stunnel file the bot writes makes a real stunnel (Debian's stunnel4, started
/// as root the way `stunnel@.service` starts it) drop to its own user and group once its port
/// is bound, so a file rewritten by a compromised bot user cannot run anything as root.
#[test]
fn real_stunnel_started_as_root_drops_to_its_own_user() {
    let stunnel = Path::new("/usr/bin/stunnel4");
    assert!(
        stunnel.exists(),
        "stunnel4 is not installed (tests/run.sh installs it: apt install stunnel4)"
    );
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let uid: u32 = passwd
        .lines()
        .find_map(|l| l.strip_prefix("stunnel4:"))
        .and_then(|rest| rest.split(':').nth(1))
        .and_then(|uid| uid.parse().ok())
        .expect("the stunnel4 user (created by Debian's stunnel4 package)");
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = StunnelConfig {
        config_path: dir.path().join("restream.conf"),
        first_port: port,
        unit: None,
        ..StunnelConfig::default()
    };
    let endpoint =
        Endpoint::from_push_url("Local", "rtmps://localhost:1/app/some-key", None, true).unwrap();
    let rendered = render(&[endpoint], Some(&config)).unwrap();
    let text = rendered.stunnel.expect("a stunnel file");
    assert!(
        text.contains("\nsetuid = stunnel4\nsetgid = stunnel4\n"),
        "{text}"
    );
    std::fs::write(&config.config_path, &text).unwrap();
    // As root (CI), or through sudo as a developer.
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"));
    let run = |args: &[&str]| {
        let mut command = if root {
            std::process::Command::new(args[0])
        } else {
            let mut sudo = std::process::Command::new("sudo");
            sudo.arg("-n").arg(args[0]);
            sudo
        };
        command.args(&args[1..]).status().unwrap()
    };
    let path = config.config_path.to_str().unwrap();
    assert!(
        run(&["/usr/bin/stunnel4", path]).success(),
        "stunnel refused {text}"
    );
    // It forks into the background: find it by its configuration file, once it listens.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let pid = loop {
        let listening = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        let found = listening
            .then(|| {
                std::fs::read_dir("/proc")
                    .unwrap()
                    .flatten()
                    .find_map(|entry| {
                        let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
                        String::from_utf8_lossy(&cmdline)
                            .contains(path)
                            .then(|| entry.file_name().to_string_lossy().into_owned())
                    })
            })
            .flatten();
        if let Some(pid) = found {
            break pid;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "stunnel never listened"
        );
        std::thread::yield_now();
    };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let _ = run(&["/bin/kill", &pid]);
    let ids = |key: &str| -> Vec<u32> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| {
                v.split_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    // Real, effective, saved and filesystem uid: all stunnel4's, none root.
    assert_eq!(ids("Uid:"), vec![uid; 4], "{status}");
    assert!(!ids("Gid:").contains(&0), "{status}");
}
