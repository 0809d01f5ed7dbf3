//! `stream-control doctor`: check everything the bot depends on outside itself, and say how to
//! fix what is wrong.
//!
//! [`run`] loads the configuration and then checks, for each configured section, what the bot
//! will need when it runs: the environment secrets, the state directory, OBS (reachable,
//! version, password, scene names), every stats server (it answers, and the configured
//! parser reads it), the Twitch and Kick tokens (valid, same application, scopes; Kick's
//! channel), the Discord bot
//! (token, server membership, permissions), nginx (`nginx -t` exactly as a restream change runs
//! it, the include directory, the stored targets), the systemd units, and the `sudo` rules the
//! privileged commands need. Sections that are absent are skipped and say so. Every check runs
//! with a timeout and they run concurrently; nothing is changed anywhere (no token is refreshed,
//! no file written, no unit restarted).
//!
//! The result is a [`Report`] of [`Check`]s (name, [`Outcome`], detail, fix), already redacted:
//! no secret (environment, Twitch tokens, stream keys) ever appears in it. The CLI prints
//! [`Report::render`] and exits 1 when a check failed.

mod kick;
mod peers;
mod system;

use crate::config::Config;
use crate::context::Context;
use crate::secrets::{Redactor, Secrets};
use futures_util::future::BoxFuture;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The longest one check (one group, e.g. OBS, or one stats server) may take.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Fail,
    /// Not checked: the section is absent, or what it needs failed first.
    Skipped,
}

impl Outcome {
    /// `✓`, `✗` or `–`.
    pub fn mark(self) -> &'static str {
        match self {
            Outcome::Ok => "✓",
            Outcome::Fail => "✗",
            Outcome::Skipped => "–",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked (`OBS`, `stats belabox`, `service nginx`…).
    pub name: String,
    pub outcome: Outcome,
    /// What was found.
    pub detail: String,
    /// What to do about a failure.
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            outcome: Outcome::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn fail(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            name: name.into(),
            outcome: Outcome::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn skipped(name: impl Into<String>, why: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            outcome: Outcome::Skipped,
            detail: why.into(),
            fix: None,
        }
    }

    /// A section that is not configured: skipped, and says so.
    pub fn absent(name: impl Into<String>, section: &str) -> Check {
        Check::skipped(name, format!("no `{section}` section in the configuration"))
    }

    fn redacted(self, redactor: &Redactor) -> Check {
        Check {
            name: redactor.redact(&self.name),
            detail: redactor.redact(&self.detail),
            fix: self.fix.map(|fix| redactor.redact(&fix)),
            ..self
        }
    }
}

/// Every check, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.outcome == Outcome::Fail)
    }

    /// Whether nothing failed.
    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The first check of this name.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The report for a terminal: one line per check (`✓ name: detail`), the fix indented
    /// below a failure, and a summary.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for check in &self.checks {
            let mut lines = check.detail.lines();
            let skipped = if check.outcome == Outcome::Skipped {
                "skipped: "
            } else {
                ""
            };
            out.push_str(&format!(
                "{} {}: {skipped}{}\n",
                check.outcome.mark(),
                check.name,
                lines.next().unwrap_or_default()
            ));
            for line in lines {
                out.push_str(&format!("    {line}\n"));
            }
            if let Some(fix) = &check.fix {
                out.push_str(&format!("    fix: {fix}\n"));
            }
        }
        let failed = self.failures().count();
        let skipped = self
            .checks
            .iter()
            .filter(|c| c.outcome == Outcome::Skipped)
            .count();
        let passed = self.checks.len() - failed - skipped;
        out.push_str(&format!(
            "\n{passed} passed, {failed} failed, {skipped} skipped.\n"
        ));
        out
    }
}

/// How doctor runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The longest one check may take.
    pub timeout: Duration,
    /// The `.env` file the secrets were loaded from (checked for lines it cannot read).
    pub env_file: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: CHECK_TIMEOUT,
            env_file: Some(PathBuf::from(".env")),
        }
    }
}

