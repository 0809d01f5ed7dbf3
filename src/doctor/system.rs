//! Doctor's checks of this machine: nginx for restream, the systemd units, the sudo rules the
//! privileged commands need, the stream PC's ssh. Programs run exactly as the bot runs them
//! (same argv, same `sudo -n`), read-only: `nginx -t`, `systemctl is-active`, `sudo -l`.

use super::Check;
use crate::context::Context;
use crate::exec::{self, CommandLine};
use std::time::Duration;

/// The unit's drop-in that lets sudo work under the sandbox, in the repository (docs/setup.md:
/// Run it as a service).
const SUDO_DROP_IN: &str = "packaging/stream-control.service.d/sudo.conf";

/// `sudo -n -l …` gives up after this long.
const SUDO_TIMEOUT: Duration = Duration::from_secs(5);

/// Restream: `nginx -t` as a change runs it, the include's directory, the stored targets.
pub(super) async fn restream(ctx: &Context) -> Vec<Check> {
    let (Some(config), Some(restream)) = (&ctx.config.restream, &ctx.restream) else {
        return vec![Check::absent("restream", "restream")];
    };
    let env = crate::restream::apply::Environment {
        config,
        programs: &ctx.config.programs,
        tls: &ctx.tls,
    };
    let nginx = match env.test().await {
        Ok(()) => Check::ok("nginx -t", "nginx accepts its configuration"),
        Err(error) => Check::fail("nginx -t", error.clone(), exec_fix(&error, "nginx")),
    };
    let include = include_directory(&config.include_path);
    let targets = match restream.list() {
        Ok(endpoints) => Check::ok(
            "restream targets",
            format!(
                "{} stored, {} on",
                endpoints.len(),
                endpoints.iter().filter(|e| e.enabled()).count()
            ),
        ),
        Err(error) => Check::fail(
            "restream targets",
            error.to_string(),
            format!(
                "correct or remove {} (`stream-control restream import` rebuilds it from the \
                 old panel's file)",
                crate::state_store::StateDir::new(&ctx.config.state_dir)
                    .path(crate::restream::endpoint::STORE_FILE)
                    .display()
            ),
        ),
    };
    vec![nginx, include, targets]
}

/// The include file's directory must exist and be writable by the bot.
fn include_directory(include: &std::path::Path) -> Check {
    const NAME: &str = "restream include";
    let Some(dir) = include.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Check::ok(NAME, format!("{}", include.display()));
    };
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() && super::writable(&meta, exec::effective_uid()) => {
            Check::ok(NAME, format!("the bot can write {}", include.display()))
        }
        Ok(_) => Check::fail(
            NAME,
            format!("this user cannot write in {}", dir.display()),
            format!(
                "give the bot's user the directory: `sudo install -d -o <bot user> -m 0750 {}` \
                 (under systemd, also ReadWritePaths={})",
                dir.display(),
                dir.display()
            ),
        ),
        Err(error) => Check::fail(
            NAME,
            format!("{}: {error}", dir.display()),
            format!(
                "create it for the bot's user: `sudo install -d -o <bot user> -m 0750 {}`, and \
                 `include {};` inside nginx's rtmp application (docs/setup.md: Restream)",
                dir.display(),
                include.display()
            ),
        ),
    }
}

/// Every configured unit's state (one `systemctl is-active`, as the bot polls it).
pub(super) async fn services(ctx: &Context) -> Vec<Check> {
    let Some(services) = &ctx.services else {
        return vec![Check::absent("services", "services")];
    };
    let units = crate::services::units(&services.config);
    crate::services::states(services, &units)
        .await
        .into_iter()
        .map(|(unit, status)| {
            let name = format!("service {}", unit.key);
            match (status.state.as_str(), status.error) {
                ("active", _) => Check::ok(name, format!("{} is active", unit.unit)),
                (_, Some(error)) => Check::fail(
                    name,
                    format!("systemctl gave no state for {}: {error}", unit.unit),
                    exec_fix(&error, "systemctl"),
                ),
                (state, None) => Check::fail(
                    name,
                    format!("{} is {state}", unit.unit),
                    format!(
                        "`journalctl -u {}` says why it stopped; then `sudo systemctl \
                         enable --now {}` (a unit that does not exist shows as inactive: \
                         check its name in `services.units`)",
                        unit.unit, unit.unit
                    ),
                ),
            }
        })
        .collect()
}

