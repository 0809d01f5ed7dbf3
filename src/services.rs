//! systemd units and their journal. Commands: `handlers::services`; parsing:
//! `commands::services`.
//!
//! Units are named in `config.services.units` by a short key. States come from
//! `systemctl is-active <unit>…` (read-only, so never through sudo: a poll every 10 s must not
//! fill the auth log); restarts, the repair sequence and the journal go through `sudo -n` when
//! the bot is not root. Every program runs without a shell and with a timeout.
//!
//! [`follow`] streams a unit's journal (`journalctl -f -n 0 -o json -u <unit>`) as lines and
//! publishes each as [`Event::LogLine`], for Discord's follow mode.

use crate::config::{ProgramsConfig, ServicesConfig};
use crate::exec::{self, CommandLine, ExecError};
use crate::reply::{Outcome, Reply, keys};
use crate::secrets::Redactor;
use crate::status::{Event, EventBus, Publisher, ServiceUnitStatus, ServicesStatus};
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How often the supervised task reads every unit's state.
pub const POLL_INTERVAL: Duration = Duration::from_secs(10);
/// `systemctl is-active` gives up after this long.
pub const STATE_TIMEOUT: Duration = Duration::from_secs(5);
/// Log lines: at least, at most, and when not asked.
pub const MIN_LINES: u16 = 10;
pub const MAX_LINES: u16 = 1000;
pub const DEFAULT_LINES: u16 = 25;
/// Every log line is cut at this many characters.
pub const LINE_CHARS: usize = 2000;
/// Longest error text kept from a program.
const ERROR_CHARS: usize = 400;
/// The state shown before the first answer, or when systemctl failed.
pub const UNKNOWN: &str = "unknown";

/// A configured unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The key in `services.units` (as configured).
    pub key: String,
    pub unit: String,
}

/// Why a service action did nothing.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("the services section is not configured")]
    NotEnabled,
    #[error("no service `{name}`")]
    Unknown { name: String, keys: Vec<String> },
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error("{program} failed with exit code {}: {error}", code.map_or("none".to_string(), |c| c.to_string()))]
    Failed {
        program: String,
        code: Option<i32>,
        error: String,
    },
}

impl ServiceError {
    /// The localised answer.
    pub fn reply(&self) -> Reply {
        match self {
            ServiceError::NotEnabled => Reply::not_enabled(commands::Feature::Services),
            ServiceError::Unknown { name, keys: names } => Reply::new(keys::SERVICE_UNKNOWN)
                .arg("name", name.clone())
                .arg("names", names.join(", "))
                .with_outcome(Outcome::Refused),
            ServiceError::Exec(error) => error.reply(),
            ServiceError::Failed {
                program,
                code,
                error,
            } => {
                let key = if error.contains("a password is required")
                    || error.contains("a terminal is required")
                {
                    keys::COMMAND_NEEDS_SUDO
                } else {
                    keys::COMMAND_FAILED
                };
                Reply::new(key)
                    .arg("program", program.clone())
                    .arg("code", code.map_or("-".to_string(), |c| c.to_string()))
                    .arg("error", error.clone())
                    .with_outcome(Outcome::Failed)
            }
        }
    }
}

/// The services peer: what it runs (its config section and the programs) and where it reports
/// (its part of Status, the event bus). Built by `app` when `services` is configured.
#[derive(Debug, Clone)]
pub struct Services {
    pub config: ServicesConfig,
    pub programs: ProgramsConfig,
    /// `restream.stunnel.unit`: a repair step when an enabled endpoint uses RTMPS.
    pub stunnel_unit: Option<String>,
    pub redactor: Redactor,
    pub events: EventBus,
    /// Ends a `follow` when the bot shuts down.
    pub shutdown: CancellationToken,
    pub status: Publisher<Option<ServicesStatus>>,
}

/// Every configured unit, in key order.
pub fn units(config: &ServicesConfig) -> Vec<Unit> {
    config
        .units
        .iter()
        .map(|(key, unit)| Unit {
            key: key.clone(),
            unit: unit.clone(),
        })
        .collect()
}

/// The unit of a key (ignoring case), or the valid keys.
pub fn resolve(config: &ServicesConfig, name: &str) -> Result<Unit, ServiceError> {
    units(config)
        .into_iter()
        .find(|u| u.key.eq_ignore_ascii_case(name))
        .ok_or_else(|| ServiceError::Unknown {
            name: name.to_string(),
            keys: config.units.keys().cloned().collect(),
        })
}