/// Check the configuration at `path` and everything it names. `secrets` are the environment's
/// (the CLI reads them as `run` does).
pub async fn run(path: &Path, secrets: Secrets, options: Options) -> Report {
    let redactor = Redactor::new(&secrets);
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(error) => {
            let checks = vec![
                Check::fail(
                    "config",
                    error.to_string(),
                    "correct each line above (`stream-control check-config` lists the same \
                     problems); the other checks run once the configuration is valid",
                ),
                Check::skipped("other checks", "the configuration is not valid"),
            ];
            return Report {
                checks: checks.into_iter().map(|c| c.redacted(&redactor)).collect(),
            };
        }
    };
    let config_check = config_ok(path, &config);
    let ctx = match Context::new(config, secrets, redactor.clone()) {
        Ok(ctx) => ctx,
        Err(error) => {
            let check = Check::fail(
                "config",
                format!("{}: {error:#}", path.display()),
                "correct the `messages` overrides or `locale` named above",
            );
            return Report {
                checks: vec![check.redacted(&redactor)],
            };
        }
    };
    let mut checks = vec![
        config_check,
        environment(&ctx.config, &ctx.secrets, options.env_file.as_deref()),
        state_directory(&ctx.config),
        instances(path, &ctx.config),
    ];
    let groups: Vec<(&str, BoxFuture<'_, Vec<Check>>)> = vec![
        ("OBS", Box::pin(peers::obs(&ctx))),
        ("guard", Box::pin(peers::stats_servers(&ctx))),
        ("Twitch", Box::pin(peers::twitch(&ctx))),
        ("Kick", Box::pin(kick::kick(&ctx))),
        ("Discord", Box::pin(peers::discord(&ctx))),
        ("restream", Box::pin(system::restream(&ctx))),
        ("services", Box::pin(system::services(&ctx))),
        ("sudo", Box::pin(system::sudo(&ctx))),
        ("power", Box::pin(system::power(&ctx))),
    ];
    let timeout = options.timeout;
    let results =
        futures_util::future::join_all(groups.into_iter().map(|(name, group)| async move {
            match tokio::time::timeout(timeout, group).await {
                Ok(checks) => checks,
                Err(_) => vec![Check::fail(
                    name,
                    format!(
                        "did not finish within {}",
                        humantime::format_duration(timeout)
                    ),
                    "something it waits for hangs: run `stream-control doctor` again, and check \
                 that host's network and the program's own log",
                )],
            }
        }))
        .await;
    checks.extend(results.into_iter().flatten());
    // The token checks taught the redactor the Twitch tokens; mask everything once, at the end.
    Report {
        checks: checks
            .into_iter()
            .map(|c| c.redacted(&ctx.redactor))
            .collect(),
    }
}

/// A token file in the state directory, as an account's check reads it: the token, or the
/// check to report instead (not logged in, unreadable; skipped with `optional`'s note when an
/// optional account has none). `login_command` is the fix.
fn token_file<T: serde::de::DeserializeOwned>(
    state: &crate::state_store::StateDir,
    file: &str,
    name: &str,
    login_command: &str,
    optional: Option<&str>,
) -> Result<T, Check> {
    let path = state.path(file);
    match state.read_json::<T>(file) {
        Ok(Some(token)) => Ok(token),
        Ok(None) => Err(match optional {
            Some(note) => Check::skipped(name, note),
            None => Check::fail(
                name,
                format!(
                    "not logged in (no {} in the state directory)",
                    path.display()
                ),
                format!("run {login_command} (with --config) as the bot's user, and approve it"),
            ),
        }),
        Err(error) => Err(Check::fail(
            name,
            format!("cannot read {}: {error}", path.display()),
            format!("let the bot's user read it, or delete it and run {login_command} again"),
        )),
    }
}

/// Other instances' configurations beside this one (`stream-control@<name>.service`) must not
/// share its web port or state directory.
fn instances(path: &Path, config: &Config) -> Check {
    const NAME: &str = "instances";
    let others = crate::config::instances::siblings(path);
    let clashes = crate::config::instances::clashes(config, &others);
    if clashes.is_empty() {
        return Check::ok(
            NAME,
            match others.len() {
                0 => "no other configuration beside this one".to_string(),
                n => format!(
                    "{n} other configuration(s) beside this one; none shares the web port or the state directory"
                ),
            },
        );
    }
    Check::fail(
        NAME,
        clashes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
        "one process per streamer shares nothing but the binary: change the port or the \
         state directory in one of them",
    )
}

