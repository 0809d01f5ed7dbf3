//! Services and logs against fake `systemctl`, `journalctl` and `sudo` executables that record
//! their argv: the exact argv of every call (no shell: each argument is its own argv item),
//! sudo only for what needs it, each exit code's reply, a hanging program killed at its
//! timeout, the repair sequence, log lines clamped and cut, the journal followed and the
//! follower killed, states polled into Status with change events, unknown keys listing the
//! valid ones.

use stream_control_test_support as support;
use stream_control_test_support::fake_exec;

use fake_exec::{FakeProgram, process_alive};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stream_control::app::{App, Context, RunOptions};
use stream_control::dispatch::Invoker;
use stream_control::reply::{Outcome, keys};
use stream_control::status::Event;

struct Setup {
    _dir: tempfile::TempDir,
    systemctl: FakeProgram,
    journalctl: FakeProgram,
    sudo: FakeProgram,
    ctx: Arc<Context>,
}

/// Units nginx, stunnel and bot; `extra` goes into the services section; `use_sudo` as given.
fn setup(extra: &str, use_sudo: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let systemctl = FakeProgram::new(dir.path(), "systemctl");
    let journalctl = FakeProgram::new(dir.path(), "journalctl");
    let sudo = FakeProgram::new(dir.path(), "sudo");
    let config = format!(
        r#"(
            state_dir: "{state}",
            services: (
                units: {{"nginx": "nginx.service", "stunnel": "stunnel@restream.service", "bot": "stream-control.service"}},
                command_timeout: "1s",
                {extra}
            ),
            programs: (sudo: "{sudo}", use_sudo: Some({use_sudo}), systemctl: "{systemctl}", journalctl: "{journalctl}"),
            commands: (cooldowns: (command: "0s", user: "0s")),
        )"#,
        state = dir.path().join("state").display(),
        sudo = sudo.path.display(),
        systemctl = systemctl.path.display(),
        journalctl = journalctl.path.display(),
    );
    let ctx = support::context(&config);
    Setup {
        _dir: dir,
        systemctl,
        journalctl,
        sudo,
        ctx,
    }
}

async fn say(setup: &Setup, line: &str) -> (stream_control::reply::Reply, String) {
    let (reply, _) = support::command(&setup.ctx, line, Invoker::console()).await;
    let text = setup.ctx.render("en-US", &reply);
    (reply, text)
}

fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn status_asks_systemctl_is_active_once_without_sudo() {
    let s = setup("", true);
    s.systemctl
        .answer(None, 3, "active\nfailed\ninactive\n", "");
    let (reply, text) = say(&s, "!service").await;
    assert_eq!(reply.key, keys::SERVICE_STATUS);
    // Keys in order: bot, nginx, stunnel.
    assert_eq!(
        s.systemctl.calls(),
        [args(&[
            "is-active",
            "stream-control.service",
            "nginx.service",
            "stunnel@restream.service"
        ])]
    );
    assert!(s.sudo.calls().is_empty(), "is-active never needs sudo");
    assert_eq!(
        text,
        "bot (stream-control.service): running, nginx (nginx.service): failed, stunnel (stunnel@restream.service): stopped"
    );
    let status = s.ctx.status.borrow().services.clone().unwrap();
    assert_eq!(status.units["nginx"].state, "failed");
    assert_eq!(status.units["bot"].unit, "stream-control.service");

    s.systemctl.clear_calls();
    s.systemctl.answer(None, 0, "active\n", "");
    let (_, text) = say(&s, "!service status NGINX").await;
    assert_eq!(s.systemctl.calls(), [args(&["is-active", "nginx.service"])]);
    assert_eq!(text, "nginx (nginx.service): running");
}

#[tokio::test]
async fn a_failing_or_silent_systemctl_leaves_the_state_unknown_with_its_error() {
    let s = setup("", false);
    s.systemctl.answer(
        None,
        1,
        "",
        "Failed to connect to bus: No such file or directory",
    );
    let (_, text) = say(&s, "!service status bot").await;
    assert_eq!(
        text,
        "bot (stream-control.service): unknown (Failed to connect to bus: No such file or directory)"
    );
    let status = s.ctx.status.borrow().services.clone().unwrap();
    assert_eq!(status.units["bot"].state, "unknown");
    assert!(status.units["bot"].error.is_some());
}

