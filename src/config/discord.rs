//! The `discord` section: the control room, its roles, channels and alerts.

use super::commands::Level;
use super::values::{check_locale, duration, positive};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Discord, the private control room. The bot token comes from `DISCORD_TOKEN`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// The server (guild) the bot serves. Commands are registered there; interactions from any
    /// other server or from DMs are refused.
    pub guild_id: u64,
    /// Role id → level; a member's highest role counts.
    #[serde(default)]
    pub roles: BTreeMap<String, Level>,
    /// User id → level (e.g. the streamer's own account as `broadcaster`).
    #[serde(default)]
    pub users: BTreeMap<String, Level>,
    /// Language of what the bot posts by itself (status embed, panel, alerts). `None`: the
    /// top-level `locale`. Command replies use each user's Discord language.
    #[serde(default)]
    pub locale: Option<String>,
    /// Channel where one status message is kept and edited in place.
    #[serde(default)]
    pub status_channel: Option<u64>,
    /// Channel where one control panel is kept (`/panel` posts one anywhere).
    #[serde(default)]
    pub panel_channel: Option<u64>,
    /// Alerts channel. Absent: no alerts.
    #[serde(default)]
    pub alerts: Option<DiscordAlertsConfig>,
    /// Channel that mirrors Twitch chat (at most one message every 2 s). Absent: no mirror.
    #[serde(default)]
    pub chat_mirror_channel: Option<u64>,
    /// The audit channel: every command run (who, surface, command, outcome) and every
    /// automatic action (guard switch, raid stop, auto-start, offline stop), one line each,
    /// batched like the mirror. Absent: no audit channel (the log has the same lines).
    #[serde(default)]
    pub audit_channel: Option<u64>,
    /// The community "we're live" post, edited when the stream ends. Absent: none.
    #[serde(default)]
    pub live: Option<DiscordLiveConfig>,
    /// Where answers with private data (logs, addresses, bans, restream endpoints, services)
    /// are posted, with a short ephemeral pointer to them. `None`: those answers are ephemeral.
    #[serde(default)]
    pub private_channel: Option<u64>,
    /// The longest `/logs … follow`.
    #[serde(default = "default_logs_follow", deserialize_with = "duration")]
    pub logs_follow_max: Duration,
    /// Another address for Discord's API: a rate-limiting proxy (twilight-http-proxy). It turns
    /// serenity's own rate limiter off, which only such a proxy can afford.
    #[serde(default)]
    pub api_url: Option<String>,
    /// An HTTP proxy for Discord's API (`http://host:port`): HTTPS to discord.com goes through
    /// it with CONNECT, so TLS and serenity's rate limiter work as without one. `None`: direct
    /// (or `HTTPS_PROXY` from the environment).
    #[serde(default)]
    pub proxy: Option<String>,
    /// The longest any Discord REST call may take (connect, send, answer); a call that takes
    /// longer fails, so one hung call cannot hold up the alerts or answers behind it.
    #[serde(
        default = "default_discord_request_timeout",
        deserialize_with = "duration"
    )]
    pub request_timeout: Duration,
}

pub(super) fn default_discord_request_timeout() -> Duration {
    Duration::from_secs(10)
}

/// Where the "live" post goes and whom it mentions.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordLiveConfig {
    pub channel: u64,
    /// A role id to mention in the post (the only mention it makes).
    #[serde(default)]
    pub mention_role: Option<u64>,
}

/// What the alerts channel receives.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordAlertsConfig {
    pub channel: u64,
    /// The kinds to post (see [`DISCORD_ALERT_KINDS`]); default: all.
    #[serde(default = "default_alert_kinds")]
    pub kinds: Vec<String>,
    /// Kind → role id to mention with that alert.
    #[serde(default)]
    pub mention: BTreeMap<String, String>,
    /// At most this many alert messages per minute; the rest are counted in one summary.
    #[serde(default = "default_alerts_per_minute")]
    pub per_minute: u32,
}

/// Alert kinds of the Discord alerts channel.
pub const DISCORD_ALERT_KINDS: &[&str] = &[
    "low",
    "restored",
    "offline",
    "raid",
    "obs_lost",
    "obs_back",
    "token_failing",
    "restream_failed",
    "auto_start",
    "offline_timeout",
    "task_failed",
    "service",
    "pc",
    "reconnecting",
    "congestion",
    "dropped_frames",
    "disk_low",
    "eventsub",
];

pub(super) fn default_logs_follow() -> Duration {
    Duration::from_secs(600)
}

pub(super) fn default_alert_kinds() -> Vec<String> {
    DISCORD_ALERT_KINDS.iter().map(|k| k.to_string()).collect()
}

pub(super) fn default_alerts_per_minute() -> u32 {
    6
}

pub(super) fn validate_discord(discord: &DiscordConfig, problem: &mut impl FnMut(String, String)) {
    let snowflake = |id: &str| {
        !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()) && id != "0"
    };
    if discord.guild_id == 0 {
        problem(
            "discord.guild_id".into(),
            "the server id (Discord: right-click the server → Copy Server ID)".into(),
        );
    }
    for (key, ids) in [("roles", &discord.roles), ("users", &discord.users)] {
        for id in ids.keys() {
            if !snowflake(id) {
                problem(
                    format!("discord.{key}[{id:?}]"),
                    format!("`{id}` is not a Discord id (digits only)"),
                );
            }
        }
    }
    check_locale("discord.locale", discord.locale.as_ref(), problem);
    for (key, channel) in [
        ("status_channel", discord.status_channel),
        ("panel_channel", discord.panel_channel),
        ("chat_mirror_channel", discord.chat_mirror_channel),
        ("audit_channel", discord.audit_channel),
        ("live.channel", discord.live.as_ref().map(|l| l.channel)),
        ("private_channel", discord.private_channel),
        ("alerts.channel", discord.alerts.as_ref().map(|a| a.channel)),
    ] {
        if channel == Some(0) {
            problem(format!("discord.{key}"), "not a channel id".into());
        }
    }
    if let Some(alerts) = &discord.alerts {
        let known = |kind: &str| DISCORD_ALERT_KINDS.contains(&kind);
        for (i, kind) in alerts.kinds.iter().enumerate() {
            if !known(kind) {
                problem(
                    format!("discord.alerts.kinds[{i}]"),
                    format!(
                        "unknown alert kind `{kind}`; available: {}",
                        DISCORD_ALERT_KINDS.join(", ")
                    ),
                );
            }
        }
        for (kind, role) in &alerts.mention {
            let path = format!("discord.alerts.mention[{kind:?}]");
            if !known(kind) {
                problem(
                    path,
                    format!(
                        "unknown alert kind `{kind}`; available: {}",
                        DISCORD_ALERT_KINDS.join(", ")
                    ),
                );
            } else if !snowflake(role) {
                problem(path, format!("`{role}` is not a role id (digits only)"));
            }
        }
        if alerts.per_minute == 0 {
            problem(
                "discord.alerts.per_minute".into(),
                "must be at least 1".into(),
            );
        }
    }
    positive("discord.logs_follow_max", discord.logs_follow_max, problem);
    positive("discord.request_timeout", discord.request_timeout, problem);
    for (key, url) in [
        ("discord.api_url", &discord.api_url),
        ("discord.proxy", &discord.proxy),
    ] {
        if let Some(url) = url
            && (!(url.starts_with("http://") || url.starts_with("https://"))
                || url::Url::parse(url).is_err())
        {
            problem(
                key.into(),
                format!("`{url}` must be an http:// or https:// address"),
            );
        }
    }
}
