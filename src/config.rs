//! `config.ron`: written by the operator, only read by the bot.
//!
//! Read with the `ron` crate (implicit `Some`: a bare value fills an `Option`). Every struct
//! denies unknown fields. [`Config::load`] reports every problem at once, each at its line:col:
//! a syntax error, unknown and mistyped fields (serde stops at the first, so `source` blanks the
//! refused entry out and reads again), then the semantic checks of [`Config::validate`] (with
//! the key path and the position of the value). Secrets never live here: see `secrets`.
//!
//! One section per feature, one file per section under `config/` (struct, defaults and
//! validation); this file holds the whole [`Config`], loading and the problem report. An absent
//! section means the feature is off and its commands answer "not enabled". Sections for features
//! that are not built yet do not exist. `programs` (paths of the system programs the bot runs) is
//! not a feature: it always has its defaults.

mod commands;
mod discord;
mod guard;
pub mod instances;
mod kick;
mod log;
mod obs;
mod overlay;
mod power;
mod programs;
mod restream;
mod services;
mod source;
mod tls;
mod twitch;
mod values;
mod web;

pub use ::commands::Feature;
pub use commands::{CommandsConfig, CooldownOverride, CooldownsConfig, Level};
pub use discord::{DISCORD_ALERT_KINDS, DiscordAlertsConfig, DiscordConfig, DiscordLiveConfig};
pub use guard::{
    AutoStartConfig, GuardConfig, Policy, ServerKind, StatsServerConfig, StatsServerKind, shown_url,
};
pub use kick::{
    DEFAULT_REDIRECT_PORT, KICK_API_URL, KICK_OAUTH_URL, KICK_PUSHER_URL, KickConfig, KickReader,
    MAX_REQUEST_TIMEOUT, SendAs, redirect_uri,
};
pub use log::{LogConfig, LogFormat, parse_filter};
pub use obs::{
    FixConfig, MIN_DROPPED_WINDOW, ObsConfig, RaidStopConfig, SceneNames, SourceConfig, StopConfig,
    UploadConfig,
};
pub use overlay::{OverlayConfig, SpeakConfig};
pub use power::{PowerConfig, parse_mac};
pub use programs::ProgramsConfig;
pub use restream::{DropPublisherConfig, MAX_ENDPOINTS, RestreamConfig, StunnelConfig};
pub use services::ServicesConfig;
pub use source::Problem;
pub use tls::{CaFileError, TlsConfig, read_ca_file};
pub use twitch::{AnnounceConfig, HELIX_URL, OAUTH_URL, TwitchConfig};
pub use values::{valid_host, valid_host_name, valid_unit_name, valid_user_name};
pub use web::{
    AutoBanConfig, IpNet, ProxyHeader, RateLimitConfig, TrustedProxy, WebConfig, WebLimits,
};

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where `stream-control` looks for its configuration by default.
pub const DEFAULT_PATH: &str = "config.ron";

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Language of replies when the surface does not say (see [`crate::catalog::LOCALES`]).
    #[serde(default = "default_locale")]
    pub locale: String,
    /// Directory for runtime state (tokens, restream endpoints, bans).
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    #[serde(default)]
    pub log: LogConfig,
    /// The status page and JSON API. Absent: no web server.
    #[serde(default)]
    pub web: Option<WebConfig>,
    /// OBS over obs-websocket v5. Absent: scene and stream commands answer "not enabled".
    #[serde(default)]
    pub obs: Option<ObsConfig>,
    /// Twitch: chat commands, channel management, raids. Absent: no Twitch.
    #[serde(default)]
    pub twitch: Option<TwitchConfig>,
    /// Kick: chat commands and replies in the broadcaster's Kick chat. Absent: no Kick.
    #[serde(default)]
    pub kick: Option<KickConfig>,
    /// The bitrate guard. Absent: no automatic switching.
    #[serde(default)]
    pub guard: Option<GuardConfig>,
    /// Discord: slash commands, control panel, status embed, alerts, chat mirror. Absent: no
    /// Discord.
    #[serde(default)]
    pub discord: Option<DiscordConfig>,
    /// Restream endpoints pushed by nginx-rtmp. Absent: `restream` answers "not enabled".
    #[serde(default)]
    pub restream: Option<RestreamConfig>,
    /// The stream PC: Wake-on-LAN, reachability, restart and shutdown over ssh.
    #[serde(default)]
    pub power: Option<PowerConfig>,
    /// systemd units the bot shows, restarts and reads the journal of.
    #[serde(default)]
    pub services: Option<ServicesConfig>,
    /// Where the system programs the bot runs live (nginx, systemctl, journalctl, ssh, sudo).
    #[serde(default)]
    pub programs: ProgramsConfig,
    /// Outgoing TLS: certificate authorities trusted besides the system's.
    #[serde(default)]
    pub tls: TlsConfig,
    #[serde(default)]
    pub commands: CommandsConfig,
    /// Reply overrides: locale → message id → Fluent pattern.
    #[serde(default)]
    pub messages: BTreeMap<String, BTreeMap<String, String>>,
}

fn default_locale() -> String {
    "en-US".into()
}

fn default_state_dir() -> PathBuf {
    PathBuf::from("state")
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", render_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn render_problems(path: &Path, problems: &[Problem]) -> String {
    let mut out = format!(
        "{}: {} problem{}",
        path.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        let key = if p.path.is_empty() {
            String::new()
        } else {
            format!("{}: ", p.path)
        };
        out.push_str(&format!(
            "\n  {}:{}:{}: {key}{}",
            path.display(),
            p.line,
            p.col,
            p.message
        ));
    }
    out
}

