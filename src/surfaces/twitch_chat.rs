//! The Twitch chat surface: chat messages (from EventSub) that start with the prefix become
//! invocations; replies go back through Helix as replies to the invoking message, in the
//! configured Twitch locale. Also posts what the guard and the raid stop announce.
//!
//! Permission comes from badges (broadcaster, moderator, vip) and `twitch.admins`. The bot never
//! reacts to its own messages: known by id once Helix has answered the post, and before that
//! by sender and text (Twitch may deliver the echo first; `Twitch::own_echo`). Unknown words:
//! silence. Malformed: the usage line. A command still cooling down is dropped silently (a busy
//! chat stays readable), and so are refusals and usage answers while their own cooldown runs
//! (`commands.cooldowns.refusal`, [`dispatch::answer_refusal`]): 50 viewers spamming `!start`
//! get a few answers a minute.
//!
//! **Only this channel's chat.** In a Shared Chat session Twitch also delivers the messages
//! sent in the other channels of the session, with `source_broadcaster_user_id` set to the
//! channel they came from (it is null for a message sent in the subscribed channel itself:
//! dev.twitch.tv/docs/eventsub/eventsub-reference/#channel-chat-message-event; twitch_api's
//! `ChannelChatMessageV1Payload`: "Only present when in a shared chat session"). Another
//! channel's viewers, badges and moderators are not ours: such messages are ignored
//! ([`from_another_channel`]).
//!
//! **Replies never become commands.** Without a bot account, replies go out as the broadcaster
//! and come back over EventSub; a reply that began with the prefix (a usage line, or an
//! argument a viewer chose: `!help title` answers `!title <text…> — …`) would run with the
//! broadcaster's rights. So every part of every rendered reply that would begin with the
//! prefix, `/` or `.` (after what a chat drops: spaces, invisible characters) starts with
//! [`DEFUSE`] instead ([`chat_parts`]).

use crate::context::Context;
use crate::dispatch::{self, Invocation, Invoker, Surface};
use crate::reply::{self, Outcome, Reply, keys};
use crate::status::Event;
use commands::Permission;
use std::sync::Arc;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use twitch_api::eventsub::channel::ChannelChatMessageV1Payload;

pub use crate::reply::{DEFUSE, clean, starts_like_a_command};

/// A rendered reply as the chat messages to post: split under Twitch's limit, and each part
/// that would start like a command prefixed with [`DEFUSE`] (the parts leave room for it).
pub fn chat_parts(text: &str, prefix: &str) -> Vec<String> {
    reply::split(
        text,
        crate::twitch::PART_LIMIT - DEFUSE.chars().count(),
        reply::Breaks::Words,
    )
    .into_iter()
    .map(|part| {
        if starts_like_a_command(&part, prefix) {
            format!("{DEFUSE}{part}")
        } else {
            part
        }
    })
    .collect()
}

/// The invoker's level from badges and the admin list.
pub fn permission(badges: &[&str], is_admin: bool) -> Permission {
    let badge = badges
        .iter()
        .map(|b| match *b {
            "broadcaster" => Permission::Broadcaster,
            "moderator" | "lead_moderator" => Permission::Moderator,
            "vip" => Permission::Vip,
            _ => Permission::Viewer,
        })
        .max()
        .unwrap_or(Permission::Viewer);
    if is_admin {
        badge.max(Permission::Admin)
    } else {
        badge
    }
}

/// Whether a chat message was sent in another channel of a Shared Chat session (its badges
/// are that channel's: a moderator there is nobody here). An empty source counts as none.
pub fn from_another_channel(message: &ChannelChatMessageV1Payload) -> bool {
    message
        .source_broadcaster_user_id
        .as_ref()
        .is_some_and(|source| !source.as_str().is_empty() && *source != message.broadcaster_user_id)
}

/// One chat message.
/// The chat task: each message EventSub read (sent on [`crate::twitch::eventsub::Links::chat`])
/// is handled on a task of its own as it arrives, so a slow command never holds up the next.
pub async fn serve(
    ctx: Arc<Context>,
    messages: Arc<
        tokio::sync::Mutex<tokio::sync::mpsc::Receiver<Box<ChannelChatMessageV1Payload>>>,
    >,
    cancel: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let mut messages = messages.lock().await;
    loop {
        let message = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            message = messages.recv() => message,
        };
        let Some(message) = message else {
            return Ok(());
        };
        tokio::spawn(on_message(ctx.clone(), *message));
    }
}

