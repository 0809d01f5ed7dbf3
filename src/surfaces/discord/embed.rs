//! The status message and the kept control panel: one message each, in their configured
//! channels, edited in place when `Status` changes. Both are rendered at most once per
//! [`MIN_EDIT_INTERVAL`] (Status changes several times a second while the guard polls), and an
//! edit is skipped when the rendered message did not change. A status message whose only change
//! is a moving number (bitrate, RTT, uptime, viewers) waits until [`NUMBERS_INTERVAL`] after its
//! last edit, so a steady stream costs one edit per 10 s, not one per 2 s. The chart image is
//! redrawn at most once per [`CHART_INTERVAL`]. Message ids are kept in the state directory, so
//! a restart edits the same messages; a deleted message is posted again.

use super::chart;
use crate::context::Context;
use crate::reply::{Reply, format_uptime, keys};
use crate::state_store::{Sensitivity, StateDir};
use crate::status::{Level, ObsConnection, Status, TokenState};
use poise::serenity_prelude as serenity;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Edits of the same message are at least this far apart.
pub const MIN_EDIT_INTERVAL: Duration = Duration::from_secs(2);
/// A change of numbers only (see [`without_moving_numbers`]) is shown at most this often.
pub const NUMBERS_INTERVAL: Duration = Duration::from_secs(10);
/// After Discord refused an edit or a post, the next try waits this long.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);
/// The chart is redrawn at most this often.
pub const CHART_INTERVAL: Duration = Duration::from_secs(60);
/// The chart's time span.
pub const CHART_WINDOW: Duration = Duration::from_secs(30 * 60);
/// The state file with the kept messages' ids.
pub const STATE_FILE: &str = "discord-messages.json";
const CHART_FILE: &str = "bitrate.png";

/// A kept message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    pub channel: u64,
    pub message: u64,
}

/// The ids in [`STATE_FILE`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptMessages {
    pub status: Option<Kept>,
    pub panel: Option<Kept>,
}

/// The embed's colour for the overall health ([`Status::health`]).
pub fn colour(level: Level) -> u32 {
    match level {
        Level::Off | Level::Idle | Level::Ok => 0x57f287,
        Level::Warn => 0xfee75c,
        Level::Bad => 0xed4245,
    }
}

