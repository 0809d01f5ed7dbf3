//! [`Status::health`]: the one judgement of every component's health. `/api/status` serves it
//! (`health`); the status page's dots, the Discord status message's colour and its service
//! dots only render it.

use super::{
    GuardStatus, KickStatus, ObsConnection, ServiceUnitStatus, Status, StreamState, TaskState,
    TokenState, TwitchStatus,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// How one component is doing, from least to most alarming.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Not configured.
    #[default]
    Off,
    /// Configured, and nothing is going on that could be good or bad (no stream, PC asleep).
    Idle,
    Ok,
    /// Working, but not as it should: starting, reconnecting, low bitrate, a task restarting.
    Warn,
    /// Broken: needs someone.
    Bad,
}

/// Every component's [`Level`], and the worst of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Health {
    /// The worst component; [`Level::Ok`] when none is worse (not configured and idle parts
    /// count as fine).
    pub overall: Level,
    pub obs: Level,
    /// The ingest as the guard sees it.
    pub ingest: Level,
    pub twitch_token: Level,
    pub eventsub: Level,
    /// Kick chat as the bot reads it (`kick.reader`).
    pub kick: Level,
    pub discord: Level,
    /// The nginx unit (from `services`) and the last restream apply.
    pub nginx: Level,
    /// The worst of [`Health::units`].
    pub services: Level,
    /// Each systemd unit by its configured key.
    pub units: BTreeMap<String, Level>,
    pub power: Level,
    /// The supervised tasks: [`Level::Warn`] while one restarts.
    pub tasks: Level,
}

impl Status {
    /// Judge every component.
    pub fn health(&self) -> Health {
        let units: BTreeMap<String, Level> = self
            .services
            .iter()
            .flat_map(|s| &s.units)
            .map(|(key, unit)| (key.clone(), unit_level(unit)))
            .collect();
        let mut health = Health {
            overall: Level::Ok,
            obs: self
                .obs
                .as_ref()
                .map_or(Level::Off, |o| match o.connection {
                    // An upload alert in force (`obs.upload`), or the output reconnecting
                    // right now (the alert waits for its time): working, not as it should.
                    ObsConnection::Connected
                        if !o.upload_problems.is_empty()
                            || o.stream_state == StreamState::Reconnecting =>
                    {
                        Level::Warn
                    }
                    ObsConnection::Connected => Level::Ok,
                    ObsConnection::Connecting => Level::Warn,
                    ObsConnection::Offline(_)
                    | ObsConnection::AuthenticationFailed
                    | ObsConnection::TooOld(_) => Level::Bad,
                }),
            ingest: self.guard.as_ref().map_or(Level::Off, |g| {
                ingest(g, self.obs.as_ref().is_some_and(|o| o.streaming))
            }),
            twitch_token: self.twitch.as_ref().map_or(Level::Off, token),
            eventsub: self.twitch.as_ref().map_or(Level::Off, eventsub),
            kick: self.kick.as_ref().map_or(Level::Off, kick),
            discord: self.discord.as_ref().map_or(Level::Off, |d| match d.state {
                "connected" => Level::Ok,
                "connecting" | "resuming" => Level::Warn,
                _ => Level::Bad,
            }),
            nginx: self.nginx(),
            services: match units.values().max() {
                Some(worst) => *worst,
                None => Level::Off,
            },
            units,
            power: self
                .power
                .as_ref()
                .map_or(Level::Off, |p| match p.reachable {
                    Some(true) => Level::Ok,
                    // A stream PC that is off is often meant to be: woken when needed.
                    Some(false) => Level::Idle,
                    None => Level::Warn,
                }),
            tasks: if self
                .tasks
                .values()
                .any(|t| t.state == TaskState::Restarting)
            {
                Level::Warn
            } else {
                Level::Ok
            },
        };
        health.overall = [
            health.obs,
            health.ingest,
            health.twitch_token,
            health.eventsub,
            health.kick,
            health.discord,
            health.nginx,
            health.services,
            health.power,
            health.tasks,
        ]
        .into_iter()
        .fold(Level::Ok, Level::max);
        health
    }

