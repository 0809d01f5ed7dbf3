//! The `programs` section: where the system programs the bot runs live.

use serde::Deserialize;
use std::path::PathBuf;

/// The system programs the bot runs, never through a shell. Absolute paths by default, so a
/// sudoers rule can name them exactly.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProgramsConfig {
    pub sudo: PathBuf,
    /// Prefix privileged commands (nginx, `systemctl restart`, journalctl) with `sudo -n`.
    /// `None`: only when the bot does not run as root.
    pub use_sudo: Option<bool>,
    pub nginx: PathBuf,
    pub systemctl: PathBuf,
    pub journalctl: PathBuf,
    pub ssh: PathBuf,
}

impl Default for ProgramsConfig {
    fn default() -> Self {
        ProgramsConfig {
            sudo: "/usr/bin/sudo".into(),
            use_sudo: None,
            nginx: "/usr/sbin/nginx".into(),
            systemctl: "/usr/bin/systemctl".into(),
            journalctl: "/usr/bin/journalctl".into(),
            ssh: "/usr/bin/ssh".into(),
        }
    }
}

pub(super) fn validate_programs(
    programs: &ProgramsConfig,
    problem: &mut impl FnMut(String, String),
) {
    for (key, path) in [
        ("sudo", &programs.sudo),
        ("nginx", &programs.nginx),
        ("systemctl", &programs.systemctl),
        ("journalctl", &programs.journalctl),
        ("ssh", &programs.ssh),
    ] {
        if path.as_os_str().is_empty() {
            problem(
                format!("programs.{key}"),
                "must be the path of the program".into(),
            );
        }
    }
}
