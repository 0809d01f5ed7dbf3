//! Running system programs (nginx, systemctl, journalctl, ssh): never through a shell, always
//! with a timeout, killed when the caller gives up.
//!
//! Every argument is passed to the program as its own argv item, so nothing in it is ever
//! interpreted (`;`, `$(…)`, spaces). The paths come from `config.programs`, so tests point them
//! at fake executables. Privileged commands go through `sudo -n` when the bot is not root (or
//! as `programs.use_sudo` says); `-n` makes sudo fail at once instead of asking for a password.

use crate::config::ProgramsConfig;
use crate::reply::{Reply, keys};
use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// Output kept per stream; anything beyond is cut (a runaway program cannot fill memory).
const OUTPUT_LIMIT: usize = 4 << 20;

/// One program call: the program and its arguments, not yet run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    /// The program's short name for messages (`systemctl`, not `/usr/bin/sudo`).
    pub name: String,
    pub argv: Vec<OsString>,
}

impl CommandLine {
    /// `program args…`.
    pub fn new<I, A>(program: &Path, args: I) -> CommandLine
    where
        I: IntoIterator<Item = A>,
        A: Into<OsString>,
    {
        let mut argv = vec![program.as_os_str().to_owned()];
        argv.extend(args.into_iter().map(Into::into));
        CommandLine {
            name: program.file_name().map_or_else(
                || program.display().to_string(),
                |n| n.to_string_lossy().into(),
            ),
            argv,
        }
    }

    /// The same command through `sudo -n` when `programs` asks for it.
    pub fn privileged(self, programs: &ProgramsConfig) -> CommandLine {
        if !use_sudo(programs) {
            return self;
        }
        let mut argv = vec![programs.sudo.as_os_str().to_owned(), "-n".into()];
        argv.extend(self.argv);
        CommandLine {
            name: self.name,
            argv,
        }
    }

    /// A `tokio` command for this line: no shell, no stdin, killed when dropped, in a process
    /// group of its own (so a timeout can end everything it started, see [`run`]).
    pub fn command(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.argv[0]);
        command
            .args(&self.argv[1..])
            .stdin(Stdio::null())
            .process_group(0)
            .kill_on_drop(true);
        command
    }
}

/// Whether privileged commands go through sudo: as configured, or when not running as root.
pub fn use_sudo(programs: &ProgramsConfig) -> bool {
    programs.use_sudo.unwrap_or_else(|| !running_as_root())
}

/// Whether `path` is a file someone may execute (doctor's program checks; `sudoers` looking a
/// bare program name up in `PATH`).
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn running_as_root() -> bool {
    effective_uid() == Some(0)
}

/// The process's effective user id: /proc/self belongs to it.
pub fn effective_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// What a finished program left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The most useful error text: stderr, else stdout, trimmed, at most `max` characters
    /// (the end is kept: programs put the cause last).
    pub fn error_text(&self, max: usize) -> String {
        let text = if self.stderr.trim().is_empty() {
            self.stdout.trim()
        } else {
            self.stderr.trim()
        };
        let count = text.chars().count();
        if count <= max {
            return text.to_string();
        }
        let tail: String = text.chars().skip(count - max).collect();
        format!("…{tail}")
    }
}

/// Why a program gave no [`Output`].
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{program} did not finish within {}", humantime::format_duration(*after))]
    Timeout { program: String, after: Duration },
}

impl ExecError {
    /// The localised answer.
    pub fn reply(&self) -> Reply {
        match self {
            ExecError::Spawn { program, source } => Reply::new(keys::COMMAND_START_FAILED)
                .arg("program", program.clone())
                .arg("error", source.to_string()),
            ExecError::Timeout { program, after } => Reply::new(keys::COMMAND_TIMEOUT)
                .arg("program", program.clone())
                .number("seconds", after.as_secs_f64().ceil()),
        }
        .with_outcome(crate::reply::Outcome::Failed)
    }
}

/// Run `line` to its end, or kill it after `timeout`.
pub async fn run(line: &CommandLine, timeout: Duration) -> Result<Output, ExecError> {
    let mut child = line
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| ExecError::Spawn {
            program: line.name.clone(),
            source,
        })?;
    // Armed until the program has ended by itself: a timeout, or a caller that gives up (drops
    // this future), kills the program's whole process group.
    let mut group = GroupKill(child.id().and_then(|pid| i32::try_from(pid).ok()));
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let finished = async {
        let (stdout, stderr, status) =
            tokio::join!(read_limited(stdout), read_limited(stderr), child.wait());
        (stdout, stderr, status)
    };
    match tokio::time::timeout(timeout, finished).await {
        Ok((stdout, stderr, status)) => {
            group.disarm();
            let status = status.map_err(|source| ExecError::Spawn {
                program: line.name.clone(),
                source,
            })?;
            Ok(Output {
                code: status.code(),
                stdout,
                stderr,
            })
        }
        Err(_) => {
            // The child leads its own group (`process_group(0)`): kill the whole group, so
            // what it started (the program behind `sudo`, a shell's children) dies with it.
            drop(group);
            let _ = child.start_kill();
            let _ = child.wait().await;
            Err(ExecError::Timeout {
                program: line.name.clone(),
                after: timeout,
            })
        }
    }
}

