//! The real binary: `check-config`, `run` serving the status page and exiting on SIGTERM within
//! 5 s, the console surface, and no secret in any output of a run with fake secrets.

use stream_control_test_support as support;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_stream-control");

fn shipped_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config.ron")
}

/// The shipped config, with the web server on an ephemeral port, in a temp dir.
fn config_on_ephemeral_port(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(shipped_config()).unwrap();
    assert!(text.contains("bind: \"127.0.0.1:8080\""));
    let path = dir.join("config.ron");
    std::fs::write(&path, text.replace("127.0.0.1:8080", "127.0.0.1:0")).unwrap();
    path
}

/// A command in an empty temp dir (no stray `.env`), with only the given secrets.
fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(dir).env_remove("RUST_LOG");
    for (name, _) in stream_control::secrets::VARIABLES {
        cmd.env_remove(name);
    }
    cmd
}

/// `run --config config` in `cwd`, its log (stderr) piped.
fn spawn_run(cwd: &Path, config: &Path) -> Child {
    command(cwd, &["--config", config.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait for the child to exit, at most `limit`; returns its exit code or None.
fn wait_at_most(mut child: Child, limit: Duration) -> (Option<i32>, Child) {
    let (tx, rx) = mpsc::channel();
    let pid = child.id();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = tx.send(status.ok().and_then(|s| s.code()));
        child
    });
    match rx.recv_timeout(limit) {
        Ok(code) => (code, waiter.join().unwrap()),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            (None, waiter.join().unwrap())
        }
    }
}

#[test]
fn check_config_accepts_the_shipped_file_and_lists_what_is_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(
        dir.path(),
        &["check-config", shipped_config().to_str().unwrap()],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("is valid"), "{stdout}");
    assert!(
        stdout.contains("web") && stdout.contains("http://127.0.0.1:8080/"),
        "{stdout}"
    );
    assert!(stdout.contains("Not enabled: obs, guard"), "{stdout}");
    assert!(
        stdout.contains("OBS_PASSWORD") && stdout.contains("not set"),
        "{stdout}"
    );
}

