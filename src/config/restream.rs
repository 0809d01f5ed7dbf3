//! The `restream` section: where nginx reads the endpoints, stunnel, dropping a publisher.

use super::values::{duration, positive, valid_unit_name, valid_user_name};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// Most endpoints the store keeps (each RTMPS one takes a stunnel port).
pub const MAX_ENDPOINTS: usize = 64;

/// Restream: the endpoints live in the state directory; this says where nginx reads them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestreamConfig {
    /// The nginx include file the bot writes (one `push` per enabled endpoint). The operator's
    /// nginx.conf includes it inside the rtmp `application` that receives the stream.
    #[serde(default = "default_include_path")]
    pub include_path: PathBuf,
    /// `nginx -c <this>` for the test and the reload. `None`: nginx's built-in default.
    #[serde(default)]
    pub nginx_config: Option<PathBuf>,
    /// Extra nginx arguments before `-c`, e.g. `["-p", "/srv/nginx/"]`.
    #[serde(default)]
    pub nginx_args: Vec<String>,
    /// `nginx -t`, the reload and the stunnel restart each give up after this long.
    #[serde(default = "default_restream_timeout", deserialize_with = "duration")]
    pub command_timeout: Duration,
    /// RTMPS endpoints go through local stunnel clients (nginx-rtmp cannot push RTMPS).
    /// `None`: RTMPS endpoints are refused.
    #[serde(default)]
    pub stunnel: Option<StunnelConfig>,
    /// Drop the current publisher through the rtmp control module after a change, so the
    /// new push list applies at once (the encoder reconnects). `None`: it applies at the
    /// next publish.
    #[serde(default)]
    pub drop_publisher: Option<DropPublisherConfig>,
}

/// The stunnel client configuration rendered beside the nginx include.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StunnelConfig {
    /// The stunnel configuration file the bot writes.
    pub config_path: PathBuf,
    /// The first local port; each enabled RTMPS endpoint takes the next one.
    pub first_port: u16,
    /// The systemd unit restarted when the stunnel configuration changes. `None`: not restarted.
    pub unit: Option<String>,
    /// CA bundle the stunnel clients verify the ingest's certificate against.
    pub ca_file: PathBuf,
    /// The user stunnel drops to after binding its ports (`setuid`; Debian's stunnel4 package
    /// creates `stunnel4`). Never root: the bot user can rewrite this file.
    pub user: String,
    /// The group stunnel drops to (`setgid`).
    pub group: String,
}

impl Default for StunnelConfig {
    fn default() -> Self {
        StunnelConfig {
            config_path: "/etc/stunnel/restream.conf".into(),
            first_port: 19350,
            unit: Some("stunnel@restream.service".into()),
            ca_file: "/etc/ssl/certs/ca-certificates.crt".into(),
            user: "stunnel4".into(),
            group: "stunnel4".into(),
        }
    }
}

/// Where the rtmp control module answers, and which application's publisher to drop.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DropPublisherConfig {
    /// The `rtmp_control` location, e.g. `http://127.0.0.1:8080/control`.
    pub control_url: String,
    /// The rtmp application that includes the push list.
    pub application: String,
}

impl Default for DropPublisherConfig {
    fn default() -> Self {
        DropPublisherConfig {
            control_url: "http://127.0.0.1:8080/control".into(),
            application: "live".into(),
        }
    }
}

pub(super) fn default_include_path() -> PathBuf {
    PathBuf::from("/etc/nginx/stream-control/restream.conf")
}

pub(super) fn default_restream_timeout() -> Duration {
    Duration::from_secs(10)
}

pub(super) fn validate_restream(
    restream: &RestreamConfig,
    problem: &mut impl FnMut(String, String),
) {
    if restream.include_path.file_name().is_none() {
        problem(
            "restream.include_path".into(),
            "must be the path of a file".into(),
        );
    }
    if restream
        .nginx_config
        .as_ref()
        .is_some_and(|p| p.as_os_str().is_empty())
    {
        problem(
            "restream.nginx_config".into(),
            "must be a path, or None for nginx's default".into(),
        );
    }
    for (i, arg) in restream.nginx_args.iter().enumerate() {
        if arg.is_empty() || arg.chars().any(char::is_control) {
            problem(
                format!("restream.nginx_args[{i}]"),
                "must be a non-empty argument without control characters".into(),
            );
        }
    }
    positive(
        "restream.command_timeout",
        restream.command_timeout,
        problem,
    );
    if let Some(stunnel) = &restream.stunnel {
        let last = u32::from(stunnel.first_port) + MAX_ENDPOINTS as u32;
        if stunnel.first_port < 1024 || last > 65535 {
            problem(
                "restream.stunnel.first_port".into(),
                format!(
                    "must be 1024 to {} (one port per RTMPS endpoint follows it)",
                    65535 - MAX_ENDPOINTS
                ),
            );
        }
        if stunnel.config_path.file_name().is_none() || stunnel.config_path == restream.include_path
        {
            problem(
                "restream.stunnel.config_path".into(),
                "must be the path of a file other than `include_path`".into(),
            );
        }
        // Written into the stunnel configuration: one line, nothing else.
        let ca_file = stunnel.ca_file.to_string_lossy();
        if ca_file.is_empty() || ca_file.chars().any(char::is_control) {
            problem(
                "restream.stunnel.ca_file".into(),
                "must be the path of a CA bundle".into(),
            );
        }
        for (key, name) in [("user", &stunnel.user), ("group", &stunnel.group)] {
            // One word in the file, never root (the point is to drop root).
            if !valid_user_name(name) || name == "root" || name == "0" {
                problem(
                    format!("restream.stunnel.{key}"),
                    format!("`{name}` must be a system {key} name other than root"),
                );
            }
        }
        if let Some(unit) = &stunnel.unit
            && !valid_unit_name(unit)
        {
            problem(
                "restream.stunnel.unit".into(),
                format!("`{unit}` is not a systemd unit name"),
            );
        }
    }
    if let Some(drop) = &restream.drop_publisher {
        if !(drop.control_url.starts_with("http://") || drop.control_url.starts_with("https://")) {
            problem(
                "restream.drop_publisher.control_url".into(),
                format!("`{}` must start with http:// or https://", drop.control_url),
            );
        }
        let application_ok = !drop.application.is_empty()
            && drop
                .application
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !application_ok {
            problem(
                "restream.drop_publisher.application".into(),
                "must be the rtmp application's name (letters, digits, `_`, `-`, `.`)".into(),
            );
        }
    }
}