    /// The unit keyed `nginx` (or the first whose unit name starts with `nginx`), and the last
    /// restream apply: a failed apply is [`Level::Bad`] whatever the unit says.
    fn nginx(&self) -> Level {
        let units = self.services.as_ref().map(|s| &s.units);
        let unit = units.and_then(|units| {
            units
                .get("nginx")
                .or_else(|| units.values().find(|u| u.unit.starts_with("nginx")))
        });
        let apply = self.restream.as_ref().and_then(|r| r.last_apply.as_ref());
        match (unit, apply) {
            (None, None) => Level::Off,
            (_, Some(apply)) if !apply.ok => Level::Bad,
            (Some(unit), _) => unit_level(unit),
            (None, Some(_)) => Level::Ok,
        }
    }
}

/// A systemd unit: `active` is fine, a unit on its way is a warning, `unknown` (not asked yet,
/// or systemctl failed) too; `inactive` and `failed` are broken (the unit is configured to run).
pub fn unit_level(unit: &ServiceUnitStatus) -> Level {
    match unit.state.as_str() {
        "active" => Level::Ok,
        "activating" | "deactivating" | "reloading" | "unknown" => Level::Warn,
        _ => Level::Bad,
    }
}

/// The guard's verdict wins over the numbers: a server that answers with a low bitrate is not
/// healthy. Without a stream, no publisher is nothing to worry about.
fn ingest(guard: &GuardStatus, streaming: bool) -> Level {
    let active = guard
        .active_server
        .as_ref()
        .and_then(|name| guard.servers.iter().find(|s| &s.name == name));
    let all_failing = !guard.servers.is_empty() && guard.servers.iter().all(|s| s.state == "error");
    let one_failing = guard.servers.iter().any(|s| s.state == "error");
    let numbers = if all_failing {
        Level::Bad
    } else if active.is_some_and(|s| s.state == "live") {
        if one_failing { Level::Warn } else { Level::Ok }
    } else if streaming || one_failing {
        Level::Warn
    } else {
        Level::Idle
    };
    match guard.level {
        Some("low") => numbers.max(Level::Warn),
        Some("offline") if streaming => Level::Bad,
        _ => numbers,
    }
}

/// The broadcaster's token: missing or failing is broken; scopes lacking for an enabled
/// feature are a warning.
fn token(twitch: &TwitchStatus) -> Level {
    match twitch.token {
        TokenState::Valid if !twitch.missing_scopes.is_empty() => Level::Warn,
        TokenState::Valid => Level::Ok,
        TokenState::Checking => Level::Warn,
        TokenState::Missing | TokenState::Failing => Level::Bad,
    }
}

/// The EventSub session and its subscriptions: a failed or revoked subscription is broken.
fn eventsub(twitch: &TwitchStatus) -> Level {
    let e = &twitch.eventsub;
    match e.state {
        "authorization_revoked" => Level::Bad,
        "connected" => {
            let problems = e.subscriptions.values().filter(|v| *v != "enabled");
            problems.fold(Level::Ok, |level, v| {
                level.max(if v.starts_with("failed") || v.starts_with("revoked") {
                    Level::Bad
                } else {
                    Level::Warn
                })
            })
        }
        _ => Level::Warn,
    }
}

