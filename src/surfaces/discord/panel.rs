//! The control panel: buttons whose custom ids are command lines (`run:brb`,
//! `ask:pc restart`), so a panel posted before a restart keeps working. A click runs the line
//! through dispatch with the clicking member's level, like a typed command. Dangerous actions
//! (`ask:`) first show an ephemeral confirmation.

use super::interact::Target;
use crate::context::Context;
use crate::dispatch::{self, Invocation, Invoker, Progress};
use crate::reply::{Outcome, Reply, keys};
use crate::status::{Level, Status};
use commands::Command;
use commands::discord::DiscordCommand;
use poise::serenity_prelude as serenity;
use std::sync::Arc;

/// Discord's custom id limit.
const CUSTOM_ID_LIMIT: usize = 100;

/// What a button does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// Run this command line.
    Run(&'a str),
    /// Ask first, then run this command line.
    Confirm(&'a str),
}

impl<'a> Action<'a> {
    pub fn parse(custom_id: &'a str) -> Option<Action<'a>> {
        if let Some(line) = custom_id.strip_prefix("run:") {
            Some(Action::Run(line))
        } else {
            custom_id.strip_prefix("ask:").map(Action::Confirm)
        }
    }

    pub fn custom_id(self) -> String {
        match self {
            Action::Run(line) => format!("run:{line}"),
            Action::Confirm(line) => format!("ask:{line}"),
        }
    }
}

fn button(
    action: Action<'_>,
    label: &str,
    style: serenity::ButtonStyle,
) -> Option<serenity::CreateButton> {
    let id = action.custom_id();
    if id.len() > CUSTOM_ID_LIMIT {
        return None;
    }
    let label: String = label.chars().take(80).collect();
    Some(serenity::CreateButton::new(id).label(label).style(style))
}

fn rows(buttons: Vec<serenity::CreateButton>) -> Vec<serenity::CreateActionRow> {
    buttons
        .chunks(5)
        .map(|chunk| serenity::CreateActionRow::Buttons(chunk.to_vec()))
        .collect()
}

/// The panel's text and buttons for the current status, in `locale`.
pub fn render(
    ctx: &Context,
    status: &Status,
    locale: &str,
) -> (String, Vec<serenity::CreateActionRow>) {
    let text = |key| ctx.render(locale, &Reply::new(key));
    let mut rows_out = Vec::new();
    let obs = status.obs.as_ref();
    let current = obs.and_then(|o| o.scene.clone());
    if let Some(obs_config) = &ctx.config.obs {
        let scenes = &obs_config.scenes;
        let mut owned = vec![
            (scenes.live.clone(), "live".to_string()),
            (scenes.low.clone(), format!("scene {}", scenes.low)),
            (scenes.brb.clone(), "brb".to_string()),
        ];
        if let Some(starting) = &scenes.starting {
            owned.push((starting.clone(), "starting".into()));
        }
        owned.push((scenes.offline.clone(), format!("scene {}", scenes.offline)));
        let scene_buttons = owned
            .iter()
            .filter_map(|(name, line)| {
                let style = if current.as_deref() == Some(name.as_str()) {
                    serenity::ButtonStyle::Success
                } else {
                    serenity::ButtonStyle::Secondary
                };
                button(Action::Run(line), name, style)
            })
            .collect();
        rows_out.extend(rows(scene_buttons));

        let streaming = obs.is_some_and(|o| o.streaming);
        let mut stream_buttons = Vec::new();
        stream_buttons.extend(if streaming {
            button(
                Action::Confirm("stop"),
                &text(keys::DISCORD_PANEL_STOP),
                serenity::ButtonStyle::Danger,
            )
        } else {
            button(
                Action::Run("start"),
                &text(keys::DISCORD_PANEL_START),
                serenity::ButtonStyle::Primary,
            )
        });
        stream_buttons.extend(button(
            Action::Run("fix"),
            &text(keys::DISCORD_PANEL_FIX),
            serenity::ButtonStyle::Secondary,
        ));
        if let Some(guard) = &status.guard {
            let (action, key) = if guard.enabled {
                ("guard off", keys::DISCORD_PANEL_GUARD_OFF)
            } else {
                ("guard on", keys::DISCORD_PANEL_GUARD_ON)
            };
            stream_buttons.extend(button(
                Action::Run(action),
                &text(key),
                serenity::ButtonStyle::Secondary,
            ));
        }
        rows_out.extend(rows(stream_buttons));
        rows_out.extend(audio_and_source_row(obs));
    }
    rows_out.extend(power_row(ctx, status, locale));
    // Restream targets last: Discord takes five rows, and what does not fit is named below.
    let (restream, targets) = restream_rows(status);
    let room = MAX_ROWS.saturating_sub(rows_out.len());
    let shown: usize = restream
        .iter()
        .take(room)
        .map(|(_, buttons)| *buttons)
        .sum();
    rows_out.extend(restream.into_iter().take(room).map(|(row, _)| row));
    let scene = current.unwrap_or_else(|| "—".into());
    let mut header = ctx.render(
        locale,
        &Reply::new(keys::DISCORD_PANEL_TITLE).arg("scene", scene),
    );
    if targets > shown {
        header.push('\n');
        header.push_str(
            &ctx.render(
                locale,
                &Reply::new(keys::DISCORD_PANEL_MORE_TARGETS)
                    .number("count", (targets - shown) as f64)
                    .arg("command", "/restream list"),
            ),
        );
    }
    rows_out.truncate(MAX_ROWS);
    (header, rows_out)
}

/// Discord's limit of action rows on a message.
const MAX_ROWS: usize = 5;

/// One row of toggles for the configured audio inputs (then sources), at most five: each
/// labelled with the state OBS last reported, a click asks for the other state (unknown counts
/// as unmuted, visible). A name too long for a button id gets no button.
fn audio_and_source_row(
    obs: Option<&crate::status::ObsStatus>,
) -> Option<serenity::CreateActionRow> {
    let obs = obs?;
    let audio = obs.audio.iter().map(|a| {
        if a.muted == Some(true) {
            (
                format!("unmute {}", a.name),
                format!("🔇 {}", a.name),
                serenity::ButtonStyle::Danger,
            )
        } else {
            (
                format!("mute {}", a.name),
                format!("🎙️ {}", a.name),
                serenity::ButtonStyle::Secondary,
            )
        }
    });
    let sources = obs.sources.iter().map(|s| {
        if s.visible == Some(false) {
            (
                format!("source {} show", s.name),
                format!("🙈 {}", s.name),
                serenity::ButtonStyle::Secondary,
            )
        } else {
            (
                format!("source {} hide", s.name),
                format!("👁️ {}", s.name),
                serenity::ButtonStyle::Success,
            )
        }
    });
    let buttons: Vec<_> = audio
        .chain(sources)
        .filter_map(|(line, label, style)| button(Action::Run(&line), &label, style))
        .take(5)
        .collect();
    (!buttons.is_empty()).then_some(serenity::CreateActionRow::Buttons(buttons))
}

/// The restream targets' rows (with how many buttons each holds) and how many targets there
/// are, when restream reports a status.
fn restream_rows(status: &Status) -> (Vec<(serenity::CreateActionRow, usize)>, usize) {
    let Some(restream) = &status.restream else {
        return (Vec::new(), 0);
    };
    // A green target is on; a click turns it off (and the other way round).
    let buttons: Vec<serenity::CreateButton> = restream
        .endpoints
        .iter()
        .filter_map(|e| {
            let (verb, style) = if e.enabled {
                ("off", serenity::ButtonStyle::Success)
            } else {
                ("on", serenity::ButtonStyle::Secondary)
            };
            let line = format!("restream {verb} {}", e.name);
            button(Action::Run(&line), &format!("📡 {}", e.name), style)
        })
        .collect();
    let count = buttons.len();
    let rows = buttons
        .chunks(5)
        .map(|chunk| {
            (
                serenity::CreateActionRow::Buttons(chunk.to_vec()),
                chunk.len(),
            )
        })
        .collect();
    (rows, count)
}

/// The stream PC's row, when power reports a status.
fn power_row(ctx: &Context, status: &Status, locale: &str) -> Vec<serenity::CreateActionRow> {
    if status.power.is_none() {
        return Vec::new();
    }
    let text = |key| ctx.render(locale, &Reply::new(key));
    let buttons = [
        button(
            Action::Run("pc wake"),
            &text(keys::DISCORD_PANEL_WAKE),
            serenity::ButtonStyle::Primary,
        ),
        button(
            Action::Confirm("pc restart"),
            &text(keys::DISCORD_PANEL_RESTART),
            serenity::ButtonStyle::Danger,
        ),
        button(
            Action::Confirm("pc shutdown"),
            &text(keys::DISCORD_PANEL_SHUTDOWN),
            serenity::ButtonStyle::Danger,
        ),
    ];
    rows(buttons.into_iter().flatten().collect())
}

/// Status message fields for the restream targets, the stream PC and the services, when
/// those features report a status.
pub fn feature_fields(ctx: &Context, status: &Status, locale: &str) -> Vec<(String, String)> {
    let text = |reply: Reply| ctx.render(locale, &reply);
    let mut fields = Vec::new();
    if let Some(restream) = &status.restream {
        let mut lines: Vec<String> = restream
            .endpoints
            .iter()
            .map(|e| {
                text(
                    Reply::new(keys::DISCORD_EMBED_RESTREAM_TARGET)
                        .arg("enabled", if e.enabled { "yes" } else { "no" })
                        .arg("name", super::escape_markdown(&e.name))
                        .arg("platform", e.platform),
                )
            })
            .collect();
        if let Some(apply) = restream.last_apply.as_ref().filter(|a| !a.ok) {
            lines.push(text(
                Reply::new(keys::DISCORD_EMBED_RESTREAM_APPLY_FAILED)
                    .arg("error", apply.error.clone().unwrap_or_default()),
            ));
        }
        if lines.is_empty() {
            lines.push(text(Reply::new(keys::DISCORD_EMBED_NONE)));
        }
        fields.push((
            text(Reply::new(keys::DISCORD_EMBED_RESTREAM)),
            lines.join("\n"),
        ));
    }
    if let Some(power) = &status.power {
        let state = match power.reachable {
            Some(true) => "up",
            Some(false) => "down",
            None => "unknown",
        };
        fields.push((
            text(Reply::new(keys::DISCORD_EMBED_PC)),
            text(Reply::new(keys::DISCORD_EMBED_PC_STATE).arg("state", state)),
        ));
    }
    if let Some(services) = &status.services {
        let lines: Vec<String> = services
            .units
            .iter()
            .map(|(key, unit)| {
                let dot = match crate::status::unit_level(unit) {
                    Level::Ok => "🟢",
                    Level::Bad => "🔴",
                    Level::Warn => "🟡",
                    Level::Off | Level::Idle => "⚪",
                };
                format!("{dot} {key} ({})", unit.state)
            })
            .collect();
        if !lines.is_empty() {
            fields.push((
                text(Reply::new(keys::DISCORD_EMBED_SERVICES)),
                lines.join("\n"),
            ));
        }
    }
    // Discord's limit for a field's value.
    for (_, value) in &mut fields {
        *value = crate::reply::clip(value, 1024);
    }
    fields
}

/// `/panel`: post a panel in this channel, once dispatch said yes to the `panel` word (its
/// level, moderators by default; its cooldown; Discord enabled). A panel is an invitation to
/// press buttons; each button is still checked by dispatch.
pub async fn post_here(
    ctx: &Arc<Context>,
    http: &serenity::Http,
    target: Target<'_>,
    invoker: Invoker,
    locale: &str,
) {
    let invocation = Invocation {
        command: Command::Discord(DiscordCommand::Panel),
        invoker,
        locale: locale.to_string(),
        reply_to: None,
        progress: Progress::none(),
    };
    let reply = dispatch::dispatch_isolated(ctx.clone(), invocation).await;
    if reply.outcome != Outcome::Done {
        return target.refuse(ctx, http, locale, &reply).await;
    }
    let status = ctx.status.borrow().clone();
    let (text, components) = render(ctx, &status, locale);
    target.respond_with(http, &text, false, components).await;
}

/// The ephemeral "are you sure?" for a dangerous button.
pub async fn confirm(
    ctx: &Context,
    http: &serenity::Http,
    target: Target<'_>,
    locale: &str,
    line: &str,
) {
    let question = ctx.render(
        locale,
        &Reply::new(keys::DISCORD_CONFIRM).arg("command", format!("/{line}")),
    );
    let mut buttons = Vec::new();
    buttons.extend(button(
        Action::Run(line),
        &ctx.render(locale, &Reply::new(keys::DISCORD_CONFIRM_YES)),
        serenity::ButtonStyle::Danger,
    ));
    let forced = format!("{line} force");
    if commands::parse(line, "").is_some_and(|parsed| parsed.is_ok_and(|c| c.can_force())) {
        buttons.extend(button(
            Action::Run(&forced),
            &ctx.render(locale, &Reply::new(keys::DISCORD_CONFIRM_FORCE)),
            serenity::ButtonStyle::Danger,
        ));
    }
    target
        .respond_with(http, &question, true, rows(buttons))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_ids_round_trip() {
        for action in [
            Action::Run("scene Just Chatting"),
            Action::Confirm("pc restart"),
        ] {
            assert_eq!(Action::parse(&action.custom_id()), Some(action));
        }
        assert_eq!(Action::parse("boop-1"), None);
    }
}