#[tokio::test]
async fn unknown_keys_are_refused_listing_the_valid_ones() {
    let s = setup("", false);
    for line in [
        "!service status obs",
        "!service restart obs",
        "!logs obs",
        "!logs obs 50",
    ] {
        let (reply, text) = say(&s, line).await;
        assert_eq!(reply.outcome, Outcome::Refused, "{line}");
        assert_eq!(
            text, "There is no service “obs”. Services: bot, nginx, stunnel.",
            "{line}"
        );
    }
    assert!(s.systemctl.calls().is_empty() && s.journalctl.calls().is_empty());
    // Out of range line counts are usage errors naming the range.
    let error = stream_control::dispatch::parse_line(&s.ctx.config.commands, "!logs nginx 5000")
        .unwrap()
        .unwrap_err();
    let reply = stream_control::reply::usage(&error, "!");
    assert_eq!(reply.outcome, Outcome::Usage);
    let text = s.ctx.render("en-US", &reply);
    assert!(text.contains("between 1 and 1000"), "{text}");
}

#[tokio::test]
async fn restart_goes_through_sudo_n_and_reports_each_exit_code() {
    let s = setup("", true);
    s.systemctl.answer(None, 0, "active\n", "");
    let (reply, text) = say(&s, "!service restart nginx").await;
    assert_eq!(reply.outcome, Outcome::Done, "{text}");
    assert_eq!(text, "Restarted: nginx (nginx.service): running.");
    // sudo -n <systemctl> restart <unit>; then the state, without sudo.
    assert_eq!(
        s.sudo.calls(),
        [args(&[
            "-n",
            s.systemctl.path.to_str().unwrap(),
            "restart",
            "nginx.service"
        ])]
    );
    assert_eq!(s.systemctl.calls(), [args(&["is-active", "nginx.service"])]);

    // sudo wants a password (exit 1).
    s.sudo.answer(None, 1, "", "sudo: a password is required\n");
    let (reply, text) = say(&s, "!service restart nginx").await;
    assert_eq!(reply.key, keys::COMMAND_NEEDS_SUDO);
    assert_eq!(reply.outcome, Outcome::Failed);
    assert!(text.contains("passwordless sudo"), "{text}");
    assert!(text.contains("a password is required"), "{text}");

    // The unit fails to start (exit 1) or does not exist (exit 5): systemctl's own words.
    let job = "Job for nginx.service failed because the control process exited with error code.";
    fails_with(
        &s,
        &s.sudo,
        1,
        job,
        "!service restart nginx",
        &format!("systemctl failed (exit code 1): {job}"),
    )
    .await;
    let missing = "Failed to restart x.service: Unit x.service not found.";
    fails_with(
        &s,
        &s.sudo,
        5,
        missing,
        "!service restart nginx",
        &format!("systemctl failed (exit code 5): {missing}"),
    )
    .await;
}

/// `fake` exits with `code` and `stderr`; `line` is answered exactly `expected`, as a failure.
async fn fails_with(
    s: &Setup,
    fake: &FakeProgram,
    code: i32,
    stderr: &str,
    line: &str,
    expected: &str,
) {
    fake.answer(None, code, "", &format!("{stderr}\n"));
    let (reply, text) = say(s, line).await;
    assert_eq!(reply.outcome, Outcome::Failed, "{line}: {text}");
    assert_eq!(text, expected, "{line}");
}

#[tokio::test]
async fn a_hanging_restart_is_killed_at_the_timeout() {
    let s = setup("", false);
    s.systemctl.hang(Some("nginx.service"));
    let started = Instant::now();
    let (reply, text) = say(&s, "!service restart nginx").await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(reply.key, keys::COMMAND_TIMEOUT);
    assert_eq!(text, "systemctl did not finish within 1 s and was stopped.");
    let pid = s.systemctl.last_pid().unwrap();
    assert!(!process_alive(pid), "the hanging systemctl was killed");
}

#[tokio::test]
async fn a_missing_program_is_reported() {
    let s = setup("", false);
    std::fs::remove_file(&s.systemctl.path).unwrap();
    let (reply, text) = say(&s, "!service restart nginx").await;
    assert_eq!(reply.key, keys::COMMAND_START_FAILED);
    assert!(text.starts_with("Could not run systemctl: "), "{text}");
}