/// Kick chat's reader: the socket on its way back is a warning, a reader that gave up or
/// stopped is broken. A webhook that has had nothing from Kick yet is idle: a quiet chat
/// looks the same.
fn kick(kick: &KickStatus) -> Level {
    match kick.chat {
        "connected" | "receiving" => Level::Ok,
        "none" | "waiting" => Level::Idle,
        "connecting" | "reconnecting" => Level::Warn,
        _ => Level::Bad,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{
        ApplyStatus, DiscordStatus, ObsStatus, PowerStatus, RestreamStatus, ServerStatus,
        ServicesStatus, TaskStatus,
    };

    fn server(name: &str, state: &'static str) -> ServerStatus {
        ServerStatus {
            name: name.into(),
            kind: "nginx-rtmp",
            state,
            bitrate_kbps: None,
            rtt_ms: None,
            error: None,
        }
    }

    fn obs(connection: ObsConnection, streaming: bool) -> Option<ObsStatus> {
        Some(ObsStatus {
            connection,
            streaming,
            ..Default::default()
        })
    }

    fn unit(state: &str) -> ServiceUnitStatus {
        ServiceUnitStatus {
            unit: "x.service".into(),
            state: state.into(),
            error: None,
        }
    }

    #[test]
    fn nothing_configured_is_fine() {
        let health = Status::new(Default::default(), 0).health();
        assert_eq!(health.overall, Level::Ok);
        assert_eq!(health.obs, Level::Off);
        assert_eq!(health.ingest, Level::Off);
        assert_eq!(health.services, Level::Off);
        assert_eq!(health.tasks, Level::Ok);
    }

    #[test]
    fn obs_by_its_connection() {
        let mut status = Status::new(Default::default(), 0);
        for (connection, level) in [
            (ObsConnection::Connected, Level::Ok),
            (ObsConnection::Connecting, Level::Warn),
            (ObsConnection::Offline("refused".into()), Level::Bad),
            (ObsConnection::AuthenticationFailed, Level::Bad),
            (ObsConnection::TooOld("5.4".into()), Level::Bad),
        ] {
            status.obs = obs(connection.clone(), false);
            let health = status.health();
            assert_eq!(health.obs, level, "{connection:?}");
            assert_eq!(health.overall, level, "{connection:?}");
        }
        // An upload alert in force is a warning while connected.
        status.obs = obs(ObsConnection::Connected, true);
        status.obs.as_mut().unwrap().upload_problems =
            vec![crate::status::UploadProblem::Congestion];
        assert_eq!(status.health().obs, Level::Warn);
        // So is the output reconnecting right now, before the alert's time.
        status.obs = obs(ObsConnection::Connected, true);
        status.obs.as_mut().unwrap().stream_state = StreamState::Reconnecting;
        assert_eq!(status.health().obs, Level::Warn);
    }

    #[test]
    fn the_ingest_by_the_guards_verdict_and_the_servers() {
        let guard = |level: Option<&'static str>, servers: Vec<ServerStatus>| GuardStatus {
            level,
            active_server: servers
                .iter()
                .find(|s| s.state == "live")
                .map(|s| s.name.clone()),
            servers,
            ..Default::default()
        };
        let cases = [
            (
                guard(Some("live"), vec![server("a", "live")]),
                true,
                Level::Ok,
            ),
            (
                guard(Some("low"), vec![server("a", "live")]),
                true,
                Level::Warn,
            ),
            (
                guard(Some("offline"), vec![server("a", "no_publisher")]),
                true,
                Level::Bad,
            ),
            // Before the stream: nobody publishing is expected.
            (
                guard(Some("offline"), vec![server("a", "no_publisher")]),
                false,
                Level::Idle,
            ),
            (
                guard(None, vec![server("a", "waiting")]),
                false,
                Level::Idle,
            ),
            (
                guard(None, vec![server("a", "no_publisher")]),
                true,
                Level::Warn,
            ),
            // A backup server failing while the main one is live.
            (
                guard(
                    Some("live"),
                    vec![server("a", "live"), server("b", "error")],
                ),
                true,
                Level::Warn,
            ),
            (
                guard(None, vec![server("a", "error"), server("b", "error")]),
                false,
                Level::Bad,
            ),
        ];
        for (guard, streaming, level) in cases {
            let mut status = Status::new(Default::default(), 0);
            status.obs = obs(ObsConnection::Connected, streaming);
            status.guard = Some(guard.clone());
            assert_eq!(
                status.health().ingest,
                level,
                "{guard:?}, streaming {streaming}"
            );
        }
    }

    #[test]
    fn twitch_token_and_eventsub() {
        let mut twitch = TwitchStatus {
            token: TokenState::Valid,
            ..Default::default()
        };
        twitch.eventsub.state = "connected";
        twitch
            .eventsub
            .subscriptions
            .insert("stream.online".into(), "enabled".into());
        let mut status = Status::new(Default::default(), 0);
        status.twitch = Some(twitch.clone());
        let health = status.health();
        assert_eq!(
            (health.twitch_token, health.eventsub),
            (Level::Ok, Level::Ok)
        );

        twitch.missing_scopes = vec!["channel:manage:raids".into()];
        twitch
            .eventsub
            .subscriptions
            .insert("channel.raid".into(), "waiting".into());
        status.twitch = Some(twitch.clone());
        let health = status.health();
        assert_eq!(
            (health.twitch_token, health.eventsub),
            (Level::Warn, Level::Warn)
        );

        twitch.token = TokenState::Failing;
        twitch
            .eventsub
            .subscriptions
            .insert("channel.raid".into(), "revoked: user_removed".into());
        status.twitch = Some(twitch.clone());
        let health = status.health();
        assert_eq!(
            (health.twitch_token, health.eventsub),
            (Level::Bad, Level::Bad)
        );
        assert_eq!(health.overall, Level::Bad);

        twitch.token = TokenState::Missing;
        twitch.eventsub.state = "authorization_revoked";
        status.twitch = Some(twitch);
        let health = status.health();
        assert_eq!(
            (health.twitch_token, health.eventsub),
            (Level::Bad, Level::Bad)
        );
    }

    #[test]
    fn kick_chat_by_its_reader() {
        let mut status = Status::new(Default::default(), 0);
        assert_eq!(status.health().kick, Level::Off);
        for (reader, chat, level) in [
            ("pusher", "connected", Level::Ok),
            ("pusher", "connecting", Level::Warn),
            ("pusher", "reconnecting", Level::Warn),
            ("pusher", "gave_up", Level::Bad),
            ("pusher", "stopped", Level::Bad),
            ("webhook", "waiting", Level::Idle),
            ("webhook", "receiving", Level::Ok),
            ("none", "none", Level::Idle),
        ] {
            status.kick = Some(KickStatus {
                reader,
                chat,
                chat_error: None,
                deliveries: None,
                refused: None,
            });
            let health = status.health();
            assert_eq!(health.kick, level, "{reader} {chat}");
            assert_eq!(health.overall, level.max(Level::Ok), "{reader} {chat}");
        }
    }

    #[test]
    fn services_nginx_power_discord_and_tasks() {
        let mut status = Status::new(Default::default(), 0);
        let mut units = BTreeMap::new();
        units.insert("nginx".to_string(), unit("active"));
        units.insert("stunnel".to_string(), unit("activating"));
        status.services = Some(ServicesStatus { units });
        let health = status.health();
        assert_eq!(health.nginx, Level::Ok);
        assert_eq!(health.services, Level::Warn);
        assert_eq!(health.units["stunnel"], Level::Warn);
        assert_eq!(health.overall, Level::Warn);

        status.restream = Some(RestreamStatus {
            endpoints: vec![],
            last_apply: Some(ApplyStatus {
                ok: false,
                at_unix: 1,
                error: Some("nginx -t failed".into()),
            }),
        });
        assert_eq!(status.health().nginx, Level::Bad);

        status.power = Some(PowerStatus {
            reachable: Some(false),
            ..Default::default()
        });
        assert_eq!(status.health().power, Level::Idle);

        status.discord = Some(DiscordStatus {
            state: "resuming",
            ..Default::default()
        });
        assert_eq!(status.health().discord, Level::Warn);

        status.tasks.insert(
            "obs".into(),
            TaskStatus {
                state: TaskState::Restarting,
                restarts: 1,
                last_error: None,
            },
        );
        assert_eq!(status.health().tasks, Level::Warn);
    }
}
