//! The stream PC: Wake-on-LAN, a TCP probe, restart and shutdown over ssh. Commands:
//! `handlers::power`; parsing: `commands::power`.
//!
//! The magic packet is built here (6 × `0xFF`, then the MAC 16 times) and sent to the
//! configured broadcast address. Reachability is a TCP connect to a configured port (ssh,
//! obs-websocket…) with a 1 s timeout; a supervised task probes every 10 s into
//! `Status.power`. Restart and shutdown run `ssh -o BatchMode=yes -o ConnectTimeout=5
//! [user@]host -- <command words>`, no shell on this side; a connection that drops while the
//! command runs counts as success (the PC is going down).

use crate::config::{PowerConfig, ProgramsConfig};
use crate::exec::{self, CommandLine, ExecError};
use crate::reply::{Outcome, Reply, keys};
use crate::status::{Event, PowerStatus};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long one probe waits for the TCP connect.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// How often the supervised task probes.
pub const POLL_INTERVAL: Duration = Duration::from_secs(10);
/// How often `pc wake` reports that it is still waiting.
pub const WAKE_PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// Longest error text kept from ssh.
const ERROR_CHARS: usize = 300;

pub use crate::config::parse_mac;

/// The Wake-on-LAN magic packet: 6 × `0xFF`, then the MAC 16 times (102 bytes).
pub fn magic_packet(mac: [u8; 6]) -> [u8; 102] {
    let mut packet = [0xFF; 102];
    for chunk in packet[6..].chunks_exact_mut(6) {
        chunk.copy_from_slice(&mac);
    }
    packet
}

/// Send the magic packet to `target` (broadcast allowed).
pub async fn send_magic_packet(mac: [u8; 6], target: SocketAddr) -> std::io::Result<()> {
    let bind: SocketAddr = if target.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = tokio::net::UdpSocket::bind(bind).await?;
    socket.set_broadcast(true)?;
    socket.send_to(&magic_packet(mac), target).await?;
    Ok(())
}

/// Whether `host:port` accepts a TCP connection within `timeout`; the reason when not.
pub async fn probe(host: &str, port: u16, timeout: Duration) -> Result<(), String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect((host, port))).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!(
            "no answer within {}",
            humantime::format_duration(timeout)
        )),
    }
}

/// The power peer: the stream PC it reaches (its config section) and where it reports (its part
/// of Status, the event bus). Built by `app` when `power` is configured.
#[derive(Debug, Clone)]
pub struct Power {
    pub config: PowerConfig,
    pub status: crate::status::Publisher<Option<PowerStatus>>,
    pub events: crate::status::EventBus,
}

/// Probe the configured PC once and record it in Status (an event when it changed).
pub async fn check(power: &Power) -> Result<(), String> {
    let config = &power.config;
    let result = probe(&config.host, config.probe_port, PROBE_TIMEOUT).await;
    record(power, &result);
    result
}

fn record(peer: &Power, result: &Result<(), String>) {
    let reachable = result.is_ok();
    let mut changed = false;
    peer.status.update(|power| {
        changed = power.reachable.is_some_and(|before| before != reachable);
        power.reachable = Some(reachable);
        power.checked_unix = Some(crate::status::now_unix());
        power.error = result.as_ref().err().cloned();
    });
    if changed {
        tracing::info!(reachable, "stream PC reachability changed");
        let _ = peer.events.send(Event::PowerStateChanged { reachable });
    }
}

/// How `pc wake` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woken {
    /// The probe port answered after this long.
    Up(Duration),
    /// Nothing answered within `wake_timeout`.
    TimedOut(Duration),
}

/// Send the magic packet, then probe every second until the PC answers or `wake_timeout`
/// passes. `waiting` is called once the packet is sent (with zero), then every
/// [`WAKE_PROGRESS_EVERY`] with the time so far.
pub async fn wake(power: &Power, waiting: &(dyn Fn(Duration) + Sync)) -> std::io::Result<Woken> {
    let config = &power.config;
    let mac = parse_mac(&config.mac).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a MAC address")
    })?;
    send_magic_packet(mac, config.broadcast).await?;
    tracing::info!(target = %config.broadcast, "Wake-on-LAN packet sent");
    waiting(Duration::ZERO);
    let started = Instant::now();
    let deadline = started + config.wake_timeout;
    let mut next_report = started + WAKE_PROGRESS_EVERY;
    loop {
        let tried = Instant::now();
        if check(power).await.is_ok() {
            return Ok(Woken::Up(started.elapsed()));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(Woken::TimedOut(config.wake_timeout));
        }
        if now >= next_report {
            waiting(now - started);
            next_report += WAKE_PROGRESS_EVERY;
        }
        tokio::time::sleep_until((tried + Duration::from_secs(1)).min(deadline)).await;
    }
}

/// `pc restart` / `pc shutdown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Restart,
    Shutdown,
}