pub async fn on_message(ctx: Arc<Context>, message: ChannelChatMessageV1Payload) {
    let Some(twitch) = ctx.twitch.clone() else {
        return;
    };
    if from_another_channel(&message) {
        tracing::debug!(
            source = message
                .source_broadcaster_user_id
                .as_ref()
                .map(|s| s.as_str()),
            "ignoring a Shared Chat message from another channel"
        );
        return;
    }
    let message_id = message.message_id.to_string();
    // Nobody listening is fine.
    let _ = ctx.events.send(Event::TwitchChatMessage {
        user_id: message.chatter_user_id.to_string(),
        display_name: message.chatter_user_name.to_string(),
        text: message.message.text.clone(),
    });
    let from_bot_account = twitch
        .bot_token()
        .is_some_and(|bot| bot.user_id == message.chatter_user_id);
    let own = twitch.own_echo(
        message.chatter_user_id.as_str(),
        &message_id,
        &message.message.text,
    );
    if own || from_bot_account {
        return;
    }
    let text = clean(&message.message.text);
    let config = &ctx.config.commands;
    let Some(parsed) = dispatch::parse_line(config, &text) else {
        return;
    };
    let locale = chat_locale(&ctx, &twitch);
    let badges: Vec<&str> = message.badges.iter().map(|b| b.set_id.as_str()).collect();
    let user_id = message.chatter_user_id.to_string();
    let invoker = Invoker {
        surface: Surface::Twitch,
        permission: permission(&badges, twitch.is_admin(&user_id)),
        user_id,
        display_name: message.chatter_user_name.to_string(),
    };
    let (name, reply) = match parsed {
        Err(error) => (error.command, reply::usage(&error, &config.prefix)),
        Ok(command) => {
            let name = command.name();
            let invocation = Invocation {
                command,
                invoker: invoker.clone(),
                locale: locale.clone(),
                reply_to: Some(message_id.clone()),
                progress: crate::dispatch::Progress::none(),
            };
            (
                name,
                dispatch::dispatch_isolated(ctx.clone(), invocation).await,
            )
        }
    };
    if reply.outcome == Outcome::Cooldown || !dispatch::answer_refusal(&ctx, &invoker, name, &reply)
    {
        return;
    }
    say(&ctx, &locale, &reply, Some(&message_id)).await;
}

async fn say(ctx: &Context, locale: &str, reply: &Reply, reply_to: Option<&str>) {
    let Some(twitch) = &ctx.twitch else { return };
    let text = ctx.render(locale, reply);
    for (i, part) in chat_parts(&text, &ctx.config.commands.prefix)
        .iter()
        .enumerate()
    {
        let parent = if i == 0 { reply_to } else { None };
        if let Err(error) = crate::twitch::send_chat(twitch, part, parent).await {
            tracing::warn!(%error, "cannot send a Twitch chat message");
            return;
        }
    }
}

/// The language of what the bot writes to Twitch: `twitch.locale`, else the top-level one.
fn chat_locale(ctx: &Context, twitch: &crate::twitch::Twitch) -> String {
    twitch
        .config
        .locale
        .clone()
        .unwrap_or_else(|| ctx.config.locale.clone())
}

/// Posts guard transitions, upload alerts and (opt-in) the bot's own troubles as configured
/// (`twitch.announce`, [`super::chat_announcement`]), and the raid stop's message, in chat.
pub async fn announce(ctx: Arc<Context>, cancel: CancellationToken) -> anyhow::Result<()> {
    let Some(twitch) = ctx.twitch.clone() else {
        return Ok(());
    };
    let locale = chat_locale(&ctx, &twitch);
    let mut posts = super::ChatPosts::new(&ctx, twitch.config.announce.clone());
    while let Some(post) = posts.next(&cancel).await {
        match post {
            super::ChatPost::RaidMessage(message) => {
                if let Err(error) = crate::twitch::send_chat(&twitch, &message, None).await {
                    tracing::warn!(%error, "cannot post the raid message");
                }
            }
            super::ChatPost::Announcement(reply) => say(&ctx, &locale, &reply, None).await,
        }
    }
    Ok(())
}