#[test]
fn check_config_prints_every_problem_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.ron");
    std::fs::write(
        &path,
        "(\n    log: (fromat: Json),\n    web: (bind: \"127.0.0.1:99999\"),\n    commands: (prefix: 5),\n)\n",
    )
    .unwrap();
    let out = command(dir.path(), &["check-config", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("3 problems"), "{stderr}");
    for needle in [
        "bad.ron:2:11: log.fromat",
        "bad.ron:3:17: web.bind",
        "bad.ron:4:24: commands.prefix",
    ] {
        assert!(stderr.contains(needle), "missing {needle}: {stderr}");
    }
    // `run` refuses the same file without starting anything.
    let out = command(dir.path(), &["--config", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("status page on"));
}

#[test]
fn run_serves_the_status_page_and_exits_within_5s_of_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_on_ephemeral_port(dir.path());
    let mut child = spawn_run(dir.path(), &config);
    // The log line names the address actually bound.
    let addr = status_address(&mut child);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let body = runtime.block_on(async {
        support::http()
            .get(format!("http://{addr}/api/status"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["tasks"]["web"]["state"], "running");
    assert_eq!(
        terminate(child),
        Some(0),
        "exit within 5 s of SIGTERM, cleanly"
    );
}

/// SIGTERM, then the exit code within 5 s (`None`: killed, or not gone in time).
fn terminate(child: Child) -> Option<i32> {
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    wait_at_most(child, Duration::from_secs(5)).0
}

#[test]
fn the_console_answers_help_ping_status_and_brb_then_quits_at_end_of_input() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_on_ephemeral_port(dir.path());
    let secrets = support::fake_secret_values();
    let obs_password = &secrets["OBS_PASSWORD"];
    let mut child = command(
        dir.path(),
        &["run", "--console", "--config", config.to_str().unwrap()],
    )
    .envs(&secrets)
    .env("RUST_LOG", "trace")
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(
        stdin,
        "!help\n!ping\n!status\n!brb\nversion\n!trigger low {obs_password}\n!scene {obs_password}\n!nonsense"
    )
    .unwrap();
    drop(stdin); // end of input quits
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let mut out = String::new();
    stdout.read_to_string(&mut out).unwrap();
    let (code, _) = wait_at_most(child, Duration::from_secs(10));
    let err = err_reader.join().unwrap();
    assert_eq!(code, Some(0), "{out}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("stream-control console"), "{out}");
    assert!(
        lines[1].starts_with("Commands you can use: !start"),
        "{out}"
    );
    assert_eq!(lines[2], "Pong! The bot is here.");
    assert!(
        lines[3].starts_with("Up ") && lines[3].contains("Enabled: the overlay, the status page"),
        "{out}"
    );
    assert_eq!(lines[4], "OBS control is not enabled on this bot.");
    assert_eq!(
        lines[5],
        format!("stream-control {}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        lines[6],
        "Usage: !trigger low|offline|rtt|rtt-offline [value|off] | reset (<value> “***” is not a number)"
    );
    assert_eq!(lines[7], "OBS control is not enabled on this bot.");
    assert_eq!(lines[8], "Unknown command. Try !help.");
    assert_eq!(lines.len(), 9, "{out}");
    // Every command was logged with surface, user and name; no secret anywhere.
    assert!(
        err.contains("surface=console") && err.contains("command=\"brb\""),
        "{err}"
    );
    for secret in secrets.values() {
        assert!(!out.contains(secret.as_str()), "secret on stdout");
        assert!(!err.contains(secret.as_str()), "secret in the log");
    }
}

#[test]
fn version_and_help_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path(), &["--version"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("stream-control {}", env!("CARGO_PKG_VERSION"))
    );
    let out = command(dir.path(), &["--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("check-config") && help.contains("--console"),
        "{help}"
    );
}

/// `.env` is read beside the configuration only (not from the working directory); a secret too
/// short to mask is refused by name (never its value); `run` warns of a `.env` its group or
/// everyone may read.
#[test]
fn env_beside_the_config_short_secrets_refused_readable_env_warned() {
    use std::os::unix::fs::PermissionsExt;
    let cwd = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config_on_ephemeral_port(dir.path());
    let config = config.to_str().unwrap();
    let check = |cwd: &Path| command(cwd, &["check-config", config]).output().unwrap();
    // The working directory's `.env` is not read.
    std::fs::write(cwd.path().join(".env"), "STATUS_KEY=1234567\n").unwrap();
    let out = check(cwd.path());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // The one beside the configuration is, and its short secret is refused by name.
    let env = dir.path().join(".env");
    std::fs::write(&env, "STATUS_KEY=1234567\n").unwrap();
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = check(cwd.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("STATUS_KEY is shorter than 8 characters"),
        "{stderr}"
    );
    assert!(!stderr.contains("1234567"), "{stderr}");
    let out = command(cwd.path(), &["--config", config]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "run refuses it too");
    // Long enough but readable by others: `run` starts and warns.
    std::fs::write(&env, "STATUS_KEY=12345678-long-enough\n").unwrap();
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut child = spawn_run(cwd.path(), Path::new(config));
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    while !said.contains("status page on") {
        assert_ne!(stderr.read_line(&mut said).unwrap(), 0, "exited: {said}");
    }
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    assert!(
        said.contains("readable by its group or by everyone") && said.contains(".env"),
        "{said}"
    );
    assert!(!said.contains("12345678-long-enough"), "{said}");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Reads the child's log until the status page's address, then drains the rest.
fn status_address(child: &mut Child) -> String {
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert_ne!(
            stderr.read_line(&mut line).unwrap(),
            0,
            "exited before listening"
        );
        if let Some(rest) = line.split("status page on http://").nth(1) {
            break rest.split('/').next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    addr
}

/// Two streamers on one host, as `stream-control@alice` and `stream-control@bob` run them: two
/// processes, configurations side by side in one directory, each with its own OBS, web port and
/// state directory, each seeing only its own OBS. Beside them, two more configurations that
/// share a port and a state directory are refused by `check-config`, naming each other.
#[test]
fn two_instances_run_side_by_side_and_check_config_names_a_shared_port_or_state_directory() {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (alice_obs, bob_obs) = runtime.block_on(async {
        let obs = |scene: &str| {
            stream_control_test_support::fake_obs::FakeObs::start(
                stream_control_test_support::fake_obs::FakeObsOptions {
                    current_scene: scene.to_owned(),
                    ..Default::default()
                },
            )
        };
        (obs("LIVE").await, obs("BRB").await)
    });
    let config = |name: &str, obs_port: u16| {
        let path = etc.join(format!("{name}.ron"));
        std::fs::write(
            &path,
            format!(
                r#"(state_dir: "{}", obs: (port: {obs_port}, reconnect_min: "100ms"), web: (bind: "127.0.0.1:0"))"#,
                dir.path().join("state").join(name).display()
            ),
        )
        .unwrap();
        path
    };
    let alice = config("alice", alice_obs.port());
    let bob = config("bob", bob_obs.port());
    for path in [&alice, &bob] {
        let out = command(dir.path(), &["check-config", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut children = Vec::new();
    let mut addresses = Vec::new();
    for path in [&alice, &bob] {
        let mut child = spawn_run(dir.path(), path);
        addresses.push(status_address(&mut child));
        children.push(child);
    }
    assert_ne!(addresses[0], addresses[1]);
    // Each sees its own OBS (alice's shows LIVE, bob's BRB): read from the status stream until
    // OBS is connected, within a bounded wait.
    for (addr, scene) in addresses.iter().zip(["LIVE", "BRB"]) {
        let seen = runtime.block_on(async {
            let mut stream = support::http()
                .get(format!("http://{addr}/api/status/stream"))
                .send()
                .await
                .unwrap();
            tokio::time::timeout(Duration::from_secs(15), async {
                let mut text = String::new();
                loop {
                    let chunk = stream.chunk().await.unwrap().expect("the stream goes on");
                    text.push_str(&String::from_utf8_lossy(&chunk));
                    // One event per blank-line-terminated block; the last status wins.
                    let connected = text
                        .split("\n\n")
                        .filter_map(|event| event.strip_prefix("event: status\ndata: "))
                        .filter_map(|data| serde_json::from_str::<serde_json::Value>(data).ok())
                        .find(|status| status["obs"]["connection"]["state"] == "connected");
                    if let Some(status) = connected {
                        return status["obs"]["scene"].clone();
                    }
                }
            })
            .await
        });
        assert_eq!(seen.ok(), Some(serde_json::json!(scene)), "{addr}");
    }
    for child in children {
        assert_eq!(terminate(child), Some(0));
    }
    // Two more beside them that share a port and a state directory.
    let shared = dir.path().join("state").join("shared");
    for name in ["carol", "dave"] {
        std::fs::write(
            etc.join(format!("{name}.ron")),
            format!(
                r#"(state_dir: "{}", web: (bind: "127.0.0.1:18080"))"#,
                shared.display()
            ),
        )
        .unwrap();
    }
    let carol = etc.join("carol.ron");
    let out = command(dir.path(), &["check-config", carol.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let dave = etc.join("dave.ron");
    for needle in [
        format!("{} uses web port 18080 too", dave.display()),
        format!(
            "{} keeps its state in {} too",
            dave.display(),
            shared.display()
        ),
    ] {
        assert!(stderr.contains(&needle), "{needle}: {stderr}");
    }
    // alice shares nothing with them.
    let out = command(dir.path(), &["check-config", alice.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}
