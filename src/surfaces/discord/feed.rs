//! The alerts channel and the Twitch chat mirror.
//!
//! - Alerts: guard transitions, raids, OBS lost and back, a failing Twitch token, a failed
//!   restream apply, the upload alerts (`obs.upload`), EventSub down and back, …; each kind
//!   optional, with an optional role mention. Flood control: at most
//!   `per_minute` messages in any minute; the rest are counted and reported in one line when
//!   there is room again.
//! - Mirror: Twitch chat lines are batched, at most one Discord message every
//!   [`MIRROR_INTERVAL`], secrets redacted, markdown escaped, no mentions.

use super::{MESSAGE_LIMIT, escape_markdown, split_lines};
use crate::config::DiscordAlertsConfig;
use crate::context::Context;
use crate::reply::{Reply, keys};
use crate::status::{Event, GuardTransition, RaidOutcome, SwitchedBy};
use poise::serenity_prelude as serenity;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The mirror posts at most once per this.
pub const MIRROR_INTERVAL: Duration = Duration::from_secs(2);
/// Mirror lines kept while Discord is slow; older ones are dropped (and counted).
const MIRROR_BACKLOG: usize = 200;

/// An alert for the channel: its kind and text.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub kind: &'static str,
    pub reply: Reply,
    /// What state this alert reports (`ingest`, `obs`, `service:<key>`, …): over the flood
    /// limit, the latest alert of each state is kept and posted when there is room, never
    /// dropped. `None`: a one-off (a raid, a task failure), counted when held back.
    pub state: Option<String>,
}

fn transition(key: crate::reply::Key, t: &GuardTransition) -> Reply {
    Reply::new(key)
        .arg("from", t.from)
        .arg("to", t.to)
        .arg("cause", t.cause)
        .number("bitrate", t.bitrate_kbps.map_or(-1.0, f64::from))
        .number("rtt", t.rtt_ms.map_or(-1.0, f64::from))
        .arg("server", t.server.clone().unwrap_or_default())
        .arg("dryrun", if t.dry_run { "yes" } else { "no" })
}

/// The upload alerts' messages in the alerts channel.
const UPLOAD_KEYS: crate::surfaces::UploadKeys = [
    (
        keys::DISCORD_ALERT_RECONNECTING,
        keys::DISCORD_ALERT_RECONNECTED,
    ),
    (
        keys::DISCORD_ALERT_CONGESTION,
        keys::DISCORD_ALERT_CONGESTION_CLEARED,
    ),
    (
        keys::DISCORD_ALERT_DROPPED_FRAMES,
        keys::DISCORD_ALERT_DROPPED_FRAMES_CLEARED,
    ),
    (
        keys::DISCORD_ALERT_DISK_LOW,
        keys::DISCORD_ALERT_DISK_CLEARED,
    ),
];