/// Leaves a stream marker at each guard transition (as `twitch.markers` says), described in
/// the chat's language, so the VOD shows where the connection broke. Dry-run decisions are not
/// marked (nothing switched). A failure (not live, a missing scope) is logged, never retried.
pub async fn markers(ctx: Arc<Context>, cancel: CancellationToken) -> anyhow::Result<()> {
    let Some(twitch) = ctx.twitch.clone() else {
        return Ok(());
    };
    let locale = chat_locale(&ctx, &twitch);
    let kinds = twitch.config.markers.clone();
    let mut events = ctx.events.subscribe_notable();
    loop {
        let event = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            event = events.recv() => event,
        };
        let description = match event {
            Ok(Event::BitrateLow(t)) if kinds.low && !t.dry_run => {
                marker_cause(keys::MARKER_LOW, &t)
            }
            Ok(Event::IngestOffline(t)) if kinds.offline && !t.dry_run => {
                marker_cause(keys::MARKER_OFFLINE, &t)
            }
            Ok(Event::BitrateRestored(t)) if kinds.restored && !t.dry_run => {
                Reply::new(keys::MARKER_RESTORED)
            }
            Err(broadcast::error::RecvError::Closed) => return Ok(()),
            _ => continue,
        };
        let description = ctx.render(&locale, &description);
        match crate::twitch::create_marker(&twitch, Some(&description)).await {
            Ok(marker) => {
                tracing::info!(%description, position = marker.position.as_secs(), "stream marker set");
            }
            Err(crate::twitch::TwitchError::NotLive) => {
                tracing::debug!(%description, "no stream marker: not live on Twitch");
            }
            Err(error) => tracing::warn!(%error, %description, "cannot set a stream marker"),
        }
    }
}

/// A marker's description: the transition's cause and numbers.
fn marker_cause(key: crate::reply::Key, t: &crate::status::GuardTransition) -> Reply {
    Reply::new(key)
        .arg("cause", t.cause)
        .arg(
            "kbps",
            t.bitrate_kbps.map_or("–".to_string(), |k| k.to_string()),
        )
        .arg("rtt", t.rtt_ms.map_or("–".to_string(), |r| r.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_removed_before_parsing() {
        assert_eq!(clean("!brb \u{E0000}"), "!brb ");
        assert_eq!(clean("!b\u{200B}rb"), "!brb");
        assert_eq!(clean("!scene Café 😀"), "!scene Café 😀");
    }

    #[test]
    fn parts_that_start_like_a_command_are_defused() {
        let check = |text: &str, expected: &[&str]| {
            assert_eq!(chat_parts(text, "!"), expected, "{text:?}");
        };
        check("Pong!", &["Pong!"]);
        check(
            "!title <text…> — sets the title",
            &["» !title <text…> — sets the title"],
        );
        check("  \u{E0000}!brb", &["» \u{E0000}!brb"]);
        check("/ban someone", &["» /ban someone"]);
        check(".mod someone", &["» .mod someone"]);
        check("The scene is now !brb", &["The scene is now !brb"]);
        // A later part of a long reply is defused too, and every part fits with the marker.
        let long = format!("{} !stop now", "word ".repeat(99).trim_end());
        let parts = chat_parts(&long, "!");
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert_eq!(parts[1], "» !stop now");
        assert!(
            parts
                .iter()
                .all(|p| p.chars().count() <= crate::twitch::CHAT_LIMIT)
        );
        // Another prefix: `!` is then only text.
        assert_eq!(chat_parts("!brb", "?"), ["!brb"]);
        assert_eq!(chat_parts("?brb", "?"), ["» ?brb"]);
    }

    #[test]
    fn badges_and_admins_map_to_levels() {
        assert_eq!(permission(&[], false), Permission::Viewer);
        assert_eq!(permission(&["subscriber", "vip"], false), Permission::Vip);
        assert_eq!(
            permission(&["vip", "moderator"], false),
            Permission::Moderator
        );
        assert_eq!(permission(&["broadcaster"], false), Permission::Broadcaster);
        assert_eq!(permission(&["moderator"], true), Permission::Admin);
        assert_eq!(permission(&["broadcaster"], true), Permission::Broadcaster);
    }
}
