//! The Kick chat surface: chat messages (from Kick's chat socket or its webhooks, handed over
//! by [`crate::kick::link`]) that start with the prefix become invocations; replies go back
//! through Kick's chat endpoint as replies to the invoking message, in the Kick locale. Also
//! posts what the guard announces (`kick.announce`, the same choices as Twitch's) and the raid
//! stop's message: with Twitch configured too, each chat gets its own copy.
//!
//! Permission comes from Kick's badges (broadcaster, moderator, vip; the same mapping as
//! Twitch's, as NOALBS maps them) and `kick.admins` (resolved to user ids). Replies never
//! become commands: every part that would start like one is defused by
//! [`crate::kick::chat_content`] (the same rule as Twitch chat), and the bot's own messages are
//! known by the ids Kick answered ([`crate::kick::Kick::own_message`]). Unknown words: silence;
//! a cooling-down command and repeated refusals: silence, as on Twitch.

use crate::context::Context;
use crate::dispatch::{self, Invocation, Invoker, Surface};
use crate::kick::{Badge, ChatMessage};
use crate::reply::{self, Outcome, Reply};
use crate::status::Event;
use commands::Permission;
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;

/// The invoker's level from Kick's badges and the admin list.
pub fn permission(badges: &[Badge], is_admin: bool) -> Permission {
    let badge = badges
        .iter()
        .map(|badge| match badge {
            Badge::Broadcaster => Permission::Broadcaster,
            Badge::Moderator => Permission::Moderator,
            Badge::Vip => Permission::Vip,
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

/// The chat task: each message is handled on a task of its own as it arrives, so a slow
/// command never holds up the next.
pub async fn serve(
    ctx: Arc<Context>,
    messages: Arc<Mutex<mpsc::Receiver<ChatMessage>>>,
    cancel: CancellationToken,
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
        tokio::spawn(on_message(ctx.clone(), message));
    }
}

/// One chat message.
pub async fn on_message(ctx: Arc<Context>, message: ChatMessage) {
    let Some(kick) = ctx.kick.clone() else {
        return;
    };
    // A webhook names the channel it is about; an application may serve several.
    if let Some(theirs) = message.broadcaster_user_id {
        match kick.broadcaster_user_id().await {
            Ok(ours) if ours != theirs => {
                tracing::debug!(theirs, "ignoring a Kick chat message of another channel");
                return;
            }
            _ => {}
        }
    }
    let _ = ctx.events.send(Event::KickChatMessage {
        user_id: message.sender.user_id.to_string(),
        display_name: message.sender.username.clone(),
        text: message.content.clone(),
    });
    if kick.own_message(&message.id) {
        return;
    }
    let text = reply::clean(&message.content);
    let config = &ctx.config.commands;
    let Some(parsed) = dispatch::parse_line(config, &text) else {
        return;
    };
    let locale = chat_locale(&ctx, &kick);
    let invoker = Invoker {
        surface: Surface::Kick,
        permission: permission(
            &message.sender.badges,
            kick.is_admin(message.sender.user_id),
        ),
        user_id: message.sender.user_id.to_string(),
        display_name: message.sender.username.clone(),
    };
    let (name, reply) = match parsed {
        Err(error) => (error.command, reply::usage(&error, &config.prefix)),
        Ok(command) => {
            let name = command.name();
            let invocation = Invocation {
                command,
                invoker: invoker.clone(),
                locale: locale.clone(),
                reply_to: Some(message.id.clone()),
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
    say(&ctx, &kick, &locale, &reply, Some(&message.id)).await;
}

/// A rendered reply as Kick chat messages: split under Kick's limit (leaving room for the
/// defusing mark), the first as a reply to `reply_to`.
async fn say(
    ctx: &Context,
    kick: &crate::kick::Kick,
    locale: &str,
    reply: &Reply,
    reply_to: Option<&str>,
) {
    let text = ctx.render(locale, reply);
    post(kick, &text, reply_to).await;
}

async fn post(kick: &crate::kick::Kick, text: &str, reply_to: Option<&str>) {
    let limit = crate::kick::CHAT_LIMIT - reply::DEFUSE.chars().count();
    for (i, part) in reply::split(text, limit, reply::Breaks::Words)
        .iter()
        .enumerate()
    {
        let parent = if i == 0 { reply_to } else { None };
        if let Err(error) = kick.send_chat(part, parent).await {
            tracing::warn!(%error, "cannot send a Kick chat message");
            return;
        }
    }
}

/// The language of what the bot writes to Kick: `kick.locale`, else the top-level one.
fn chat_locale(ctx: &Context, kick: &crate::kick::Kick) -> String {
    kick.config
        .locale
        .clone()
        .unwrap_or_else(|| ctx.config.locale.clone())
}

/// Posts guard transitions, upload alerts and (opt-in) the bot's own troubles as `kick.announce`
/// says ([`super::chat_announcement`]), and the raid stop's message, in Kick chat.
pub async fn announce(ctx: Arc<Context>, cancel: CancellationToken) -> anyhow::Result<()> {
    let Some(kick) = ctx.kick.clone() else {
        return Ok(());
    };
    let locale = chat_locale(&ctx, &kick);
    let mut posts = super::ChatPosts::new(&ctx, kick.config.announce.clone());
    while let Some(post) = posts.next(&cancel).await {
        match post {
            super::ChatPost::RaidMessage(message) => self::post(&kick, &message, None).await,
            super::ChatPost::Announcement(reply) => say(&ctx, &kick, &locale, &reply, None).await,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badges_and_admins_map_to_levels() {
        assert_eq!(permission(&[], false), Permission::Viewer);
        assert_eq!(
            permission(&[Badge::Subscriber, Badge::Vip], false),
            Permission::Vip
        );
        assert_eq!(
            permission(&[Badge::Vip, Badge::Moderator], false),
            Permission::Moderator
        );
        assert_eq!(
            permission(&[Badge::Og, Badge::Other("staff-ish".into())], false),
            Permission::Viewer
        );
        assert_eq!(
            permission(&[Badge::Broadcaster], false),
            Permission::Broadcaster
        );
        assert_eq!(permission(&[Badge::Moderator], true), Permission::Admin);
        assert_eq!(
            permission(&[Badge::Broadcaster], true),
            Permission::Broadcaster
        );
    }
}