/// Whether `path` is `ancestor` or under it (`a.b`, `a.b.c`, `a.b[0]` are within `a.b`).
fn is_within(path: &str, ancestor: &str) -> bool {
    path.strip_prefix(ancestor)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

impl Config {
    /// Read and check `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text).map_err(|problems| ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        })
    }

    /// Parse and check configuration text, collecting every problem.
    pub fn parse(text: &str) -> Result<Config, Vec<Problem>> {
        let positions = source::Positions::scan(text);
        let (parsed, mut problems, blanked) = source::read::<Config>(text, &positions);
        if let Some(config) = parsed {
            for (path, message) in config.validate() {
                // A blanked entry holds its default, not what the file says: its problem is
                // already reported.
                if blanked.iter().any(|b| is_within(&path, b)) {
                    continue;
                }
                let (line, col) = positions.value(&path);
                problems.push(Problem {
                    line,
                    col,
                    path,
                    message,
                });
            }
            if problems.is_empty() {
                return Ok(config);
            }
        }
        problems.sort_by(|a, b| (a.line, a.col, &a.path).cmp(&(b.line, b.col, &b.path)));
        problems.dedup();
        Err(problems)
    }

    /// Semantic checks: `(key path, message)` for every problem.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut problem = |path: String, message: String| problems.push((path, message));

        values::check_locale("locale", Some(&self.locale), &mut problem);
        if self.state_dir.as_os_str().is_empty() {
            problem("state_dir".into(), "must not be empty".into());
        }
        if let Err(e) = parse_filter(&self.log.filter) {
            problem("log.filter".into(), format!("not a valid log filter: {e}"));
        }

        if let Some(web) = &self.web {
            web::validate_web(web, &mut problem);
        }
        if let Some(obs) = &self.obs {
            obs::validate_obs(obs, &mut problem);
        }
        if let Some(guard) = &self.guard {
            if self.obs.is_none() {
                problem(
                    "guard".into(),
                    "the guard switches OBS scenes: add an `obs` section too".into(),
                );
            }
            guard::validate_guard(guard, &mut problem);
        }

        if let Some(twitch) = &self.twitch {
            twitch::validate_twitch(twitch, &mut problem);
        }
        if let Some(kick) = &self.kick {
            kick::validate_kick(kick, &mut problem);
            if matches!(kick.reader, Some(KickReader::Webhook { .. })) && self.web.is_none() {
                problem(
                    "kick.reader".into(),
                    "`Webhook` needs the `web` section: Kick posts to the web server".into(),
                );
            }
            if kick.raid_stop {
                let from_pusher = matches!(
                    kick.reader,
                    Some(KickReader::Pusher {
                        channel_id: Some(_),
                        ..
                    })
                );
                if !from_pusher {
                    problem(
                        "kick.raid_stop".into(),
                        "needs `reader: Pusher(…, channel_id: …)`: only Kick's chat socket \
                         reports an outgoing host"
                            .into(),
                    );
                }
                if self.obs.as_ref().is_none_or(|obs| obs.raid_stop.is_none()) {
                    problem(
                        "kick.raid_stop".into(),
                        "needs `obs.raid_stop`: what to do after the raid".into(),
                    );
                }
            }
        }
        if let Some(discord) = &self.discord {
            discord::validate_discord(discord, &mut problem);
        }
        programs::validate_programs(&self.programs, &mut problem);
        tls::validate_tls(&self.tls, &mut problem);
        if let Some(restream) = &self.restream {
            restream::validate_restream(restream, &mut problem);
        }
        if let Some(power) = &self.power {
            power::validate_power(power, &mut problem);
        }
        if let Some(services) = &self.services {
            services::validate_services(services, &mut problem);
        }

        commands::validate_commands(&self.commands, &mut problem);
        for (path, message) in crate::catalog::check_overrides(&self.messages) {
            problem(path, message);
        }
        problems
    }

    /// The names of the configured features and of the others, each in name order.
    pub fn features_on_off(&self) -> (Vec<&'static str>, Vec<&'static str>) {
        let (on, off): (Vec<_>, Vec<_>) = self.features().into_iter().partition(|(_, on)| *on);
        let names = |list: Vec<(&'static str, bool)>| list.into_iter().map(|(n, _)| n).collect();
        (names(on), names(off))
    }

    /// Whether `feature` is configured: its section is present (`overlay`: `web.overlay`).
    /// The one decision behind `/api/status`'s `features`, `help`, `status` and dispatch's
    /// "not enabled" answer.
    pub fn enabled(&self, feature: Feature) -> bool {
        match feature {
            Feature::Obs => self.obs.is_some(),
            Feature::Guard => self.guard.is_some(),
            Feature::Twitch => self.twitch.is_some(),
            Feature::Discord => self.discord.is_some(),
            Feature::Restream => self.restream.is_some(),
            Feature::Power => self.power.is_some(),
            Feature::Services => self.services.is_some(),
            Feature::Overlay => self.web.as_ref().is_some_and(|w| w.overlay.is_some()),
            Feature::Web => self.web.is_some(),
        }
    }

    /// Which features are configured, by name (the `features` of `/api/status`).
    pub fn features(&self) -> BTreeMap<&'static str, bool> {
        Feature::ALL
            .into_iter()
            .map(|feature| (feature.name(), self.enabled(feature)))
            .collect()
    }
}