#[tokio::test]
async fn repair_restarts_the_configured_sequence_and_reports_every_step() {
    let s = setup(r#"repair: Some(["stunnel", "nginx", "bot"]),"#, false);
    s.systemctl.answer(None, 0, "active\n", "");
    s.systemctl.answer(
        Some("nginx.service"),
        1,
        "",
        "Job for nginx.service failed.\n",
    );
    let (reply, steps) = support::command(&s.ctx, "!service repair", Invoker::console()).await;
    let restarts: Vec<Vec<String>> = s
        .systemctl
        .calls()
        .into_iter()
        .filter(|c| c[0] == "restart")
        .collect();
    assert_eq!(
        restarts,
        [
            args(&["restart", "stunnel@restream.service"]),
            args(&["restart", "nginx.service"]),
            args(&["restart", "stream-control.service"]),
        ],
        "a failed step does not stop the next"
    );
    let rendered: Vec<String> = steps.iter().map(|r| s.ctx.render("en-US", r)).collect();
    assert_eq!(
        rendered,
        [
            "stunnel (stunnel@restream.service): running",
            "nginx: systemctl failed (exit code 1): Job for nginx.service failed.",
            "bot (stream-control.service): running",
        ]
    );
    assert_eq!(reply.outcome, Outcome::Failed);
    assert_eq!(
        s.ctx.render("en-US", &reply),
        format!("Repair finished: {}", rendered.join(", "))
    );
}

#[tokio::test]
async fn the_default_repair_restarts_nginx() {
    let s = setup("", false);
    s.systemctl.answer(None, 0, "active\n", "");
    let (reply, _) = say(&s, "!service repair").await;
    assert_eq!(reply.outcome, Outcome::Done);
    let restarts: Vec<Vec<String>> = s
        .systemctl
        .calls()
        .into_iter()
        .filter(|c| c[0] == "restart")
        .collect();
    assert_eq!(restarts, [args(&["restart", "nginx.service"])]);
}

#[tokio::test]
async fn logs_run_one_fixed_journalctl_line_keep_the_clamped_last_lines_and_cut_long_ones() {
    let s = setup("", true);
    let long = "x".repeat(2500);
    s.sudo.answer(
        None,
        0,
        &format!("2026-01-01T10:00:00+0000 host nginx[1]: started\n{long}\n"),
        "",
    );
    let (reply, text) = say(&s, "!logs nginx").await;
    assert_eq!(reply.key, keys::LOGS_LINES);
    // Always the same argv, whatever the count asked for: the sudoers rule names it exactly.
    let journalctl = s.journalctl.path.to_str().unwrap();
    let expected = args(&[
        "-n",
        journalctl,
        "-u",
        "nginx.service",
        "-n",
        "1000",
        "-o",
        "short-iso",
        "--no-pager",
    ]);
    assert_eq!(s.sudo.calls(), std::slice::from_ref(&expected));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "The last 2 lines of nginx.service:");
    assert_eq!(lines[1], "2026-01-01T10:00:00+0000 host nginx[1]: started");
    assert_eq!(lines[2].chars().count(), 2001, "cut at 2,000 characters");
    assert!(lines[2].ends_with('…'));

    // The bot keeps the last lines asked for (default 25, at least 10, at most 1000).
    let journal: String = (1..=1000).map(|i| format!("line {i}\n")).collect();
    s.sudo.answer(None, 0, &journal, "");
    s.sudo.clear_calls();
    let last = |text: &str| {
        let lines: Vec<String> = text.lines().skip(1).map(str::to_owned).collect();
        (lines.len(), lines.first().cloned(), lines.last().cloned())
    };
    let some = |n: usize| {
        (
            n,
            Some(format!("line {}", 1001 - n)),
            Some("line 1000".into()),
        )
    };
    assert_eq!(last(&say(&s, "!logs nginx").await.1), some(25));
    assert_eq!(last(&say(&s, "!logs nginx 5").await.1), some(10));
    assert_eq!(last(&say(&s, "!logs nginx 1000").await.1), some(1000));
    assert_eq!(
        s.sudo.calls(),
        [expected.clone(), expected.clone(), expected]
    );

    s.sudo.answer(None, 0, "-- No entries --\n", "");
    let (_, text) = say(&s, "!logs bot").await;
    assert_eq!(text, "stream-control.service has no log lines.");

    let denied = "No journal files were opened due to insufficient permissions.";
    fails_with(
        &s,
        &s.sudo,
        1,
        denied,
        "!logs bot",
        &format!("journalctl failed (exit code 1): {denied}"),
    )
    .await;
}

#[tokio::test]
async fn arguments_are_never_interpreted_by_a_shell() {
    // A unit name can only be what the configuration allows, so the shell test uses the
    // journal's lines: whatever a program prints comes back verbatim, and what the bot passes
    // arrives as separate argv items.
    let s = setup("", false);
    s.journalctl
        .answer(None, 0, "$(touch /tmp/x); `id` | cat\n", "");
    let (_, text) = say(&s, "!logs stunnel 10").await;
    assert!(text.ends_with("\n$(touch /tmp/x); `id` | cat"), "{text}");
    assert_eq!(
        s.journalctl.calls(),
        [args(&[
            "-u",
            "stunnel@restream.service",
            "-n",
            "1000",
            "-o",
            "short-iso",
            "--no-pager"
        ])]
    );
}