/// Why a restart or shutdown did not go through.
#[derive(Debug, thiserror::Error)]
pub enum PowerError {
    /// ssh could not reach or log in to the PC (exit 255 before the command ran).
    #[error("ssh could not reach the stream PC: {0}")]
    Unreachable(String),
    /// The command ran and failed (its exit code and error text).
    #[error("the command failed with exit code {code}: {error}")]
    Refused { code: i32, error: String },
    /// ssh ended by a signal.
    #[error("ssh was killed: {0}")]
    Killed(String),
    #[error(transparent)]
    Exec(#[from] ExecError),
}

impl PowerError {
    /// The localised answer.
    pub fn reply(&self) -> Reply {
        match self {
            PowerError::Unreachable(error) | PowerError::Killed(error) => {
                Reply::new(keys::PC_SSH_UNREACHABLE).arg("error", error.clone())
            }
            PowerError::Refused { code, error } => Reply::new(keys::PC_COMMAND_FAILED)
                .number("code", *code)
                .arg("error", error.clone()),
            PowerError::Exec(error) => error.reply(),
        }
        .with_outcome(Outcome::Failed)
    }
}

/// The ssh command line for an action.
pub fn ssh_command(config: &PowerConfig, programs: &ProgramsConfig, action: Action) -> CommandLine {
    let target = match &config.ssh_user {
        Some(user) => format!("{user}@{}", config.host),
        None => config.host.clone(),
    };
    let remote = match action {
        Action::Restart => &config.restart_command,
        Action::Shutdown => &config.shutdown_command,
    };
    let mut args: Vec<String> = [
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=5",
        target.as_str(),
        "--",
    ]
    .map(String::from)
    .to_vec();
    args.extend(remote.split_whitespace().map(String::from));
    CommandLine::new(&programs.ssh, args)
}

/// Whether ssh's error text says an established session was cut (the PC went down while the
/// command ran), as opposed to never connecting.
fn dropped_during_command(stderr: &str) -> bool {
    let stderr = stderr.to_ascii_lowercase();
    ["closed by remote host", "broken pipe", "send disconnect"]
        .iter()
        .any(|sign| stderr.contains(sign))
}

/// Run the action's command on the PC over ssh.
pub async fn run_action(
    config: &PowerConfig,
    programs: &ProgramsConfig,
    action: Action,
) -> Result<(), PowerError> {
    let line = ssh_command(config, programs, action);
    tracing::info!(?action, host = %config.host, "stream PC power action");
    let result = match exec::run(&line, config.ssh_timeout).await {
        Err(error) => Err(PowerError::from(error)),
        Ok(output) => {
            let error = output.error_text(ERROR_CHARS);
            match output.code {
                Some(0) => Ok(()),
                Some(255) if dropped_during_command(&output.stderr) => Ok(()),
                Some(255) => Err(PowerError::Unreachable(error)),
                Some(code) => Err(PowerError::Refused { code, error }),
                None => Err(PowerError::Killed(error)),
            }
        }
    };
    if let Err(error) = &result {
        tracing::warn!(?action, host = %config.host, %error, "stream PC power action failed");
    }
    result
}

/// The supervised task: probe every [`POLL_INTERVAL`] into `Status.power`.
pub async fn run(power: Power, cancel: CancellationToken) -> anyhow::Result<()> {
    crate::retry::poll_every(POLL_INTERVAL, &cancel, || async {
        let _ = check(&power).await;
    })
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_parse_with_colons_or_dashes() {
        let mac = [0xAA, 0xBB, 0xCC, 0x01, 0x02, 0xFF];
        assert_eq!(parse_mac("AA:BB:CC:01:02:FF"), Some(mac));
        assert_eq!(parse_mac("aa-bb-cc-01-02-ff"), Some(mac));
        for bad in [
            "",
            "AA:BB:CC:01:02",
            "AA:BB:CC:01:02:FF:00",
            "AABBCC0102FF",
            "A:BB:CC:01:02:FFF",
            "GG:BB:CC:01:02:FF",
            "+A:BB:CC:01:02:FF",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_magic_packet_is_six_ff_then_the_mac_sixteen_times() {
        let mac = [1, 2, 3, 4, 5, 6];
        let packet = magic_packet(mac);
        assert_eq!(&packet[..6], &[0xFF; 6]);
        for i in 0..16 {
            assert_eq!(&packet[6 + i * 6..12 + i * 6], &mac);
        }
    }

    #[test]
    fn a_cut_session_is_told_from_a_failed_connect() {
        assert!(dropped_during_command(
            "Connection to pc closed by remote host.\n"
        ));
        assert!(dropped_during_command(
            "client_loop: send disconnect: Broken pipe"
        ));
        assert!(!dropped_during_command(
            "ssh: connect to host pc port 22: Connection refused"
        ));
        assert!(!dropped_during_command("Permission denied (publickey)."));
    }
}