/// The status message's embed in `locale` (without the chart image).
pub fn status_embed(ctx: &Context, status: &Status, locale: &str) -> serenity::CreateEmbed {
    let text = |reply: Reply| ctx.render(locale, &reply);
    let none = || text(Reply::new(keys::DISCORD_EMBED_NONE));
    let mut embed = serenity::CreateEmbed::new()
        .title(text(Reply::new(keys::DISCORD_EMBED_TITLE)))
        .colour(colour(status.health().overall));
    if let Some(obs) = &status.obs {
        let body = match &obs.connection {
            ObsConnection::Connected => {
                let mut body = text(
                    Reply::new(keys::DISCORD_EMBED_OBS)
                        .arg("scene", obs.scene.clone().unwrap_or_else(none))
                        .arg("streaming", if obs.streaming { "yes" } else { "no" })
                        .arg(
                            "uptime",
                            obs.stream_uptime_secs.map_or_else(none, format_uptime),
                        ),
                );
                // The upload alerts in force, one line each.
                for problem in &obs.upload_problems {
                    body.push('\n');
                    body.push_str(&text(
                        Reply::new(keys::DISCORD_EMBED_UPLOAD).arg("problem", problem.as_str()),
                    ));
                }
                body
            }
            other => text(
                Reply::new(keys::DISCORD_EMBED_OBS_DOWN)
                    .message("reason", connection_reason(other)),
            ),
        };
        embed = embed.field("OBS", body, false);
    }
    if let Some(guard) = &status.guard {
        let active = guard
            .active_server
            .as_ref()
            .and_then(|name| guard.servers.iter().find(|s| &s.name == name));
        let body = match active {
            Some(server) => text(
                Reply::new(keys::DISCORD_EMBED_INGEST)
                    .arg(
                        "bitrate",
                        server.bitrate_kbps.map_or_else(none, |b| b.to_string()),
                    )
                    .arg("rtt", server.rtt_ms.map_or_else(none, |r| r.to_string()))
                    .arg("server", server.name.clone())
                    .arg("level", guard.level.unwrap_or("-")),
            ),
            None => {
                let reason = guard
                    .servers
                    .iter()
                    .map(|s| format!("{}: {}", s.name, s.error.clone().unwrap_or(s.state.into())))
                    .collect::<Vec<_>>()
                    .join("\n");
                text(Reply::new(keys::DISCORD_EMBED_INGEST_NONE).arg("reason", reason))
            }
        };
        embed = embed.field(
            text(Reply::new(keys::DISCORD_EMBED_INGEST_NAME)),
            body,
            false,
        );
    }
    if let Some(twitch) = &status.twitch {
        let token = match twitch.token {
            TokenState::Valid => twitch
                .token_expires_in_secs
                .map_or_else(none, format_uptime),
            TokenState::Checking => none(),
            TokenState::Missing => text(Reply::new(keys::DISCORD_EMBED_TOKEN_MISSING)),
            TokenState::Failing if twitch.login_required => {
                text(Reply::new(keys::DISCORD_EMBED_TOKEN_LOGIN))
            }
            TokenState::Failing => text(Reply::new(keys::DISCORD_EMBED_TOKEN_FAILING)),
        };
        let body = text(
            Reply::new(keys::DISCORD_EMBED_TWITCH)
                .arg(
                    "live",
                    match twitch.live {
                        Some(true) => "yes",
                        Some(false) => "no",
                        None => "unknown",
                    },
                )
                .number("viewers", twitch.viewers.map_or(0.0, |v| v as f64))
                .arg(
                    "title",
                    twitch
                        .title
                        .as_deref()
                        .map_or_else(none, super::escape_markdown),
                )
                .arg(
                    "category",
                    twitch
                        .category
                        .as_deref()
                        .map_or_else(none, super::escape_markdown),
                )
                .arg("token", token)
                .arg("eventsub", twitch.eventsub.state),
        );
        embed = embed.field("Twitch", body, false);
    }
    if let Some(kick) = &status.kick {
        let mut body = text(
            Reply::new(keys::DISCORD_EMBED_KICK)
                .arg("chat", kick.chat)
                .arg("reader", kick.reader),
        );
        // Kick's (or the socket's) own words: not ours to trust with markdown.
        if let Some(error) = &kick.chat_error {
            body.push('\n');
            body.push_str(&super::escape_markdown(error));
        }
        embed = embed.field("Kick", body, false);
    }
    for (name, value) in super::panel::feature_fields(ctx, status, locale) {
        embed = embed.field(name, value, false);
    }
    embed
}

/// Why OBS is not connected, in words (an unreachable OBS's reason is the system's own text).
fn connection_reason(connection: &ObsConnection) -> Reply {
    match connection {
        ObsConnection::Connecting | ObsConnection::Connected => {
            Reply::new(keys::DISCORD_OBS_CONNECTING)
        }
        ObsConnection::Offline(reason) => {
            Reply::new(keys::DISCORD_OBS_OFFLINE).arg("reason", reason.clone())
        }
        ObsConnection::AuthenticationFailed => Reply::new(keys::DISCORD_OBS_WRONG_PASSWORD),
        ObsConnection::TooOld(version) => {
            Reply::new(keys::DISCORD_OBS_TOO_OLD).arg("version", version.clone())
        }
    }
}

