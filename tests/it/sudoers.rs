//! `stream-control sudoers`: the drop-in for a full configuration (golden file), no wildcard in
//! any output, the real `visudo -c` accepts it, and the binary prints it for `--user`.

use std::path::{Path, PathBuf};
use stream_control::config::Config;
use stream_control::sudoers::{SudoersError, render};

const BIN: &str = env!("CARGO_BIN_EXE_stream-control");
/// Debian package `sudo` (tests/run.sh installs it).
const VISUDO: &str = "/usr/sbin/visudo";

/// Restream (nginx arguments with spaces and `;`, `-c`, the stunnel unit) and three services,
/// one of them the stunnel unit again.
const FULL: &str = r#"(
    restream: (
        nginx_config: Some("/etc/nginx/nginx.conf"),
        nginx_args: ["-p", "/srv/nginx/", "-g", "pid /run/nginx-rtmp.pid;"],
        stunnel: Some((unit: Some("stunnel@restream.service"))),
    ),
    services: (units: {
        "nginx": "nginx.service",
        "stunnel": "stunnel@restream.service",
        "bot": "stream-control.service",
    }),
)"#;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sudoers")
        .join(name)
}

fn full() -> String {
    render(&Config::parse(FULL).unwrap(), "streambot").unwrap()
}

#[test]
fn a_full_configuration_gives_the_golden_drop_in() {
    let expected = std::fs::read_to_string(fixture("full.txt")).unwrap();
    assert_eq!(full(), expected);
}

#[test]
fn no_output_has_a_wildcard() {
    let configs = [
        FULL,
        "()",
        r#"(restream: ())"#,
        r#"(services: (units: {"a": "a.service"}), programs: (use_sudo: Some(false)))"#,
    ];
    for config in configs {
        let text = render(&Config::parse(config).unwrap(), "streambot").unwrap();
        assert!(!text.contains('*'), "{config}:\n{text}");
    }
    // A configured argument that would need one is refused, not widened.
    let starred =
        Config::parse(r#"(restream: (nginx_args: ["-g", "include /x/*.conf;"]))"#).unwrap();
    assert!(matches!(
        render(&starred, "streambot"),
        Err(SudoersError::Inexact { .. })
    ));
}

#[test]
fn visudo_accepts_the_drop_in() {
    assert!(
        Path::new(VISUDO).is_file(),
        "{VISUDO} is missing: install the Debian package `sudo` (tests/run.sh does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stream-control");
    stream_control::state_store::write_atomic(
        &file,
        full().as_bytes(),
        stream_control::state_store::Sensitivity::Public,
    )
    .unwrap();
    let output = std::process::Command::new(VISUDO)
        .arg("-c")
        .arg("-f")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "visudo -c: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_binary_prints_the_drop_in_for_the_user_given() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.ron");
    stream_control::state_store::write_atomic(
        &config,
        FULL.as_bytes(),
        stream_control::state_store::Sensitivity::Public,
    )
    .unwrap();
    let output = std::process::Command::new(BIN)
        .args(["sudoers", config.to_str().unwrap(), "--user", "streambot"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8(output.stdout).unwrap(), full());
    let output = std::process::Command::new(BIN)
        .args(["sudoers", config.to_str().unwrap(), "--user", "a,b"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("sudoers user name"));
}