/// The configuration check when it loaded: what is enabled.
fn config_ok(path: &Path, config: &Config) -> Check {
    let (on, off) = config.features_on_off();
    let list = |names: &[&str]| {
        if names.is_empty() {
            "-".to_string()
        } else {
            names.join(", ")
        }
    };
    Check::ok(
        "config",
        format!(
            "{} is valid; enabled: {}; not enabled: {}",
            path.display(),
            list(&on),
            list(&off)
        ),
    )
}

/// Required and useful secrets for the enabled sections (names only, never values), and a
/// `.env` the secrets could not be fully read from.
fn environment(config: &Config, secrets: &Secrets, env_file: Option<&Path>) -> Check {
    const NAME: &str = "environment";
    let set = |name: &str| secrets.get(name).is_some();
    let mut missing = Vec::new();
    if config.twitch.is_some() && !set("TWITCH_CLIENT_ID") {
        missing.push("TWITCH_CLIENT_ID (the Twitch application's client id, for `twitch`)");
    }
    if config.kick.is_some() && !set("KICK_CLIENT_ID") {
        missing.push("KICK_CLIENT_ID (the Kick application's client id, for `kick`)");
    }
    if config.kick.is_some() && !set("KICK_CLIENT_SECRET") {
        missing.push(
            "KICK_CLIENT_SECRET (the Kick application's client secret, for `kick`: Kick's token \
             endpoint requires it)",
        );
    }
    if config.discord.is_some() && !set("DISCORD_TOKEN") {
        missing.push("DISCORD_TOKEN (the Discord bot token, for `discord`)");
    }
    let mut notes = Vec::new();
    if config.obs.is_some() && !set("OBS_PASSWORD") {
        notes.push(
            "OBS_PASSWORD is not set (right only when OBS's WebSocket server has \
             authentication off)"
                .to_string(),
        );
    }
    if config.twitch.is_some() && !set("TWITCH_CLIENT_SECRET") {
        notes.push(
            "TWITCH_CLIENT_SECRET is not set (a confidential Twitch application needs it to \
             refresh tokens)"
                .to_string(),
        );
    }
    if let Some(web) = &config.web {
        if web.overlay.is_some() && !set("ALERT_TOKEN") {
            notes.push("ALERT_TOKEN is not set (POST /api/alert answers 503)".to_string());
        }
        if !web.bind.ip().is_loopback() && !set("STATUS_KEY") {
            notes.push(format!(
                "STATUS_KEY is not set: the status page on {} is open to anyone who reaches it",
                web.bind
            ));
        }
    }
    let present: Vec<&str> = secrets.present().collect();
    let mut detail = if present.is_empty() {
        "no secret is set".to_string()
    } else {
        format!("set: {}", present.join(", "))
    };
    for note in &notes {
        detail.push_str("; ");
        detail.push_str(note);
    }
    let env_problem = env_file.and_then(env_file_problem);
    let short = secrets.too_short();
    let exposed = crate::secrets::exposed_files(&crate::secrets::secret_files(env_file, config));
    if missing.is_empty() && env_problem.is_none() && short.is_empty() && exposed.is_empty() {
        return Check::ok(NAME, detail);
    }
    let mut problems: Vec<String> = missing.iter().map(|m| format!("not set: {m}")).collect();
    problems.extend(env_problem);
    problems.extend(short.iter().map(|name| Secrets::too_short_problem(name)));
    problems.extend(exposed.iter().map(|file| {
        format!(
            "{} holds secrets and its group or everyone may read it: `chmod 600 {0}`",
            file.display()
        )
    }));
    Check::fail(
        NAME,
        format!("{}\n{detail}", problems.join("\n")),
        "set the missing variables in the bot's environment: in a `.env` beside the \
         configuration when run by hand, in /etc/stream-control/env under systemd \
         (EnvironmentFile=); one `NAME=value` per line",
    )
}