/// `status` without the numbers that move all the time: what the status message says at a
/// glance (levels, scenes, states, colours) is what is left.
fn without_moving_numbers(status: &Status) -> Status {
    let mut still = status.clone();
    if let Some(guard) = &mut still.guard {
        for server in &mut guard.servers {
            server.bitrate_kbps = None;
            server.rtt_ms = None;
        }
    }
    if let Some(obs) = &mut still.obs {
        obs.stream_uptime_secs = None;
        obs.outgoing_kbps = None;
        obs.skipped_frames = None;
        obs.total_frames = None;
        obs.congestion = None;
        obs.fps = None;
        obs.cpu_percent = None;
        obs.disk_space_mb = None;
    }
    if let Some(twitch) = &mut still.twitch {
        twitch.viewers = None;
        twitch.token_expires_in_secs = None;
        twitch.eventsub.last_message_unix = None;
    }
    if let Some(kick) = &mut still.kick {
        kick.deliveries = None;
        kick.refused = None;
    }
    still
}

/// What the status message shows now, as far as the keeper knows.
#[derive(Debug, Default)]
struct Shown {
    /// The embed as last sent.
    rendered: Option<serde_json::Value>,
    /// The same without the moving numbers.
    glance: Option<serde_json::Value>,
    /// When it was last sent.
    at: Option<Instant>,
}

/// Whether a new rendering of the status message goes out.
#[derive(Debug, PartialEq, Eq)]
enum Due {
    /// It says what is shown already.
    Unchanged,
    /// Now: something other than the moving numbers changed, or they waited long enough.
    Now,
    /// Only the moving numbers changed: at this moment, [`NUMBERS_INTERVAL`] after the last edit.
    At(Instant),
}

impl Shown {
    fn due(&self, rendered: &serde_json::Value, glance: &serde_json::Value, now: Instant) -> Due {
        if self.rendered.as_ref() == Some(rendered) {
            return Due::Unchanged;
        }
        match self.at.map(|at| at + NUMBERS_INTERVAL) {
            Some(due) if due > now && self.glance.as_ref() == Some(glance) => Due::At(due),
            _ => Due::Now,
        }
    }
}

