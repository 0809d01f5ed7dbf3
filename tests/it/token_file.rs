//! The Twitch token file survives being killed mid-write: a child process rewrites it in a
//! loop and is killed (SIGKILL) at random points, 1,000 times; the file always parses and is
//! mode 0600. The child is this test binary run again with `TOKEN_WRITER_DIR` set.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use stream_control::secrets::Redactor;
use stream_control::state_store::StateDir;
use stream_control::twitch::auth::{self, StoredToken, TOKEN_FILE};

fn token(n: u64) -> StoredToken {
    StoredToken {
        access_token: format!("access-{n:020}-{}", "a".repeat((n % 97) as usize)),
        refresh_token: Some(format!("refresh-{n:020}")),
        expires_at: Some(1_800_000_000 + n),
        scopes: auth::SCOPES.iter().map(|s| s.to_string()).collect(),
        user_id: Some("1001".into()),
        login: Some("streamer".into()),
    }
}

/// In the child: rewrite the token file forever (until killed).
#[test]
fn writer_child() {
    let Ok(dir) = std::env::var("TOKEN_WRITER_DIR") else {
        return; // Only does something as the child of the test below.
    };
    let state = StateDir::new(dir);
    let redactor = Redactor::default();
    println!("ready");
    for n in 0.. {
        auth::save(&state, TOKEN_FILE, &token(n), &redactor).unwrap();
    }
}

/// A small deterministic pseudo-random sequence (no extra crate).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn check(path: &Path, round: usize) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("round {round}: {e}"));
    let parsed: StoredToken = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("round {round}: the token file does not parse: {e}"));
    assert!(parsed.access_token.starts_with("access-"), "round {round}");
    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "round {round}");
}

#[test]
fn the_token_file_always_parses_after_a_kill_at_a_random_point() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(dir.path());
    auth::save(&state, TOKEN_FILE, &token(0), &Redactor::default()).unwrap();
    let path = state.path(TOKEN_FILE);
    let exe = std::env::current_exe().unwrap();
    let mut random = Lcg(0x5eed);
    for round in 0..1000 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "token_file::writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("TOKEN_WRITER_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Let it get into its loop, then kill it somewhere within a few writes.
        let mut ready = [0u8; 5];
        std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut ready).unwrap();
        std::thread::sleep(Duration::from_micros(random.next() % 3000));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        check(&path, round);
    }
    // Killed writers leave temporary files; the next start removes them.
    state.remove_stale_temporaries();
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [TOKEN_FILE]);
    check(&path, 1000);
}