/// Which alert an event is, if any. `obs_lost` remembers whether OBS was lost, so "back" is
/// only said after a loss.
pub fn alert_of(event: &Event, obs_lost: &mut bool) -> Option<Alert> {
    let (kind, reply) = match event {
        Event::BitrateLow(t) => ("low", transition(keys::DISCORD_ALERT_LOW, t)),
        Event::BitrateRestored(t) => ("restored", transition(keys::DISCORD_ALERT_RESTORED, t)),
        Event::IngestOffline(t) => ("offline", transition(keys::DISCORD_ALERT_OFFLINE, t)),
        Event::RaidHandled {
            channel, outcome, ..
        } => {
            let outcome = match outcome {
                RaidOutcome::Stopped => "stopped",
                RaidOutcome::Disabled => "disabled",
                RaidOutcome::Duplicate => return None,
                RaidOutcome::NotStreaming => "not_streaming",
                RaidOutcome::TooShort => "too_short",
                RaidOutcome::Failed(_) => "failed",
            };
            (
                "raid",
                Reply::new(keys::DISCORD_ALERT_RAID)
                    .arg("channel", channel.clone())
                    .arg("outcome", outcome),
            )
        }
        Event::ObsLost { reason } => {
            if std::mem::replace(obs_lost, true) {
                return None;
            }
            (
                "obs_lost",
                Reply::new(keys::DISCORD_ALERT_OBS_LOST).arg("reason", reason.clone()),
            )
        }
        Event::ObsConnected { version } => {
            if !std::mem::replace(obs_lost, false) {
                return None;
            }
            (
                "obs_back",
                Reply::new(keys::DISCORD_ALERT_OBS_BACK).arg("version", version.clone()),
            )
        }
        Event::RestreamApplyFailed { error } => (
            "restream_failed",
            Reply::new(keys::DISCORD_ALERT_RESTREAM_FAILED).arg("error", error.clone()),
        ),
        Event::AutoStart { server, error } => (
            "auto_start",
            match error {
                None => Reply::new(keys::DISCORD_ALERT_AUTO_START).arg("server", server.clone()),
                Some(error) => Reply::new(keys::DISCORD_ALERT_AUTO_START_FAILED)
                    .arg("server", server.clone())
                    .arg("error", error.clone()),
            },
        ),
        Event::TwitchTokenFailing { reason } => (
            "token_failing",
            Reply::new(keys::DISCORD_ALERT_TOKEN_FAILING).arg("reason", reason.clone()),
        ),
        Event::OfflineTimeout { stopped } => (
            "offline_timeout",
            Reply::new(if *stopped {
                keys::DISCORD_ALERT_OFFLINE_TIMEOUT
            } else {
                keys::DISCORD_ALERT_OFFLINE_TIMEOUT_DRY_RUN
            }),
        ),
        Event::TaskFailed { task, error } => (
            "task_failed",
            Reply::new(keys::DISCORD_ALERT_TASK_FAILED)
                .arg("task", task.clone())
                .arg("error", error.clone()),
        ),
        Event::ServiceStateChanged {
            key,
            unit,
            from,
            to,
        } => (
            "service",
            Reply::new(keys::DISCORD_ALERT_SERVICE)
                .arg("key", key.clone())
                .arg("unit", unit.clone())
                .arg("from", from.clone())
                .arg("to", to.clone()),
        ),
        Event::PowerStateChanged { reachable } => (
            "pc",
            Reply::new(if *reachable {
                keys::DISCORD_ALERT_PC_UP
            } else {
                keys::DISCORD_ALERT_PC_DOWN
            }),
        ),
        // Over because the stream, the recording or OBS went away: said so, not "fixed".
        Event::ObsUpload {
            problem,
            gone: true,
            ..
        } => (
            problem.as_str(),
            Reply::new(keys::DISCORD_ALERT_UPLOAD_GONE).arg("problem", problem.as_str()),
        ),
        Event::ObsUpload {
            problem,
            active,
            value,
            ..
        } => (
            problem.as_str(),
            crate::surfaces::upload_reply(&UPLOAD_KEYS, *problem, *active, *value),
        ),
        Event::EventSubDown { reason } => (
            "eventsub",
            Reply::new(keys::DISCORD_ALERT_EVENTSUB_DOWN).arg("reason", reason.clone()),
        ),
        Event::EventSubBack => ("eventsub", Reply::new(keys::DISCORD_ALERT_EVENTSUB_BACK)),
        _ => return None,
    };
    let state = match event {
        Event::BitrateLow(_) | Event::BitrateRestored(_) | Event::IngestOffline(_) => {
            Some("ingest".to_string())
        }
        Event::ObsLost { .. } | Event::ObsConnected { .. } => Some("obs".into()),
        Event::ServiceStateChanged { key, .. } => Some(format!("service:{key}")),
        Event::PowerStateChanged { .. } => Some("pc".into()),
        Event::OfflineTimeout { .. } => Some("offline_timeout".into()),
        Event::AutoStart { .. } => Some("auto_start".into()),
        Event::ObsUpload { problem, .. } => Some(format!("upload:{}", problem.as_str())),
        Event::EventSubDown { .. } | Event::EventSubBack => Some("eventsub".into()),
        _ => None,
    };
    Some(Alert { kind, reply, state })
}

/// The flood gate with coalescing: what may go out now, and what waits for room.
#[derive(Debug)]
pub struct Coalescer {
    gate: FloodGate,
    /// The latest held alert of each state, in the order they came.
    held: Vec<Alert>,
    /// One-offs held back since the last post.
    suppressed: u32,
}