/// The status and panel keeper task.
pub async fn run(ctx: Arc<Context>, cancel: CancellationToken) -> anyhow::Result<()> {
    let http = super::http(&ctx)?;
    let config = super::discord_config(&ctx)?.clone();
    let locale = super::post_locale(&ctx);
    let store = StateDir::new(&ctx.config.state_dir);
    let mut kept: KeptMessages = store
        .read_json(STATE_FILE)
        .ok()
        .flatten()
        .unwrap_or_default();
    let mut status_rx = ctx.status.subscribe();
    let mut shown = Shown::default();
    let mut last_panel: Option<serde_json::Value> = None;
    let mut last_chart: Option<Instant> = None;
    // When the next render may happen (the first one at once).
    let mut next_render: Option<Instant> = None;
    loop {
        if let Some(at) = next_render {
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                _ = tokio::time::sleep_until(at) => {}
            }
        }
        let status = status_rx.borrow_and_update().clone();
        let mut failed = false;
        // A numbers-only change waiting for NUMBERS_INTERVAL.
        let mut numbers_due: Option<Instant> = None;
        if let Some(channel) = config.status_channel {
            let embed = status_embed(&ctx, &status, &locale);
            let chart_due = last_chart.is_none_or(|t| t.elapsed() >= CHART_INTERVAL);
            let rendered = serde_json::to_value(&embed).unwrap_or_default();
            let glance = serde_json::to_value(status_embed(
                &ctx,
                &without_moving_numbers(&status),
                &locale,
            ))
            .unwrap_or_default();
            let chart = if chart_due { chart_png(&ctx) } else { None };
            let due = shown.due(&rendered, &glance, Instant::now());
            if let (Due::At(at), None) = (&due, &chart) {
                numbers_due = Some(*at);
            } else if due != Due::Unchanged || chart.is_some() {
                let (embed, footer) = match &chart {
                    Some((_, footer)) => (
                        embed.image(format!("attachment://{CHART_FILE}")),
                        Some(footer.clone()),
                    ),
                    None => (embed, None),
                };
                let embed = match footer {
                    Some(footer) => embed.footer(serenity::CreateEmbedFooter::new(footer)),
                    None => embed,
                };
                let attachment =
                    chart.map(|(png, _)| serenity::CreateAttachment::bytes(png, CHART_FILE));
                let kept_now = keep(
                    &http,
                    channel,
                    kept.status,
                    Content::Embed(Box::new(embed), attachment.clone()),
                )
                .await;
                failed |= kept_now.is_none();
                if kept_now.is_some() {
                    shown = Shown {
                        rendered: Some(rendered),
                        glance: Some(glance),
                        at: Some(Instant::now()),
                    };
                    if attachment.is_some() {
                        last_chart = Some(Instant::now());
                    }
                }
                if kept_now != kept.status && kept_now.is_some() {
                    kept.status = kept_now;
                    save(&store, &kept);
                }
            }
        }
        if let Some(channel) = config.panel_channel {
            let (text, components) = super::panel::render(&ctx, &status, &locale);
            let rendered = serde_json::to_value((&text, &components)).ok();
            if rendered != last_panel {
                let kept_now =
                    keep(&http, channel, kept.panel, Content::Panel(text, components)).await;
                failed |= kept_now.is_none();
                if kept_now.is_some() {
                    last_panel = rendered;
                }
                if kept_now != kept.panel && kept_now.is_some() {
                    kept.panel = kept_now;
                    save(&store, &kept);
                }
            }
        }
        // A refusal (missing permission, deleted channel) is retried, but not hammered.
        let pause = if failed {
            RETRY_AFTER_FAILURE
        } else {
            MIN_EDIT_INTERVAL
        };
        next_render = Some(Instant::now() + pause);
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            changed = status_rx.changed() => if changed.is_err() { return Ok(()) },
            _ = tokio::time::sleep_until(numbers_due.unwrap_or_else(Instant::now)),
                if numbers_due.is_some() => {}
            // The chart moves on even when nothing else changes.
            _ = tokio::time::sleep(CHART_INTERVAL), if config.status_channel.is_some() => {}
        }
    }
}

fn save(store: &StateDir, kept: &KeptMessages) {
    if let Err(error) = store.write_json(STATE_FILE, kept, Sensitivity::Public) {
        tracing::warn!(%error, "saving the Discord message ids failed");
    }
}

enum Content {
    Embed(
        Box<serenity::CreateEmbed>,
        Option<serenity::CreateAttachment>,
    ),
    Panel(String, Vec<serenity::CreateActionRow>),
}

/// Edit the kept message, or post a new one when there is none (or it was deleted). Returns
/// the message now kept, `None` when Discord refused both.
async fn keep(
    http: &serenity::Http,
    channel: u64,
    current: Option<Kept>,
    content: Content,
) -> Option<Kept> {
    let channel_id = serenity::ChannelId::new(channel);
    let none = serenity::CreateAllowedMentions::new();
    if let Some(kept) = current.filter(|k| k.channel == channel) {
        let edit = match &content {
            Content::Embed(embed, attachment) => {
                let mut edit = serenity::EditMessage::new()
                    .content("")
                    .embed((**embed).clone())
                    .allowed_mentions(none.clone());
                if let Some(attachment) = attachment {
                    edit =
                        edit.attachments(serenity::EditAttachments::new().add(attachment.clone()));
                }
                edit
            }
            Content::Panel(text, components) => serenity::EditMessage::new()
                .content(text)
                .components(components.clone())
                .allowed_mentions(none.clone()),
        };
        match channel_id
            .edit_message(http, serenity::MessageId::new(kept.message), edit)
            .await
        {
            Ok(_) => return Some(kept),
            Err(error) if is_unknown_message(&error) => {
                tracing::info!(
                    channel,
                    "the kept Discord message is gone; posting a new one"
                );
            }
            Err(error) => {
                tracing::warn!(%error, channel, "editing the kept Discord message failed");
                return None;
            }
        }
    }
    let create = match content {
        Content::Embed(embed, attachment) => {
            let message = serenity::CreateMessage::new()
                .embed(*embed)
                .allowed_mentions(none);
            match attachment {
                Some(attachment) => message.add_file(attachment),
                None => message,
            }
        }
        Content::Panel(text, components) => serenity::CreateMessage::new()
            .content(text)
            .components(components)
            .allowed_mentions(none),
    };
    match channel_id.send_message(http, create).await {
        Ok(message) => Some(Kept {
            channel,
            message: message.id.get(),
        }),
        Err(error) => {
            tracing::warn!(%error, channel, "posting the kept Discord message failed");
            None
        }
    }
}