/// The privileged commands the configuration will run through `sudo -n`, each asked of sudo
/// with `sudo -n -l <command>` (which runs nothing).
pub(super) async fn sudo(ctx: &Context) -> Vec<Check> {
    const NAME: &str = "sudo";
    let programs = &ctx.config.programs;
    let lines = crate::sudoers::privileged_lines(&ctx.config, programs);
    if lines.is_empty() {
        return vec![Check::skipped(
            NAME,
            "nothing configured runs a privileged command",
        )];
    }
    if !exec::use_sudo(programs) {
        return vec![Check::skipped(
            NAME,
            "not used: the bot runs as root or `programs.use_sudo` is false",
        )];
    }
    let sudo = programs.sudo.as_os_str();
    let asks = lines.iter().filter_map(|line| {
        let rest = line.argv.strip_prefix(&[sudo.to_owned(), "-n".into()])?;
        let mut argv = vec!["-n".into(), "-l".into()];
        argv.extend(rest.iter().cloned());
        Some((
            crate::sudoers::shown(rest),
            CommandLine::new(&programs.sudo, argv),
        ))
    });
    let results = futures_util::future::join_all(asks.map(|(shown, ask)| async move {
        let refused = match exec::run(&ask, SUDO_TIMEOUT).await {
            Ok(output) if output.success() => None,
            Ok(output) => Some(output.error_text(200)),
            Err(error) => Some(error.to_string()),
        };
        (shown, refused)
    }))
    .await;
    let count = results.len();
    let refused: Vec<String> = results
        .into_iter()
        .filter_map(|(shown, refused)| refused.map(|why| format!("{shown}: {why}")))
        .collect();
    if refused.is_empty() {
        return vec![Check::ok(
            NAME,
            format!("sudo allows all {count} privileged commands without a password"),
        )];
    }
    vec![Check::fail(
        NAME,
        format!(
            "sudo refuses {} of {count} privileged commands:\n{}",
            refused.len(),
            refused.join("\n")
        ),
        format!(
            "install the rules `stream-control sudoers` prints for the bot's user \
             (docs/setup.md: sudo); under systemd also install {SUDO_DROP_IN} as the \
             unit's drop-in (NoNewPrivileges=yes stops sudo)"
        ),
    )]
}

/// The stream PC: the ssh program exists (the PC itself may well be off: that is not checked).
pub(super) async fn power(ctx: &Context) -> Vec<Check> {
    const NAME: &str = "power";
    let Some(config) = &ctx.config.power else {
        return vec![Check::absent(NAME, "power")];
    };
    let ssh = &ctx.config.programs.ssh;
    if !exec::is_executable(ssh) {
        return vec![Check::fail(
            NAME,
            format!("{} is not an executable program", ssh.display()),
            "install the OpenSSH client (`apt install openssh-client`) or correct \
             `programs.ssh`",
        )];
    }
    let answers = crate::power::probe(&config.host, config.probe_port, crate::power::PROBE_TIMEOUT)
        .await
        .is_ok();
    vec![Check::ok(
        NAME,
        format!(
            "{} present; the PC {} on port {} now (an off PC is fine: `pc wake` wakes it)",
            ssh.display(),
            if answers {
                "answers"
            } else {
                "does not answer"
            },
            config.probe_port
        ),
    )]
}

/// How to fix a program that failed: a missing program, sudo asking for a password, sudo
/// stopped by NoNewPrivileges, or the program's own complaint.
fn exec_fix(error: &str, program: &str) -> String {
    if error.contains("a password is required") || error.contains("a terminal is required") {
        format!(
            "let the bot's user run it without a password: install the rules `stream-control \
             sudoers` prints, which include {program} (docs/setup.md: sudo)"
        )
    } else if error.contains("no new privileges") || error.contains("effective uid is not 0") {
        format!(
            "sudo cannot work under NoNewPrivileges=yes: install {SUDO_DROP_IN} as the unit's \
             drop-in (docs/setup.md: Run it as a service)"
        )
    } else if error.starts_with("cannot run") {
        format!("install {program}, or set its path in `programs.{program}`")
    } else {
        format!("{program}'s message above names the problem (file and line): correct it")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_drop_in_named_in_fixes_is_in_the_repository() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(super::SUDO_DROP_IN);
        assert!(path.is_file(), "{}", path.display());
        assert!(
            super::exec_fix("sudo: effective uid is not 0", "nginx").contains(super::SUDO_DROP_IN)
        );
    }
}
