//! The `power` section: the stream PC (Wake-on-LAN, reachability, restart and shutdown over ssh).

use super::values::{duration, positive, socket_addr, valid_host};
use serde::Deserialize;
use std::net::SocketAddr;
use std::time::Duration;

/// The stream PC.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerConfig {
    /// Its network card's MAC address, `AA:BB:CC:DD:EE:FF` (or with `-`).
    pub mac: String,
    /// Its host name or IP address (probe and ssh).
    pub host: String,
    /// Where the magic packet goes: the broadcast address and port.
    #[serde(default = "default_wol_target", deserialize_with = "socket_addr")]
    pub broadcast: SocketAddr,
    /// A TCP port that answers once the PC is up (ssh, obs-websocket…).
    #[serde(default = "default_probe_port")]
    pub probe_port: u16,
    /// How long `pc wake` waits for the PC to answer.
    #[serde(default = "default_wake_timeout", deserialize_with = "duration")]
    pub wake_timeout: Duration,
    /// The ssh login; `None`: ssh's default (the bot's user or `~/.ssh/config`).
    #[serde(default)]
    pub ssh_user: Option<String>,
    /// What `pc restart` runs on the PC, split into words (no shell on this side).
    #[serde(default = "default_restart_command")]
    pub restart_command: String,
    /// What `pc shutdown` runs on the PC.
    #[serde(default = "default_shutdown_command")]
    pub shutdown_command: String,
    /// The whole ssh call gives up after this long (connecting gives up after 5 s).
    #[serde(default = "default_ssh_timeout", deserialize_with = "duration")]
    pub ssh_timeout: Duration,
}

pub(super) fn default_wol_target() -> SocketAddr {
    SocketAddr::from(([255, 255, 255, 255], 9))
}

pub(super) fn default_probe_port() -> u16 {
    22
}

pub(super) fn default_wake_timeout() -> Duration {
    Duration::from_secs(120)
}

pub(super) fn default_restart_command() -> String {
    "sudo -n reboot".into()
}

pub(super) fn default_shutdown_command() -> String {
    "sudo -n shutdown -h now".into()
}

pub(super) fn default_ssh_timeout() -> Duration {
    Duration::from_secs(20)
}

/// `AA:BB:CC:DD:EE:FF` or `AA-BB-CC-DD-EE-FF` (any case).
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = text.trim().split([':', '-']).collect();
    if parts.len() != 6 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (byte, part) in mac.iter_mut().zip(parts) {
        if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    Some(mac)
}

pub(super) fn validate_power(power: &PowerConfig, problem: &mut impl FnMut(String, String)) {
    if parse_mac(&power.mac).is_none() {
        problem(
            "power.mac".into(),
            format!(
                "`{}` is not a MAC address like \"AA:BB:CC:DD:EE:FF\"",
                power.mac
            ),
        );
    }
    if !valid_host(&power.host) {
        problem(
            "power.host".into(),
            format!("`{}` is not a host name or IP address", power.host),
        );
    }
    if power.probe_port == 0 {
        problem(
            "power.probe_port".into(),
            "must be 1 to 65535 (e.g. 22 for ssh)".into(),
        );
    }
    if power.broadcast.port() == 0 {
        problem(
            "power.broadcast".into(),
            "needs a port (Wake-on-LAN uses 9)".into(),
        );
    }
    if power.wake_timeout < Duration::from_secs(1) {
        problem("power.wake_timeout".into(), "must be at least 1s".into());
    }
    positive("power.ssh_timeout", power.ssh_timeout, problem);
    if let Some(user) = &power.ssh_user {
        let valid = !user.is_empty()
            && user.len() <= 32
            && !user.starts_with('-')
            && user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !valid {
            problem(
                "power.ssh_user".into(),
                format!("`{user}` is not a user name"),
            );
        }
    }
    for (key, command) in [
        ("restart_command", &power.restart_command),
        ("shutdown_command", &power.shutdown_command),
    ] {
        if command.split_whitespace().next().is_none() || command.chars().any(char::is_control) {
            problem(
                format!("power.{key}"),
                "must be a command line, e.g. \"sudo -n reboot\"".into(),
            );
        }
    }
}
