//! Apply a rendered push list: back up, write, `nginx -t`, restart stunnel, drop the publisher,
//! reload; on any failure restore the backup (and reload / restart again) and report the
//! program's own error text.
//!
//! Order matters: the publisher is dropped *before* the reload. After a reload the old nginx
//! worker keeps the publisher's connection (and its old push list) while the control and stat
//! pages answer from the new worker, which cannot see it; dropped first, the encoder reconnects
//! to the new worker a moment later and gets the new pushes.

use super::render::{INCLUDE_HEADER, Rendered, stunnel_empty};
use crate::config::{ProgramsConfig, RestreamConfig};
use crate::exec::{self, CommandLine};
use crate::state_store::{Sensitivity, write_atomic};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the control module has to answer a drop.
const DROP_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest error text kept from a program.
const ERROR_CHARS: usize = 600;

/// A step of an apply, for progress replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The files are written; `nginx -t` runs.
    Testing,
    /// `nginx -t` passed; the stunnel unit restarts.
    RestartingStunnel,
    /// The current publisher is being dropped.
    DroppingPublisher,
    /// `nginx -t` passed; nginx reloads.
    Reloading,
}

/// What a successful apply did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Applied {
    /// Whether a file changed (otherwise nothing ran).
    pub changed: bool,
    pub stunnel_restarted: bool,
    /// The drop: publishers dropped, or why the drop failed (the change still applies at the
    /// next publish). `None`: not configured or not asked.
    pub dropped: Option<Result<u32, String>>,
}

/// Which step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Write,
    Test,
    Stunnel,
    Reload,
}

/// A failed apply: what failed with the program's own text, and whether the rollback worked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{stage:?} failed: {error}{}", rollback_error.as_ref().map(|r| format!("; the rollback failed too: {r}")).unwrap_or_default())]
pub struct ApplyError {
    pub stage: Stage,
    pub error: String,
    /// `None`: the previous files are back (and reloaded where needed).
    pub rollback_error: Option<String>,
}

/// Options of one apply.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Drop the publisher when the push list changed (if `drop_publisher` is configured).
    pub drop_publisher: bool,
}

/// One file to replace, with what it held.
struct FileChange<'a> {
    path: &'a Path,
    new: &'a str,
    /// The previous content; `None` when the file did not exist.
    old: Option<String>,
    /// What a missing file is restored to (an empty list).
    empty: String,
}

impl<'a> FileChange<'a> {
    async fn read(path: &'a Path, new: &'a str, empty: String) -> Result<Self, ApplyError> {
        let old = match tokio::fs::read_to_string(path).await {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(write_error(path, &e)),
        };
        Ok(FileChange {
            path,
            new,
            old,
            empty,
        })
    }

    fn changed(&self) -> bool {
        self.old.as_deref() != Some(self.new)
    }

    /// Keep the previous content beside the file (`<file>.bak`), then write the new one.
    fn write(&self) -> Result<(), ApplyError> {
        if let Some(old) = &self.old {
            let backup = backup_path(self.path);
            write_atomic(&backup, old.as_bytes(), Sensitivity::Secret)
                .map_err(|e| write_error(&backup, &e))?;
        }
        write_atomic(self.path, self.new.as_bytes(), Sensitivity::Secret)
            .map_err(|e| write_error(self.path, &e))
    }

    fn restore(&self) -> Result<(), String> {
        let old = self.old.as_deref().unwrap_or(&self.empty);
        write_atomic(self.path, old.as_bytes(), Sensitivity::Secret)
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

/// `<file>.bak`.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bak");
    path.with_file_name(name)
}

fn write_error(path: &Path, error: &std::io::Error) -> ApplyError {
    ApplyError {
        stage: Stage::Write,
        error: format!("{}: {error}", path.display()),
        rollback_error: None,
    }
}

/// The programs and settings an apply runs with.
pub struct Environment<'a> {
    pub config: &'a RestreamConfig,
    pub programs: &'a ProgramsConfig,
    /// For `drop_publisher.control_url` when it is `https`.
    pub tls: &'a crate::tls::Tls,
}

/// `nginx <nginx_args> [-c <nginx_config>] <args>`, privileged: every nginx call of an apply.
fn nginx_line(config: &RestreamConfig, programs: &ProgramsConfig, args: &[&str]) -> CommandLine {
    let mut argv: Vec<std::ffi::OsString> = config.nginx_args.iter().map(Into::into).collect();
    if let Some(config) = &config.nginx_config {
        argv.push("-c".into());
        argv.push(config.into());
    }
    argv.extend(args.iter().map(Into::into));
    CommandLine::new(&programs.nginx, argv).privileged(programs)
}

/// `nginx … -t` as an apply runs it.
pub fn test_line(config: &RestreamConfig, programs: &ProgramsConfig) -> CommandLine {
    nginx_line(config, programs, &["-t"])
}

/// `nginx … -s reload` as an apply runs it.
pub fn reload_line(config: &RestreamConfig, programs: &ProgramsConfig) -> CommandLine {
    nginx_line(config, programs, &["-s", "reload"])
}