/// A `.env` that exists but cannot be read whole (dotenvy stops at the first bad line). The
/// line is named by number only: it may hold a secret.
fn env_file_problem(path: &Path) -> Option<String> {
    let iter = match dotenvy::from_path_iter(path) {
        Ok(iter) => iter,
        Err(error) if error.not_found() => return None,
        Err(dotenvy::Error::Io(error)) => {
            return Some(format!("{} cannot be read: {error}", path.display()));
        }
        Err(_) => return Some(format!("{} cannot be read", path.display())),
    };
    for item in iter {
        match item {
            Ok(_) => {}
            Err(dotenvy::Error::LineParse(line, _)) => {
                let first = line.lines().next().unwrap_or_default();
                let number = std::fs::read_to_string(path)
                    .ok()
                    .and_then(|text| text.lines().position(|l| l == first))
                    .map(|i| format!("line {}", i + 1))
                    .unwrap_or_else(|| "a line".into());
                return Some(format!(
                    "{}: {number} is not `NAME=value` (not shown: it may hold a secret); \
                     the variables after it were not loaded",
                    path.display()
                ));
            }
            Err(error) => return Some(format!("{}: {error}", path.display())),
        }
    }
    None
}

/// The state directory: there (or creatable), and the bot's user can write it.
fn state_directory(config: &Config) -> Check {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    const NAME: &str = "state directory";
    // Relative to the working directory, as the bot resolves it.
    let dir = &std::path::absolute(&config.state_dir).unwrap_or_else(|_| config.state_dir.clone());
    let uid = crate::exec::effective_uid();
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => Check::fail(
            NAME,
            format!("{} is not a directory", dir.display()),
            "point `state_dir` at a directory (under systemd: /var/lib/stream-control)",
        ),
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            if writable(&meta, uid) {
                let mut detail = format!("{} (mode {mode:04o})", dir.display());
                if mode & 0o077 != 0 {
                    detail.push_str("; others may list it (the secret files in it are 0600)");
                }
                Check::ok(NAME, detail)
            } else {
                Check::fail(
                    NAME,
                    format!(
                        "{} belongs to uid {} (mode {mode:04o}); this user (uid {}) cannot write it",
                        dir.display(),
                        meta.uid(),
                        uid.map_or("?".into(), |u| u.to_string())
                    ),
                    format!(
                        "run the bot as the directory's owner, or give it the directory: \
                         `sudo chown -R <bot user> {}` (under systemd, StateDirectory= does this)",
                        dir.display()
                    ),
                )
            }
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let parent = match dir.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            match std::fs::metadata(&parent) {
                Ok(meta) if meta.is_dir() && writable(&meta, uid) => Check::ok(
                    NAME,
                    format!(
                        "{} does not exist yet; the bot creates it (0700) when it first stores something",
                        dir.display()
                    ),
                ),
                _ => Check::fail(
                    NAME,
                    format!(
                        "{} does not exist and this user cannot create it in {}",
                        dir.display(),
                        parent.display()
                    ),
                    format!(
                        "create it for the bot's user: `sudo install -d -m 0700 -o <bot user> {}`",
                        dir.display()
                    ),
                ),
            }
        }
        Err(error) => Check::fail(
            NAME,
            format!("{}: {error}", dir.display()),
            "give the bot's user access to the directory",
        ),
    }
}