impl Coalescer {
    pub fn new(per_minute: u32) -> Coalescer {
        Coalescer {
            gate: FloodGate::new(per_minute),
            held: Vec::new(),
            suppressed: 0,
        }
    }

    /// An alert: `Some` (with the number of one-offs held back since the last post) when it
    /// may go out now; otherwise it is held (a state: only its latest) or counted (a one-off).
    pub fn offer(&mut self, alert: Alert, now: Instant) -> Option<(Vec<Alert>, u32)> {
        if self.held.is_empty() && self.gate.take(now) {
            return Some((vec![alert], std::mem::take(&mut self.suppressed)));
        }
        match &alert.state {
            Some(state) => {
                self.held.retain(|h| h.state.as_ref() != Some(state));
                self.held.push(alert);
            }
            None => self.suppressed += 1,
        }
        None
    }

    /// When there is room again: the held states (latest of each) and the count of one-offs
    /// held back, as one post.
    pub fn due(&mut self, now: Instant) -> Option<(Vec<Alert>, u32)> {
        if (self.held.is_empty() && self.suppressed == 0) || !self.gate.take(now) {
            return None;
        }
        Some((
            std::mem::take(&mut self.held),
            std::mem::take(&mut self.suppressed),
        ))
    }
}

/// At most `per_minute` posts in any 60 s.
#[derive(Debug)]
pub struct FloodGate {
    per_minute: usize,
    sent: VecDeque<Instant>,
}

impl FloodGate {
    pub fn new(per_minute: u32) -> FloodGate {
        FloodGate {
            per_minute: per_minute.max(1) as usize,
            sent: VecDeque::new(),
        }
    }

    /// Whether a post may go out now; if so it is recorded.
    pub fn take(&mut self, now: Instant) -> bool {
        while self
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            self.sent.pop_front();
        }
        let room = self.sent.len() < self.per_minute;
        if room {
            self.sent.push_back(now);
        }
        room
    }
}

/// The alerts and mirror task: two loops, so a slow mirror post never delays an alert, and
/// neither lane of the event bus can push an alert out (see [`crate::status::EventBus`]).
pub async fn run(ctx: Arc<Context>, cancel: CancellationToken) -> anyhow::Result<()> {
    let http = super::http(&ctx)?;
    let config = super::discord_config(&ctx)?.clone();
    let locale = super::post_locale(&ctx);
    let alerts = async {
        if let Some(alerts) = &config.alerts {
            post_alerts(&ctx, &http, alerts, &locale, &cancel).await;
        }
    };
    let mirror = async {
        if let Some(channel) = config.chat_mirror_channel {
            mirror_chat(&ctx, &http, channel, &locale, &cancel).await;
        }
    };
    let audit = async {
        if let Some(channel) = config.audit_channel {
            audit(&ctx, &http, channel, &locale, &cancel).await;
        }
    };
    let live = async {
        if let Some(live) = &config.live {
            live_posts(&ctx, &http, live, &locale, &cancel).await;
        }
    };
    tokio::join!(alerts, mirror, audit, live);
    Ok(())
}