#[tokio::test]
async fn follow_streams_journal_lines_and_kills_journalctl_when_done() {
    let s = setup("", true);
    let lines = [
        r#"{"MESSAGE":"worker started","SYSLOG_IDENTIFIER":"nginx","_PID":"7"}"#,
        r#"{"MESSAGE":[104,105,255],"SYSLOG_IDENTIFIER":"nginx","_PID":"7"}"#,
        r#"{"MESSAGE":null}"#,
        &format!(r#"{{"MESSAGE":"{}"}}"#, "y".repeat(3000)),
    ];
    s.sudo
        .answer(None, 0, &format!("{}\n", lines.join("\n")), "");
    s.sudo.hang(None);
    let mut events = s.ctx.events.subscribe();
    let mut follow = stream_control::services::follow(
        s.ctx.services.as_ref().unwrap(),
        "NGINX",
        Duration::from_secs(2),
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    let started = Instant::now();
    while let Some(line) = follow.recv().await {
        got.push(line);
    }
    assert!(started.elapsed() >= Duration::from_millis(1900));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0], "nginx[7]: worker started");
    assert_eq!(got[1], "nginx[7]: hi\u{FFFD}");
    assert_eq!(got[2].chars().count(), 2001);
    assert_eq!(
        s.sudo.calls(),
        [args(&[
            "-n",
            s.journalctl.path.to_str().unwrap(),
            "-f",
            "-n",
            "0",
            "-o",
            "json",
            "-u",
            "nginx.service"
        ])]
    );
    let pid = s.sudo.last_pid().unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while process_alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !process_alive(pid),
        "journalctl is killed when the follow ends"
    );
    // Each line was published too.
    let mut published = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let Event::LogLine { key, line } = event {
            assert_eq!(key, "nginx");
            published.push(line);
        }
    }
    assert_eq!(published, got);
}

#[tokio::test]
async fn dropping_the_follow_receiver_kills_journalctl() {
    let s = setup("", false);
    s.journalctl.answer(None, 0, "{\"MESSAGE\":\"one\"}\n", "");
    s.journalctl.hang(None);
    let mut follow = stream_control::services::follow(
        s.ctx.services.as_ref().unwrap(),
        "bot",
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert_eq!(follow.recv().await.as_deref(), Some("one"));
    let pid = s.journalctl.last_pid().unwrap();
    assert!(process_alive(pid));
    drop(follow);
    let deadline = Instant::now() + Duration::from_secs(3);
    while process_alive(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !process_alive(pid),
        "journalctl is killed when the receiver goes away"
    );
    let unknown = stream_control::services::follow(
        s.ctx.services.as_ref().unwrap(),
        "obs",
        Duration::from_secs(1),
    )
    .await;
    assert!(matches!(
        unknown,
        Err(stream_control::services::ServiceError::Unknown { .. })
    ));
}

#[tokio::test]
async fn states_are_polled_into_status_and_changes_are_events() {
    let s = setup("", false);
    s.systemctl.answer(None, 0, "active\nactive\nactive\n", "");
    {
        let status = s.ctx.status.borrow().services.clone().unwrap();
        assert!(status.units.values().all(|u| u.state == "unknown"));
    }
    let mut events = s.ctx.events.subscribe();
    let app = App::start(s.ctx.clone(), RunOptions::default());
    let mut status = s.ctx.status.subscribe();
    tokio::time::timeout(
        Duration::from_secs(5),
        status.wait_for(|st| {
            st.services
                .as_ref()
                .is_some_and(|sv| sv.units.values().all(|u| u.state == "active"))
        }),
    )
    .await
    .expect("the first poll runs at start")
    .unwrap();
    // The first answer is not a change.
    assert!(
        !std::iter::from_fn(|| events.try_recv().ok())
            .any(|e| matches!(e, Event::ServiceStateChanged { .. }))
    );
    s.systemctl.answer(None, 3, "active\nfailed\nactive\n", "");
    let units = stream_control::services::units(s.ctx.config.services.as_ref().unwrap());
    stream_control::services::states(s.ctx.services.as_ref().unwrap(), &units).await;
    let change = std::iter::from_fn(|| events.try_recv().ok())
        .find(|e| matches!(e, Event::ServiceStateChanged { .. }))
        .expect("a change event");
    assert_eq!(
        change,
        Event::ServiceStateChanged {
            key: "nginx".into(),
            unit: "nginx.service".into(),
            from: "active".into(),
            to: "failed".into(),
        }
    );
    assert!(app.shutdown(Duration::from_secs(5)).await);
}