/// `systemctl restart <stunnel unit>` as an apply runs it, when a unit is configured.
pub fn stunnel_restart_line(
    config: &RestreamConfig,
    programs: &ProgramsConfig,
) -> Option<CommandLine> {
    let unit = config.stunnel.as_ref()?.unit.as_ref()?;
    Some(CommandLine::new(&programs.systemctl, ["restart", unit.as_str()]).privileged(programs))
}

impl Environment<'_> {
    /// `nginx -t` as an apply runs it (arguments, `-c`, sudo); nginx's own text when it fails.
    pub async fn test(&self) -> Result<(), String> {
        self.run(test_line(self.config, self.programs)).await
    }

    /// Run a command; its error text when it fails.
    async fn run(&self, line: CommandLine) -> Result<(), String> {
        match exec::run(&line, self.config.command_timeout).await {
            Ok(output) if output.success() => Ok(()),
            Ok(output) => Err(output.error_text(ERROR_CHARS)),
            Err(error) => Err(error.to_string()),
        }
    }

    async fn restart_stunnel(&self) -> Result<bool, String> {
        let Some(line) = stunnel_restart_line(self.config, self.programs) else {
            return Ok(false);
        };
        self.run(line).await.map(|()| true)
    }

    /// Ask the rtmp control module to drop every publisher of the application.
    async fn drop_publishers(&self) -> Option<Result<u32, String>> {
        let drop = self.config.drop_publisher.as_ref()?;
        let url = format!(
            "{}/drop/publisher?app={}",
            drop.control_url.trim_end_matches('/'),
            drop.application
        );
        let client = self
            .tls
            .http_client()
            .timeout(DROP_TIMEOUT)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        let result = async {
            let response = client.get(&url).send().await?.error_for_status()?;
            response.text().await
        }
        .await;
        Some(match result {
            Ok(body) => Ok(body.trim().parse().unwrap_or(0)),
            // reqwest's message names the URL, which may carry the control page's password.
            Err(error) => Err(crate::status::error_chain(&error.without_url())),
        })
    }
}

/// Write `rendered`, test, (re)start, drop, reload; roll back on failure.
pub async fn apply(
    env: &Environment<'_>,
    rendered: &Rendered,
    options: Options,
    progress: &(dyn Fn(Step) + Sync),
) -> Result<Applied, ApplyError> {
    let include = FileChange::read(
        &env.config.include_path,
        &rendered.include,
        INCLUDE_HEADER.to_string(),
    )
    .await?;
    let stunnel = match (&env.config.stunnel, &rendered.stunnel) {
        (Some(config), Some(text)) => {
            Some(FileChange::read(&config.config_path, text, stunnel_empty(config)).await?)
        }
        _ => None,
    };
    let stunnel_changed = stunnel.as_ref().is_some_and(FileChange::changed);
    if !include.changed() && !stunnel_changed {
        return Ok(Applied::default());
    }
    let files: Vec<&FileChange> = std::iter::once(&include).chain(stunnel.as_ref()).collect();
    let restore_first = |count: usize| {
        let errors: Vec<String> = files[..count]
            .iter()
            .filter_map(|f| f.restore().err())
            .collect();
        (!errors.is_empty()).then(|| errors.join("; "))
    };
    let restore = || restore_first(files.len());
    for (written, file) in files.iter().enumerate() {
        if let Err(error) = file.write() {
            // Only what was written before is put back (this one was not replaced).
            return Err(ApplyError {
                rollback_error: restore_first(written),
                ..error
            });
        }
    }

    progress(Step::Testing);
    if let Err(error) = env.test().await {
        return Err(ApplyError {
            stage: Stage::Test,
            error,
            rollback_error: restore(),
        });
    }

    let mut applied = Applied {
        changed: true,
        ..Applied::default()
    };
    if stunnel_changed && rendered.uses_stunnel {
        progress(Step::RestartingStunnel);
        match env.restart_stunnel().await {
            Ok(restarted) => applied.stunnel_restarted = restarted,
            Err(error) => {
                let mut rollback_error = restore();
                if let Err(again) = env.restart_stunnel().await {
                    rollback_error = Some(again);
                }
                return Err(ApplyError {
                    stage: Stage::Stunnel,
                    error,
                    rollback_error,
                });
            }
        }
    }

    if include.changed() && options.drop_publisher && env.config.drop_publisher.is_some() {
        progress(Step::DroppingPublisher);
        applied.dropped = env.drop_publishers().await;
    }

    progress(Step::Reloading);
    if let Err(error) = env.run(reload_line(env.config, env.programs)).await {
        let mut rollback_error = restore();
        if rollback_error.is_none() {
            rollback_error = env.run(reload_line(env.config, env.programs)).await.err();
        }
        if applied.stunnel_restarted
            && let Err(again) = env.restart_stunnel().await
        {
            rollback_error = Some(again);
        }
        return Err(ApplyError {
            stage: Stage::Reload,
            error,
            rollback_error,
        });
    }
    Ok(applied)
}