/// A tick every [`MIRROR_INTERVAL`], late ticks delayed (not bunched).
fn ticker() -> tokio::time::Interval {
    let mut tick = tokio::time::interval(MIRROR_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick
}

/// Post alerts as they happen, within the flood gate; say how many were held back when there
/// is room again.
async fn post_alerts(
    ctx: &Context,
    http: &serenity::Http,
    alerts: &DiscordAlertsConfig,
    locale: &str,
    cancel: &CancellationToken,
) {
    let mut events = ctx.events.subscribe_notable();
    let mut gate = Coalescer::new(alerts.per_minute);
    let mut obs_lost = false;
    let mut tick = ticker();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            event = events.recv() => match event {
                Ok(event) => {
                    let Some(alert) = alert_of(&event, &mut obs_lost) else { continue };
                    if !alerts.kinds.iter().any(|k| k == alert.kind) {
                        continue;
                    }
                    if let Some((now, suppressed)) = gate.offer(alert, Instant::now()) {
                        post_alerts_now(ctx, http, alerts, locale, &now, suppressed).await;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "Discord alerts fell behind the event bus");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = tick.tick() => {
                if let Some((held, suppressed)) = gate.due(Instant::now()) {
                    post_alerts_now(ctx, http, alerts, locale, &held, suppressed).await;
                }
            }
        }
    }
}

/// Mirror Twitch chat into `channel`, batched: one message per [`MIRROR_INTERVAL`] at most.
/// Lines Discord cannot take in time (or the bus skipped) are counted and said.
async fn mirror_chat(
    ctx: &Context,
    http: &serenity::Http,
    channel: u64,
    locale: &str,
    cancel: &CancellationToken,
) {
    batched(ctx, http, channel, locale, cancel, |ctx, _, event| {
        // With Kick configured too, each line says which chat it came from.
        let (chat, display_name, text) = match event {
            Event::TwitchChatMessage {
                display_name, text, ..
            } => ("Twitch", display_name, text),
            Event::KickChatMessage {
                display_name, text, ..
            } => ("Kick", display_name, text),
            _ => return None,
        };
        let tag = if ctx.kick.is_some() {
            format!("[{chat}] ")
        } else {
            String::new()
        };
        // Redacted before escaping: a secret typed into chat (a stream key) is masked whole,
        // not split by escapes (the redactor sees through them too).
        Some(format!(
            "{tag}**{}**: {}",
            escape_markdown(&ctx.redactor.redact(display_name)),
            escape_markdown(&ctx.redactor.redact(&text.replace('\n', " ")))
        ))
    })
    .await;
}

/// The kept "live" post (`state_dir/discord-live.json`), so a restart mid-stream still edits it.
const LIVE_FILE: &str = "discord-live.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct LivePost {
    channel: u64,
    message: u64,
    since_unix: u64,
}

/// What the live post says: who, the title and category as Status has them (markdown escaped).
fn live_fields(ctx: &Context) -> (String, String, String) {
    let status = ctx.status.borrow();
    let twitch = status.twitch.as_ref();
    let field =
        |value: Option<&String>| value.map_or_else(|| "–".to_string(), |v| escape_markdown(v));
    (
        field(twitch.and_then(|t| t.login.as_ref())),
        field(twitch.and_then(|t| t.title.as_ref())),
        field(twitch.and_then(|t| t.category.as_ref())),
    )
}