/// `systemctl is-active` for each unit (one call), recorded in Status. A unit's state is
/// `unknown` with the error when systemctl gave no answer for it.
pub async fn states(services: &Services, units: &[Unit]) -> Vec<(Unit, ServiceUnitStatus)> {
    let names = units.iter().map(|u| u.unit.as_str());
    let line = CommandLine::new(
        &services.programs.systemctl,
        std::iter::once("is-active").chain(names),
    );
    let answers: Result<Vec<String>, String> = match exec::run(&line, STATE_TIMEOUT).await {
        // is-active exits non-zero when a unit is not active; the states are on stdout.
        Ok(output) => {
            let lines: Vec<String> = output
                .stdout
                .lines()
                .map(|l| l.trim().to_string())
                .collect();
            if lines.len() == units.len() && lines.iter().all(|l| !l.is_empty()) {
                Ok(lines)
            } else {
                Err(output.error_text(ERROR_CHARS))
            }
        }
        Err(error) => Err(error.to_string()),
    };
    let results: Vec<(Unit, ServiceUnitStatus)> = units
        .iter()
        .enumerate()
        .map(|(i, unit)| {
            let (state, error) = match &answers {
                Ok(lines) => (lines[i].clone(), None),
                Err(error) => (UNKNOWN.to_string(), Some(error.clone())),
            };
            let status = ServiceUnitStatus {
                unit: unit.unit.clone(),
                state,
                error,
            };
            (unit.clone(), status)
        })
        .collect();
    record(services, &results);
    results
}

/// Status: the states; an event for each known state that changed.
fn record(services: &Services, results: &[(Unit, ServiceUnitStatus)]) {
    let mut changes = Vec::new();
    services.status.update(|part| {
        for (unit, status) in results {
            if let Some(before) = part.units.get(&unit.key)
                && before.state != status.state
                && before.state != UNKNOWN
                && status.state != UNKNOWN
            {
                changes.push(Event::ServiceStateChanged {
                    key: unit.key.clone(),
                    unit: unit.unit.clone(),
                    from: before.state.clone(),
                    to: status.state.clone(),
                });
            }
            part.units.insert(unit.key.clone(), status.clone());
        }
    });
    for change in changes {
        tracing::info!(?change, "service state changed");
        let _ = services.events.send(change);
    }
}

/// The initial `Status.services`: every unit `unknown`.
pub fn initial_status(config: &ServicesConfig) -> ServicesStatus {
    ServicesStatus {
        units: units(config)
            .into_iter()
            .map(|u| {
                let status = ServiceUnitStatus {
                    unit: u.unit,
                    state: UNKNOWN.into(),
                    error: None,
                };
                (u.key, status)
            })
            .collect(),
    }
}

/// `systemctl restart <unit>` as the bot runs it (through `sudo -n` when configured).
pub fn restart_line(programs: &ProgramsConfig, unit: &Unit) -> CommandLine {
    CommandLine::new(&programs.systemctl, ["restart", unit.unit.as_str()]).privileged(programs)
}

/// The line count `logs_line` always asks for: a fixed argv, so the sudoers rule for it is exact
/// (`stream-control sudoers`; a `-n *` rule would let journalctl run as root with any options).
const JOURNAL_LINES: &str = "1000";

/// `journalctl -u <unit> -n 1000 -o short-iso --no-pager` as the bot runs it; [`logs`] keeps
/// the last lines asked for.
pub fn logs_line(programs: &ProgramsConfig, unit: &Unit) -> CommandLine {
    CommandLine::new(
        &programs.journalctl,
        [
            "-u",
            unit.unit.as_str(),
            "-n",
            JOURNAL_LINES,
            "-o",
            "short-iso",
            "--no-pager",
        ],
    )
    .privileged(programs)
}

/// `journalctl -f -n 0 -o json -u <unit>` as `follow` runs it.
pub fn follow_line(programs: &ProgramsConfig, unit: &Unit) -> CommandLine {
    CommandLine::new(
        &programs.journalctl,
        ["-f", "-n", "0", "-o", "json", "-u", unit.unit.as_str()],
    )
    .privileged(programs)
}