/// Kills a child's process group when dropped, unless disarmed (the child ended by itself).
struct GroupKill(Option<i32>);

impl GroupKill {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for GroupKill {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            // SIGKILL to the group led by the child (its pid is the group id). SAFETY: killpg
            // touches no memory; a group that is gone only yields ESRCH.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
    }
}

/// A pipe's text, at most [`OUTPUT_LIMIT`] bytes of it (lossy UTF-8).
async fn read_limited<R: tokio::io::AsyncRead + Unpin>(pipe: Option<R>) -> String {
    use tokio::io::AsyncReadExt;
    let mut bytes = Vec::new();
    if let Some(mut pipe) = pipe {
        let _ = (&mut pipe)
            .take(OUTPUT_LIMIT as u64)
            .read_to_end(&mut bytes)
            .await;
        // Keep draining, or a chatty program would block on a full pipe.
        let _ = tokio::io::copy(&mut pipe, &mut tokio::io::sink()).await;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn programs(use_sudo: Option<bool>) -> ProgramsConfig {
        ProgramsConfig {
            use_sudo,
            ..ProgramsConfig::default()
        }
    }

    #[test]
    fn privileged_adds_sudo_n_only_when_asked() {
        let line = CommandLine::new(Path::new("/usr/bin/systemctl"), ["restart", "nginx"]);
        assert_eq!(line.name, "systemctl");
        let plain = line.clone().privileged(&programs(Some(false)));
        assert_eq!(plain.argv, ["/usr/bin/systemctl", "restart", "nginx"]);
        let sudo = line.privileged(&programs(Some(true)));
        assert_eq!(
            sudo.argv,
            [
                "/usr/bin/sudo",
                "-n",
                "/usr/bin/systemctl",
                "restart",
                "nginx"
            ]
        );
        assert_eq!(sudo.name, "systemctl");
    }

    #[test]
    fn error_text_prefers_stderr_and_keeps_the_end() {
        let output = Output {
            code: Some(1),
            stdout: "out".into(),
            stderr: "  first line\nthe cause  ".into(),
        };
        assert_eq!(output.error_text(100), "first line\nthe cause");
        assert_eq!(output.error_text(5), "…cause");
        let quiet = Output {
            code: Some(1),
            stdout: "only stdout\n".into(),
            stderr: " \n".into(),
        };
        assert_eq!(quiet.error_text(100), "only stdout");
    }

    #[tokio::test]
    async fn arguments_reach_the_program_verbatim_and_a_hang_is_killed() {
        let echo = CommandLine::new(Path::new("/bin/echo"), ["a;b", "$(x)", "c d"]);
        let output = run(&echo, Duration::from_secs(5)).await.unwrap();
        assert_eq!(output.stdout, "a;b $(x) c d\n");
        assert!(output.success());
        let sleep = CommandLine::new(Path::new("/bin/sleep"), ["30"]);
        let started = std::time::Instant::now();
        let error = run(&sleep, Duration::from_millis(200)).await.unwrap_err();
        assert!(matches!(error, ExecError::Timeout { .. }), "{error}");
        assert!(started.elapsed() < Duration::from_secs(5));
        let missing = CommandLine::new(Path::new("/nonexistent/program"), ["x"]);
        let error = run(&missing, Duration::from_secs(1)).await.unwrap_err();
        assert!(matches!(error, ExecError::Spawn { .. }), "{error}");
    }

    /// A fake `sudo` that starts a sleeper in the background and waits for it: after the
    /// timeout, the sleeper (which `sudo` started, not we) is gone too.
    #[tokio::test]
    async fn a_timeout_kills_what_sudo_started() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let sudo = dir.path().join("sudo");
        let pid_file = dir.path().join("sleeper.pid");
        let script = format!(
            "#!/bin/sh\nsleep 1000 &\necho $! > {}.tmp\nmv {0}.tmp {0}\nwait\n",
            pid_file.display()
        );
        crate::state_store::write_atomic(
            &sudo,
            script.as_bytes(),
            crate::state_store::Sensitivity::Public,
        )
        .unwrap();
        std::fs::set_permissions(&sudo, std::fs::Permissions::from_mode(0o755)).unwrap();
        let line = CommandLine::new(Path::new("/usr/bin/journalctl"), ["-u", "x"]).privileged(
            &ProgramsConfig {
                use_sudo: Some(true),
                sudo: sudo.clone(),
                ..ProgramsConfig::default()
            },
        );
        let error = run(&line, Duration::from_millis(500)).await.unwrap_err();
        assert!(matches!(error, ExecError::Timeout { .. }), "{error}");
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let proc_dir = Path::new("/proc").join(pid.trim());
        // SIGKILL is delivered at once, but the zombie is reaped by init: wait (on the
        // condition, bounded) until /proc no longer shows a live sleeper.
        let gone = || {
            std::fs::read_to_string(proc_dir.join("stat"))
                .map_or(true, |stat| stat.split_whitespace().nth(2) == Some("Z"))
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !gone() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(gone(), "the sleeper {} outlived the timeout", pid.trim());
    }
}