/// Whether the user `uid` may create files in a directory with this metadata (mode bits and
/// ownership; root always may).
fn writable(meta: &std::fs::Metadata, uid: Option<u32>) -> bool {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mode = meta.permissions().mode();
    match uid {
        Some(0) => true,
        Some(uid) if meta.uid() == uid => mode & 0o300 == 0o300,
        // Group membership is not known here: a group-writable directory gets the benefit.
        _ => mode & 0o030 == 0o030 || mode & 0o003 == 0o003,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(names: &[&str]) -> Secrets {
        Secrets::from_lookup(|name| names.contains(&name).then(|| "value-123456".to_string()))
    }

    fn config(text: &str) -> Config {
        Config::parse(text).unwrap()
    }

    #[test]
    fn required_secrets_of_enabled_sections_are_named_never_their_values() {
        let config = config(
            "(twitch: (), discord: (guild_id: 1), obs: (), web: (bind: \"0.0.0.0:8080\", overlay: Some(())))",
        );
        let check = environment(&config, &secrets(&["OBS_PASSWORD"]), None);
        assert_eq!(check.outcome, Outcome::Fail);
        assert!(
            check.detail.contains("not set: TWITCH_CLIENT_ID"),
            "{check:?}"
        );
        assert!(check.detail.contains("not set: DISCORD_TOKEN"), "{check:?}");
        assert!(check.detail.contains("ALERT_TOKEN is not set"), "{check:?}");
        assert!(check.detail.contains("STATUS_KEY is not set"), "{check:?}");
        assert!(check.detail.contains("set: OBS_PASSWORD"), "{check:?}");
        assert!(!check.detail.contains("value-123456"));
        let all = secrets(&[
            "OBS_PASSWORD",
            "TWITCH_CLIENT_ID",
            "TWITCH_CLIENT_SECRET",
            "DISCORD_TOKEN",
            "ALERT_TOKEN",
            "STATUS_KEY",
        ]);
        assert_eq!(environment(&config, &all, None).outcome, Outcome::Ok);
    }

    #[test]
    fn short_secrets_and_readable_secret_files_are_a_fail() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let config = config(&format!("(state_dir: {:?})", dir.path()));
        let env = dir.path().join(".env");
        let write = |path: &std::path::Path, text: &str| {
            crate::state_store::write_atomic(
                path,
                text.as_bytes(),
                crate::state_store::Sensitivity::Secret,
            )
            .unwrap()
        };
        write(&env, "OBS_PASSWORD=1234567\n");
        std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o600)).unwrap();
        let long = Secrets::from_lookup(|n| (n == "OBS_PASSWORD").then(|| "12345678".into()));
        assert_eq!(environment(&config, &long, Some(&env)).outcome, Outcome::Ok);
        let short = Secrets::from_lookup(|n| (n == "OBS_PASSWORD").then(|| "1234567".into()));
        let check = environment(&config, &short, Some(&env));
        assert_eq!(check.outcome, Outcome::Fail);
        assert!(
            check.detail.contains("OBS_PASSWORD is shorter than 8"),
            "{check:?}"
        );
        assert!(!check.detail.contains("1234567"), "{check:?}");
        std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o640)).unwrap();
        let token = dir.path().join(crate::twitch::auth::TOKEN_FILE);
        write(&token, "{}");
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o604)).unwrap();
        let check = environment(&config, &long, Some(&env));
        assert_eq!(check.outcome, Outcome::Fail);
        for file in [&env, &token] {
            assert!(
                check
                    .detail
                    .contains(&format!("`chmod 600 {}`", file.display())),
                "{check:?}"
            );
        }
    }

    #[test]
    fn a_bad_env_line_is_named_by_number_without_its_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        crate::state_store::write_atomic(
            &path,
            b"OBS_PASSWORD=fine\nDISCORD_TOKEN='unclosed-s3cr3t\n",
            crate::state_store::Sensitivity::Secret,
        )
        .unwrap();
        let problem = env_file_problem(&path).expect("a problem");
        assert!(problem.contains("line 2"), "{problem}");
        assert!(!problem.contains("s3cr3t"), "{problem}");
        assert_eq!(env_file_problem(&dir.path().join("none")), None);
    }

    #[test]
    fn a_state_directory_is_fine_when_creatable_and_refused_when_not() {
        let dir = tempfile::tempdir().unwrap();
        let inside = dir.path().join("state");
        let check = state_directory(&config(&format!("(state_dir: \"{}\")", inside.display())));
        assert_eq!(check.outcome, Outcome::Ok, "{check:?}");
        let file = dir.path().join("file");
        crate::state_store::write_atomic(&file, b"x", crate::state_store::Sensitivity::Public)
            .unwrap();
        let check = state_directory(&config(&format!("(state_dir: \"{}\")", file.display())));
        assert_eq!(check.outcome, Outcome::Fail, "{check:?}");
    }

    #[test]
    fn the_report_renders_marks_fixes_and_a_summary() {
        let report = Report {
            checks: vec![
                Check::ok("config", "valid"),
                Check::fail(
                    "OBS",
                    "refused the password\nsecond line",
                    "set OBS_PASSWORD",
                ),
                Check::skipped("Discord", "no `discord` section"),
            ],
        };
        assert!(!report.passed());
        assert_eq!(
            report.render(),
            "✓ config: valid\n✗ OBS: refused the password\n    second line\n    fix: set \
             OBS_PASSWORD\n– Discord: skipped: no `discord` section\n\n1 passed, 1 failed, 1 skipped.\n"
        );
    }
}