/// Run a privileged program line; its output, or its exit code and error text.
async fn run_privileged(
    services: &Services,
    line: CommandLine,
) -> Result<exec::Output, ServiceError> {
    let output = exec::run(&line, services.config.command_timeout).await?;
    if output.success() {
        Ok(output)
    } else {
        Err(ServiceError::Failed {
            program: line.name,
            code: output.code,
            error: output.error_text(ERROR_CHARS),
        })
    }
}

/// `systemctl restart <unit>`, then its state.
pub async fn restart(services: &Services, unit: &Unit) -> Result<ServiceUnitStatus, ServiceError> {
    tracing::info!(unit = %unit.unit, "restarting a service");
    run_privileged(services, restart_line(&services.programs, unit)).await?;
    let mut states = states(services, std::slice::from_ref(unit)).await;
    Ok(states.remove(0).1)
}

/// The repair sequence: as configured, or nginx then (when an enabled restream endpoint uses
/// RTMPS) the stunnel unit.
pub fn repair_steps(services: &Services) -> Vec<Unit> {
    let config = &services.config;
    if let Some(keys) = &config.repair {
        return keys
            .iter()
            .filter_map(|k| resolve(config, k).ok())
            .collect();
    }
    let by_unit = |wanted: &str, fallback_key: &str| {
        let bare = |u: &str| u.trim_end_matches(".service").to_string();
        units(config)
            .into_iter()
            .find(|u| bare(&u.unit) == bare(wanted))
            .unwrap_or(Unit {
                key: fallback_key.into(),
                unit: wanted.into(),
            })
    };
    let mut steps =
        vec![resolve(config, "nginx").unwrap_or_else(|_| by_unit("nginx.service", "nginx"))];
    let uses_rtmps = services.status.borrow().restream.as_ref().is_some_and(|r| {
        r.endpoints
            .iter()
            .any(|e| e.enabled && e.url_masked.starts_with("rtmps://"))
    });
    let stunnel_unit = services.stunnel_unit.clone();
    if let (true, Some(unit)) = (uses_rtmps, stunnel_unit) {
        steps.push(by_unit(&unit, "stunnel"));
    }
    steps
}

/// Restart every repair step in order (a failed step does not stop the next); `step` sees
/// each result as it comes.
pub async fn repair(
    services: &Services,
    step: &(dyn Fn(&Unit, &Result<ServiceUnitStatus, ServiceError>) + Sync),
) -> Vec<(Unit, Result<ServiceUnitStatus, ServiceError>)> {
    let mut results = Vec::new();
    for unit in repair_steps(services) {
        let result = restart(services, &unit).await;
        step(&unit, &result);
        results.push((unit, result));
    }
    results
}

/// The number of log lines asked for, clamped to 10–1000 (default 25).
pub fn clamp_lines(lines: Option<u16>) -> u16 {
    lines.unwrap_or(DEFAULT_LINES).clamp(MIN_LINES, MAX_LINES)
}

/// A log line cut at [`LINE_CHARS`] characters.
fn cut(line: &str) -> String {
    match line.char_indices().nth(LINE_CHARS) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_string(),
    }
}

/// The unit's last `lines` journal lines (of [`logs_line`]'s 1000), each cut at 2,000
/// characters.
pub async fn logs(
    services: &Services,
    unit: &Unit,
    lines: u16,
) -> Result<Vec<String>, ServiceError> {
    let output = run_privileged(services, logs_line(&services.programs, unit)).await?;
    let all: Vec<&str> = output
        .stdout
        .lines()
        .filter(|l| l.trim() != "-- No entries --")
        .collect();
    let skip = all.len().saturating_sub(usize::from(lines));
    Ok(all[skip..]
        .iter()
        .map(|l| services.redactor.redact(&cut(l)))
        .collect())
}

/// One `journalctl -o json` line as text: `identifier[pid]: message`. `MESSAGE` may be a
/// string, an array of bytes (not UTF-8), or an array of those (a repeated field).
pub fn journal_line(json: &str) -> Option<String> {
    let entry: serde_json::Value = serde_json::from_str(json).ok()?;
    let message = field_text(entry.get("MESSAGE")?)?;
    let text = |name: &str| entry.get(name).and_then(field_text);
    let line = match (text("SYSLOG_IDENTIFIER"), text("_PID")) {
        (Some(identifier), Some(pid)) => format!("{identifier}[{pid}]: {message}"),
        (Some(identifier), None) => format!("{identifier}: {message}"),
        _ => message,
    };
    Some(cut(&line))
}

