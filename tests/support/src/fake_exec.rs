//! Fake executables (ssh, systemctl, journalctl, nginx, sudo) for tests: small `sh` scripts in a
//! temporary directory that record their argv (each argument NUL-terminated, each call ended
//! by `\x1e`) and answer as told by files beside them. A call is written to the log in one
//! `write` (built in a file of its own first): calls running at once do not interleave.
//!
//! Behaviour files, per program `<name>`: `<name>.stdout`, `<name>.stderr`, `<name>.exit` (the
//! exit code) and `<name>.hang` (sleep instead of exiting). A variant named after the call's
//! last argument wins (`nginx.exit.reload` for `nginx … -s reload`), so one fake can pass one
//! call and fail another; `<name>.once.<last argument>` fails the next such call only. The
//! script writes its pid to `<name>.pid`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

const SCRIPT: &str = r#"#!/bin/sh
[ -n "$FAKE_PROBE" ] && exit 0
d=$(dirname "$0")
n=$(basename "$0")
last=""
for a in "$@"; do last="$a"; done
t="$d/$n.call.$$"
{ for a in "$@"; do printf '%s\0' "$a"; done; printf '\036'; } > "$t"
cat "$t" >> "$d/$n.calls"; rm -f "$t"
echo $$ > "$d/$n.pid"
pick() {
  case "$last" in
    */*|"") ;;
    *) if [ -e "$d/$n.$1.$last" ]; then echo "$d/$n.$1.$last"; return; fi ;;
  esac
  if [ -e "$d/$n.$1" ]; then echo "$d/$n.$1"; fi
}
case "$last" in
  */*|"") ;;
  *) if [ -e "$d/$n.once.$last" ]; then cat "$d/$n.once.$last" >&2; rm -f "$d/$n.once.$last"; exit 1; fi ;;
esac
f=$(pick stdout); [ -n "$f" ] && cat "$f"
f=$(pick stderr); [ -n "$f" ] && cat "$f" >&2
f=$(pick hang); [ -n "$f" ] && exec sleep 60
f=$(pick exit); [ -n "$f" ] && exit "$(cat "$f")"
exit 0
"#;

// `<name>.once.<last argument>`: the next such call prints the file to stderr, exits 1 and
// removes it (one failure, then the usual answer).

/// One fake program.
pub struct FakeProgram {
    pub path: PathBuf,
    dir: PathBuf,
    name: String,
}

impl FakeProgram {
    /// Write the fake `name` into `dir` (exits 0 with no output until told otherwise).
    pub fn new(dir: &Path, name: &str) -> FakeProgram {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, SCRIPT).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Another test's fork may briefly hold the file open for writing (ETXTBSY): wait until
        // it can be executed.
        for _ in 0..200 {
            match std::process::Command::new(&path)
                .env("FAKE_PROBE", "1")
                .status()
            {
                Ok(status) if status.success() => break,
                Err(e) if e.raw_os_error() == Some(26) => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                other => panic!("cannot run the fake {name}: {other:?}"),
            }
        }
        FakeProgram {
            path,
            dir: dir.to_path_buf(),
            name: name.to_string(),
        }
    }

    fn file(&self, kind: &str, variant: Option<&str>) -> PathBuf {
        let mut name = format!("{}.{kind}", self.name);
        if let Some(variant) = variant {
            name.push('.');
            name.push_str(variant);
        }
        self.dir.join(name)
    }

    /// Answer every call (or, with `variant`, calls whose last argument is it) with this exit
    /// code, stdout and stderr.
    pub fn answer(&self, variant: Option<&str>, exit: i32, stdout: &str, stderr: &str) {
        std::fs::write(self.file("exit", variant), exit.to_string()).unwrap();
        std::fs::write(self.file("stdout", variant), stdout).unwrap();
        std::fs::write(self.file("stderr", variant), stderr).unwrap();
    }

    /// The next call whose last argument is `variant` fails once (exit 1) with `stderr`.
    pub fn fail_once(&self, variant: &str, stderr: &str) {
        std::fs::write(
            self.dir.join(format!("{}.once.{variant}", self.name)),
            stderr,
        )
        .unwrap();
    }

    /// Sleep instead of exiting (after printing stdout/stderr).
    pub fn hang(&self, variant: Option<&str>) {
        std::fs::write(self.file("hang", variant), "").unwrap();
    }

    /// Exit normally again.
    pub fn unhang(&self, variant: Option<&str>) {
        let _ = std::fs::remove_file(self.file("hang", variant));
    }

    /// Every call's arguments (without the program), in order.
    pub fn calls(&self) -> Vec<Vec<String>> {
        let Ok(bytes) = std::fs::read(self.dir.join(format!("{}.calls", self.name))) else {
            return Vec::new();
        };
        let mut records: Vec<&[u8]> = bytes.split(|b| *b == 0x1e).collect();
        // Every call ends with the separator: the piece after the last one is empty.
        records.pop();
        records
            .into_iter()
            .map(|record| {
                record
                    .split(|b| *b == 0)
                    .map(|arg| String::from_utf8_lossy(arg).into_owned())
                    .collect::<Vec<_>>()
            })
            .map(|mut args| {
                // Each argument is NUL-terminated: the split leaves one empty piece at the end.
                args.pop();
                args
            })
            .collect()
    }

    /// Forget the calls so far.
    pub fn clear_calls(&self) {
        let _ = std::fs::remove_file(self.dir.join(format!("{}.calls", self.name)));
    }

    /// The pid of the last run.
    pub fn last_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.join(format!("{}.pid", self.name)))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

/// Whether a process still runs (not gone, not a zombie).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}