/// `stream.online` → a post (the configured role mentioned); `stream.offline` → the same post
/// edited to say how long the stream was live. One post per stream: a repeated online is
/// ignored while one is kept.
async fn live_posts(
    ctx: &Context,
    http: &serenity::Http,
    live: &crate::config::DiscordLiveConfig,
    locale: &str,
    cancel: &CancellationToken,
) {
    let state = crate::state_store::StateDir::new(&ctx.config.state_dir);
    let mut kept: Option<LivePost> = state.read_json(LIVE_FILE).ok().flatten();
    let mut events = ctx.events.subscribe_notable();
    loop {
        let event = tokio::select! {
            _ = cancel.cancelled() => return,
            event = events.recv() => event,
        };
        match event {
            Ok(Event::TwitchLive { live: true }) if kept.is_none() => {
                let (login, title, category) = live_fields(ctx);
                let reply = Reply::new(keys::DISCORD_LIVE_POST)
                    .arg("login", login)
                    .arg("title", title)
                    .arg("category", category);
                let mut text = String::new();
                let mut mentions = serenity::CreateAllowedMentions::new();
                if let Some(role) = live.mention_role {
                    text.push_str(&format!("<@&{role}> "));
                    mentions = mentions.roles(vec![serenity::RoleId::new(role)]);
                }
                text.push_str(&ctx.render(locale, &reply));
                let message = serenity::CreateMessage::new()
                    .content(crate::reply::clip(&text, MESSAGE_LIMIT))
                    .allowed_mentions(mentions);
                match serenity::ChannelId::new(live.channel)
                    .send_message(http, message)
                    .await
                {
                    Ok(message) => {
                        let post = LivePost {
                            channel: live.channel,
                            message: message.id.get(),
                            since_unix: crate::status::now_unix(),
                        };
                        if let Err(error) = state.write_json(
                            LIVE_FILE,
                            &post,
                            crate::state_store::Sensitivity::Public,
                        ) {
                            tracing::warn!(%error, "cannot keep the live post's id");
                        }
                        kept = Some(post);
                    }
                    Err(error) => tracing::warn!(%error, "posting the live message failed"),
                }
            }
            Ok(Event::TwitchLive { live: false }) => {
                let Some(post) = kept.take() else { continue };
                let _ = std::fs::remove_file(state.path(LIVE_FILE));
                let (login, title, _) = live_fields(ctx);
                let lasted = crate::status::now_unix().saturating_sub(post.since_unix);
                let reply = Reply::new(keys::DISCORD_LIVE_ENDED)
                    .arg("login", login)
                    .arg("title", title)
                    .arg("duration", crate::reply::format_uptime(lasted));
                let edit = serenity::EditMessage::new()
                    .content(crate::reply::clip(
                        &ctx.render(locale, &reply),
                        MESSAGE_LIMIT,
                    ))
                    .allowed_mentions(serenity::CreateAllowedMentions::new());
                if let Err(error) = serenity::ChannelId::new(post.channel)
                    .edit_message(http, serenity::MessageId::new(post.message), edit)
                    .await
                {
                    tracing::warn!(%error, "editing the live post failed");
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
            _ => {}
        }
    }
}

/// The audit channel: a line per command run and per automatic action.
async fn audit(
    ctx: &Context,
    http: &serenity::Http,
    channel: u64,
    locale: &str,
    cancel: &CancellationToken,
) {
    batched(ctx, http, channel, locale, cancel, |ctx, locale, event| {
        audit_line(event).map(|reply| escape_markdown(&ctx.render(locale, &reply)))
    })
    .await;
}

/// The audit line of an event, if it is a command run or an automatic action.
pub fn audit_line(event: &Event) -> Option<Reply> {
    Some(match event {
        Event::CommandHandled {
            surface,
            user_id,
            command,
            outcome,
        } => Reply::new(keys::DISCORD_AUDIT_COMMAND)
            .arg("who", format!("{surface}:{user_id}"))
            .arg("command", *command)
            .arg("outcome", outcome.as_str()),
        Event::SceneSwitched {
            by: by @ (SwitchedBy::Guard | SwitchedBy::Raid | SwitchedBy::AdBreak),
            from,
            to,
        } => Reply::new(keys::DISCORD_AUDIT_SWITCH)
            .arg("by", by.as_str())
            .arg("from", from.clone().unwrap_or_else(|| "–".into()))
            .arg("to", to.clone()),
        Event::RaidHandled {
            channel,
            outcome: RaidOutcome::Stopped,
            ..
        } => Reply::new(keys::DISCORD_AUDIT_RAID_STOP).arg("channel", channel.clone()),
        Event::AutoStart { server, error } => Reply::new(keys::DISCORD_AUDIT_AUTO_START)
            .arg("server", server.clone())
            .arg(
                "outcome",
                if error.is_none() { "started" } else { "failed" },
            ),
        Event::OfflineTimeout { stopped: true } => Reply::new(keys::DISCORD_AUDIT_OFFLINE_STOP),
        _ => return None,
    })
}

/// Lines from events, posted batched to `channel`: one message per [`MIRROR_INTERVAL`] at
/// most, each under Discord's limit, never mentioning anyone; lines Discord cannot take in time
/// (or the bus skipped) are counted and said.
async fn batched(
    ctx: &Context,
    http: &serenity::Http,
    channel: u64,
    locale: &str,
    cancel: &CancellationToken,
    line_of: impl Fn(&Context, &str, &Event) -> Option<String>,
) {
    let mut events = ctx.events.subscribe();
    let mut lines: VecDeque<String> = VecDeque::new();
    let mut dropped = 0u32;
    let mut tick = ticker();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            event = events.recv() => match event {
                Ok(event) => {
                    if let Some(line) = line_of(ctx, locale, &event) {
                        lines.push_back(line);
                    }
                    while lines.len() > MIRROR_BACKLOG {
                        lines.pop_front();
                        dropped += 1;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    // Skipped chatter: chat lines for the most part (also journal lines and
                    // handled commands, which the count cannot tell apart).
                    dropped = dropped.saturating_add(u32::try_from(missed).unwrap_or(u32::MAX));
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = tick.tick() => {
                if lines.is_empty() && dropped == 0 {
                    continue;
                }
                let mut text = String::new();
                if dropped > 0 {
                    let note = Reply::new(keys::DISCORD_MIRROR_DROPPED).number("count", dropped);
                    text.push_str(&ctx.render(locale, &note));
                    text.push('\n');
                    dropped = 0;
                }
                while let Some(line) = lines.front() {
                    if text.chars().count() + line.chars().count() + 1 > MESSAGE_LIMIT
                        && !text.is_empty()
                    {
                        break;
                    }
                    let line = lines.pop_front().unwrap_or_default();
                    text.push_str(&line);
                    text.push('\n');
                }
                for part in split_lines(&text, MESSAGE_LIMIT) {
                    send(http, channel, &part, serenity::CreateAllowedMentions::new()).await;
                }
            }
        }
    }
}

/// One post: the alerts (one line each, their mentions first) and the count held back.
async fn post_alerts_now(
    ctx: &Context,
    http: &serenity::Http,
    alerts: &DiscordAlertsConfig,
    locale: &str,
    list: &[Alert],
    suppressed: u32,
) {
    let mut text = String::new();
    let mut roles = Vec::new();
    for alert in list {
        if let Some(role) = alerts.mention.get(alert.kind)
            && let Ok(id) = role.parse::<u64>()
            && !roles.contains(&serenity::RoleId::new(id))
        {
            text.push_str(&format!("<@&{id}> "));
            roles.push(serenity::RoleId::new(id));
        }
    }
    let lines: Vec<String> = list.iter().map(|a| ctx.render(locale, &a.reply)).collect();
    text.push_str(&lines.join("\n"));
    let mentions = serenity::CreateAllowedMentions::new().roles(roles);
    if suppressed > 0 {
        let note = Reply::new(keys::DISCORD_ALERTS_SUPPRESSED).number("count", suppressed);
        if !lines.is_empty() {
            text.push('\n');
        }
        text.push_str(&ctx.render(locale, &note));
    }
    // Discord's message limit.
    let text = crate::reply::clip(&text, 2000);
    send(http, alerts.channel, &text, mentions).await;
}

async fn send(
    http: &serenity::Http,
    channel: u64,
    text: &str,
    mentions: serenity::CreateAllowedMentions,
) {
    let message = serenity::CreateMessage::new()
        .content(text)
        .allowed_mentions(mentions);
    if let Err(error) = serenity::ChannelId::new(channel)
        .send_message(http, message)
        .await
    {
        tracing::warn!(%error, channel, "posting to Discord failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flood_gate_takes_per_minute_posts_in_any_60_s() {
        let start = Instant::now();
        let mut gate = FloodGate::new(3);
        let admitted = (0..10).filter(|_| gate.take(start)).count();
        assert_eq!(admitted, 3);
        assert!(!gate.take(start + Duration::from_secs(59)));
        assert!(gate.take(start + Duration::from_secs(60)));
    }

    #[test]
    fn obs_back_only_after_lost() {
        let mut lost = false;
        let back = Event::ObsConnected {
            version: "31.0".into(),
        };
        assert_eq!(alert_of(&back, &mut lost), None);
        let lost_event = Event::ObsLost {
            reason: "refused".into(),
        };
        assert_eq!(alert_of(&lost_event, &mut lost).unwrap().kind, "obs_lost");
        assert_eq!(alert_of(&lost_event, &mut lost), None, "said once");
        assert_eq!(alert_of(&back, &mut lost).unwrap().kind, "obs_back");
    }

    fn alert(event: Event) -> Alert {
        alert_of(&event, &mut true).expect("an alert")
    }

    fn transition(to: &'static str) -> GuardTransition {
        GuardTransition {
            from: "live",
            to,
            cause: "bitrate",
            error: None,
            bitrate_kbps: Some(300),
            rtt_ms: None,
            server: None,
            dry_run: false,
        }
    }

    #[test]
    fn over_the_limit_the_latest_state_waits_and_one_offs_are_counted() {
        let start = Instant::now();
        let mut gate = Coalescer::new(2);
        let low = || alert(Event::BitrateLow(transition("low")));
        assert!(gate.offer(low(), start).is_some());
        assert!(gate.offer(low(), start).is_some());
        // Full: a raid is counted, the ingest and a service are held (latest only).
        let raid = alert(Event::RaidHandled {
            channel: "x".into(),
            outcome: RaidOutcome::Stopped,
            message: None,
        });
        assert_eq!(raid.state, None);
        assert!(gate.offer(raid, start).is_none());
        assert!(
            gate.offer(alert(Event::IngestOffline(transition("offline"))), start)
                .is_none()
        );
        let service = |to: &str| {
            alert(Event::ServiceStateChanged {
                key: "nginx".into(),
                unit: "nginx.service".into(),
                from: "active".into(),
                to: to.into(),
            })
        };
        assert!(gate.offer(service("failed"), start).is_none());
        assert!(
            gate.offer(alert(Event::BitrateRestored(transition("live"))), start)
                .is_none()
        );
        assert!(gate.offer(service("active"), start).is_none());
        assert!(
            gate.due(start + Duration::from_secs(30)).is_none(),
            "no room yet"
        );
        let (held, counted) = gate.due(start + Duration::from_secs(60)).expect("room");
        let kinds: Vec<&str> = held.iter().map(|a| a.kind).collect();
        assert_eq!(
            kinds,
            ["restored", "service"],
            "the latest of each state, in time order"
        );
        assert_eq!(counted, 1);
        assert!(
            gate.due(start + Duration::from_secs(61)).is_none(),
            "all out"
        );
    }

    #[test]
    fn upload_and_eventsub_alerts_over_the_limit_keep_their_latest_state() {
        let start = Instant::now();
        let mut gate = Coalescer::new(1);
        let upload = |problem, active| {
            alert(Event::ObsUpload {
                problem,
                active,
                value: None,
                gone: false,
            })
        };
        use crate::status::UploadProblem::{Congestion, DiskLow};
        assert!(gate.offer(upload(Congestion, true), start).is_some());
        for held in [
            upload(DiskLow, true),
            alert(Event::EventSubDown { reason: "x".into() }),
            upload(Congestion, false),
            alert(Event::EventSubBack),
        ] {
            assert!(held.state.is_some(), "{held:?}");
            assert!(gate.offer(held, start).is_none());
        }
        let (held, counted) = gate.due(start + Duration::from_secs(60)).expect("room");
        let said: Vec<(&str, crate::reply::Key)> =
            held.iter().map(|a| (a.kind, a.reply.key)).collect();
        assert_eq!(
            said,
            [
                ("disk_low", keys::DISCORD_ALERT_DISK_LOW),
                ("congestion", keys::DISCORD_ALERT_CONGESTION_CLEARED),
                ("eventsub", keys::DISCORD_ALERT_EVENTSUB_BACK),
            ],
            "the latest of each, none dropped"
        );
        assert_eq!(counted, 0);
    }

    #[test]
    fn the_new_kinds_say_what_happened() {
        assert_eq!(
            alert(Event::OfflineTimeout { stopped: true }).kind,
            "offline_timeout"
        );
        assert_eq!(
            alert(Event::TaskFailed {
                task: "guard".into(),
                error: "x".into()
            })
            .kind,
            "task_failed"
        );
        assert_eq!(
            alert(Event::PowerStateChanged { reachable: false })
                .state
                .as_deref(),
            Some("pc")
        );
        for kind in crate::config::DISCORD_ALERT_KINDS {
            assert!(!kind.is_empty());
        }
    }

    #[test]
    fn audit_lines_for_commands_and_automatic_actions_only() {
        let command = Event::CommandHandled {
            surface: crate::dispatch::Surface::Twitch,
            user_id: "42".into(),
            command: "brb",
            outcome: crate::reply::Outcome::Done,
        };
        let line = audit_line(&command).expect("a command line");
        assert_eq!(line.key, keys::DISCORD_AUDIT_COMMAND);
        let by_hand = Event::SceneSwitched {
            by: SwitchedBy::Command,
            from: None,
            to: "BRB".into(),
        };
        assert!(
            audit_line(&by_hand).is_none(),
            "the command itself is the line"
        );
        let by_guard = Event::SceneSwitched {
            by: SwitchedBy::Guard,
            from: Some("LIVE".into()),
            to: "LOW".into(),
        };
        assert_eq!(
            audit_line(&by_guard).unwrap().key,
            keys::DISCORD_AUDIT_SWITCH
        );
        assert!(audit_line(&Event::OfflineTimeout { stopped: false }).is_none());
    }
}