fn field_text(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Array(items) if items.iter().all(Value::is_u64) => {
            let bytes: Vec<u8> = items
                .iter()
                .filter_map(Value::as_u64)
                .map(|b| u8::try_from(b).unwrap_or(b'?'))
                .collect();
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(field_text).collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        }
        _ => None,
    }
}

/// Follow a service's journal for `duration`: spawns `journalctl -f -n 0 -o json -u <unit>`
/// (through `sudo -n` when not root) and returns its new lines as they come, each
/// `identifier[pid]: message`, cut at 2,000 characters and redacted. Every line is also
/// published as [`Event::LogLine`].
///
/// The follow ends, and journalctl is killed, when `duration` has passed, when the receiver
/// is dropped, or when the bot shuts down; the channel then closes. `key` is a key of
/// `services.units` (ignoring case); an unknown key is [`ServiceError::Unknown`] with the
/// valid keys. For Discord's `/logs follow`.
pub async fn follow(
    services: &Services,
    key: &str,
    duration: Duration,
) -> Result<mpsc::Receiver<String>, ServiceError> {
    let unit = resolve(&services.config, key)?;
    let line = follow_line(&services.programs, &unit);
    let mut child = line
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|source| ExecError::Spawn {
            program: line.name.clone(),
            source,
        })?;
    let Some(stdout) = child.stdout.take() else {
        return Err(ServiceError::Failed {
            program: line.name,
            code: None,
            error: "no output pipe".into(),
        });
    };
    let (sender, receiver) = mpsc::channel(256);
    let events = services.events.clone();
    let redactor = services.redactor.clone();
    let shutdown = services.shutdown.clone();
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let until = tokio::time::sleep(duration);
        tokio::pin!(until);
        loop {
            let next = tokio::select! {
                _ = &mut until => break,
                _ = shutdown.cancelled() => break,
                _ = sender.closed() => break,
                next = lines.next_line() => next,
            };
            let Ok(Some(json)) = next else { break };
            let Some(text) = journal_line(&json) else {
                continue;
            };
            let text = redactor.redact(&text);
            let _ = events.send(Event::LogLine {
                key: unit.key.clone(),
                line: text.clone(),
            });
            if sender.send(text).await.is_err() {
                break;
            }
        }
        // Killed here (kill_on_drop) and reaped.
        let _ = child.start_kill();
        let _ = child.wait().await;
    });
    Ok(receiver)
}

/// The supervised task: every unit's state every [`POLL_INTERVAL`] into `Status.services`.
pub async fn run(services: Services, cancel: CancellationToken) -> anyhow::Result<()> {
    let all = units(&services.config);
    crate::retry::poll_every(POLL_INTERVAL, &cancel, || async {
        states(&services, &all).await;
    })
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_clamped_to_10_to_1000() {
        assert_eq!(clamp_lines(None), 25);
        assert_eq!(clamp_lines(Some(1)), 10);
        assert_eq!(clamp_lines(Some(50)), 50);
        assert_eq!(clamp_lines(Some(5000)), 1000);
    }

    #[test]
    fn long_lines_are_cut_at_2000_characters() {
        let long = "é".repeat(2500);
        let cut_line = cut(&long);
        assert_eq!(cut_line.chars().count(), 2001);
        assert!(cut_line.ends_with('…'));
        assert_eq!(cut("short"), "short");
    }

    #[test]
    fn journal_json_messages_of_every_shape_become_text() {
        let line = |json: &str| journal_line(json);
        assert_eq!(
            line(r#"{"MESSAGE":"started","SYSLOG_IDENTIFIER":"nginx","_PID":"42"}"#).as_deref(),
            Some("nginx[42]: started")
        );
        // Not UTF-8: an array of bytes.
        assert_eq!(
            line(r#"{"MESSAGE":[104,105,255],"SYSLOG_IDENTIFIER":"x"}"#).as_deref(),
            Some("x: hi\u{FFFD}")
        );
        // A repeated field.
        assert_eq!(
            line(r#"{"MESSAGE":["one",[116,119,111]]}"#).as_deref(),
            Some("one two")
        );
        assert_eq!(line(r#"{"MESSAGE":null}"#), None);
        assert_eq!(line("not json"), None);
        assert_eq!(line(r#"{"OTHER":"x"}"#), None);
    }
}
