//! The `services` section: the systemd units the bot shows, restarts and reads.

use super::values::{duration, positive, valid_unit_name};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// systemd units by a short key (`service status nginx`, `logs nginx`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicesConfig {
    /// Key → unit, e.g. `"nginx": "nginx.service"`.
    pub units: BTreeMap<String, String>,
    /// `service repair`: keys restarted in this order. `None`: nginx, then the restream stunnel
    /// unit when an enabled endpoint uses RTMPS.
    #[serde(default)]
    pub repair: Option<Vec<String>>,
    /// `systemctl restart` and `journalctl` give up after this long.
    #[serde(default = "default_services_timeout", deserialize_with = "duration")]
    pub command_timeout: Duration,
}

pub(super) fn default_services_timeout() -> Duration {
    Duration::from_secs(30)
}

pub(super) fn validate_services(
    services: &ServicesConfig,
    problem: &mut impl FnMut(String, String),
) {
    if services.units.is_empty() {
        problem(
            "services.units".into(),
            "name at least one unit, e.g. {\"nginx\": \"nginx.service\"}".into(),
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for (key, unit) in &services.units {
        let path = format!("services.units[{key:?}]");
        if commands::ServiceName::parse(key).is_err() {
            problem(
                path,
                "a key is 1 to 64 of letters, digits, `_`, `.`, `@` and `-`".into(),
            );
            continue;
        }
        if !seen.insert(key.to_lowercase()) {
            problem(
                path,
                "duplicate key (keys are matched ignoring case)".into(),
            );
            continue;
        }
        if !valid_unit_name(unit) {
            problem(path, format!("`{unit}` is not a systemd unit name"));
        }
    }
    if let Some(repair) = &services.repair {
        if repair.is_empty() {
            problem(
                "services.repair".into(),
                "list at least one key, or None for the default".into(),
            );
        }
        for (i, key) in repair.iter().enumerate() {
            if !services.units.keys().any(|k| k.eq_ignore_ascii_case(key)) {
                problem(
                    format!("services.repair[{i}]"),
                    format!(
                        "`{key}` is not a key of `units` ({})",
                        services
                            .units
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
        }
    }
    positive(
        "services.command_timeout",
        services.command_timeout,
        problem,
    );
}