fn is_unknown_message(error: &serenity::Error) -> bool {
    matches!(
        error,
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response))
            if response.status_code.as_u16() == 404
    )
}

/// The chart and its footer text, when there are samples to draw.
fn chart_png(ctx: &Context) -> Option<(Vec<u8>, String)> {
    let chart = chart_data(ctx)?;
    let footer = ctx.render(
        &super::post_locale(ctx),
        &Reply::new(keys::DISCORD_EMBED_CHART)
            .number("kbps", chart::bitrate_scale(&chart) as f64)
            .number("ms", chart::rtt_scale(&chart) as f64),
    );
    Some((chart::render_png(&chart), footer))
}

/// The last [`CHART_WINDOW`] of `ctx.history`, when it has at least one number.
pub fn chart_data(ctx: &Context) -> Option<chart::Chart> {
    let snapshot = ctx.history.snapshot(CHART_WINDOW);
    let has_numbers = snapshot
        .samples
        .iter()
        .any(|s| s.bitrate_kbps.is_some() || s.rtt_ms.is_some());
    if !has_numbers {
        return None;
    }
    Some(chart::Chart {
        now_ms: crate::history::now_unix_ms(),
        window_ms: CHART_WINDOW.as_millis() as u64,
        points: snapshot
            .samples
            .iter()
            .map(|s| chart::Point {
                at_ms: s.at_unix_ms,
                bitrate_kbps: s.bitrate_kbps,
                rtt_ms: s.rtt_ms,
            })
            .collect(),
        low_kbps: snapshot.low_kbps,
        recover_kbps: snapshot.recover_kbps,
        switches_ms: snapshot.switches.iter().map(|s| s.at_unix_ms).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::{Due, NUMBERS_INTERVAL, Shown};
    use serde_json::json;
    use std::time::Duration;
    use tokio::time::Instant;

    #[test]
    fn moving_numbers_wait_for_their_interval_and_anything_else_goes_at_once() {
        let t0 = Instant::now();
        let first = Shown::default();
        let (live, live_glance) = (
            json!({"bitrate": 6000, "scene": "LIVE"}),
            json!({"scene": "LIVE"}),
        );
        assert_eq!(first.due(&live, &live_glance, t0), Due::Now);
        let shown = Shown {
            rendered: Some(live.clone()),
            glance: Some(live_glance.clone()),
            at: Some(t0),
        };
        assert_eq!(shown.due(&live, &live_glance, t0), Due::Unchanged);
        // Only the bitrate moved: not before NUMBERS_INTERVAL after the last edit.
        let moved = json!({"bitrate": 5800, "scene": "LIVE"});
        let soon = t0 + Duration::from_secs(2);
        assert_eq!(
            shown.due(&moved, &live_glance, soon),
            Due::At(t0 + NUMBERS_INTERVAL)
        );
        assert_eq!(
            shown.due(&moved, &live_glance, t0 + NUMBERS_INTERVAL),
            Due::Now
        );
        // The scene changed: at once, whatever the numbers did.
        let brb = json!({"bitrate": 5800, "scene": "BRB"});
        assert_eq!(shown.due(&brb, &json!({"scene": "BRB"}), soon), Due::Now);
    }
}
