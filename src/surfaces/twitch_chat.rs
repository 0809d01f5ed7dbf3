//! The Twitch chat surface: chat messages (from EventSub) that start with the prefix become
//! invocations; replies go back through Helix as replies to the invoking message, in the
//! configured Twitch locale. Also posts what the guard and the raid stop announce.
//!
//! Permission comes from badges (broadcaster, moderator, vip) and `twitch.admins`. The bot never
//! reacts to its own messages. Unknown words: silence. Malformed: the usage line. A command
//! still cooling down is dropped silently (a busy chat stays readable).

use crate::app::Context;
use crate::dispatch::{self, Invocation, Invoker, Surface};
use crate::reply::{self, Outcome, Reply, keys};
use crate::status::Event;
use crate::twitch::helix;
use commands::Permission;
use std::sync::Arc;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use twitch_api::eventsub::channel::ChannelChatMessageV1Payload;

/// Characters some chat clients add (to repeat a message) or that hide in pasted text.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{E0000}'..='\u{E007F}' | '\u{034F}')
}

/// The text to parse: invisible characters removed.
pub fn clean(text: &str) -> String {
    text.chars().filter(|c| !is_invisible(*c)).collect()
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

/// One chat message.
pub async fn on_message(ctx: Arc<Context>, message: ChannelChatMessageV1Payload) {
    let Some(twitch) = ctx.twitch.clone() else {
        return;
    };
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
    if twitch.sent_by_us(&message_id) || from_bot_account {
        return;
    }
    let text = clean(&message.message.text);
    let config = &ctx.config.commands;
    let Some(parsed) = dispatch::parse_line(config, &text) else {
        return;
    };
    let locale = twitch
        .config
        .locale
        .clone()
        .unwrap_or_else(|| ctx.config.locale.clone());
    let reply = match parsed {
        Err(error) => reply::usage(&error, &config.prefix),
        Ok(command) => {
            let badges: Vec<&str> = message.badges.iter().map(|b| b.set_id.as_str()).collect();
            let user_id = message.chatter_user_id.to_string();
            let invoker = Invoker {
                surface: Surface::Twitch,
                permission: permission(&badges, twitch.is_admin(&user_id)),
                user_id,
                display_name: message.chatter_user_name.to_string(),
            };
            let invocation = Invocation {
                command,
                invoker,
                locale: locale.clone(),
                reply_to: Some(message_id.clone()),
                progress: crate::dispatch::Progress::none(),
            };
            dispatch::dispatch_isolated(ctx.clone(), invocation).await
        }
    };
    if reply.outcome == Outcome::Cooldown {
        return;
    }
    say(&ctx, &locale, &reply, Some(&message_id)).await;
}

async fn say(ctx: &Context, locale: &str, reply: &Reply, reply_to: Option<&str>) {
    let Some(twitch) = &ctx.twitch else { return };
    let text = ctx.render(locale, reply);
    if let Err(error) = helix::send_chat(twitch, &text, reply_to).await {
        tracing::warn!(%error, "cannot send a Twitch chat message");
    }
}

/// Posts guard transitions (as configured) and the raid stop's message in chat.
pub async fn announce(ctx: Arc<Context>, cancel: CancellationToken) -> anyhow::Result<()> {
    let Some(twitch) = ctx.twitch.clone() else {
        return Ok(());
    };
    let locale = twitch
        .config
        .locale
        .clone()
        .unwrap_or_else(|| ctx.config.locale.clone());
    let announce = twitch.config.announce.clone();
    let mut events = ctx.events.subscribe();
    loop {
        let event = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            event = events.recv() => event,
        };
        let reply = match event {
            Ok(Event::BitrateLow(t)) if announce.low && (announce.dry_run || !t.dry_run) => {
                transition(keys::ANNOUNCE_LOW, &t)
            }
            Ok(Event::BitrateRestored(t))
                if announce.restored && (announce.dry_run || !t.dry_run) =>
            {
                transition(keys::ANNOUNCE_RESTORED, &t)
            }
            Ok(Event::IngestOffline(t)) if announce.offline && (announce.dry_run || !t.dry_run) => {
                transition(keys::ANNOUNCE_OFFLINE, &t)
            }
            Ok(Event::RaidHandled {
                message: Some(message),
                ..
            }) => {
                if let Err(error) = helix::send_chat(&twitch, &message, None).await {
                    tracing::warn!(%error, "cannot post the raid message");
                }
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return Ok(()),
            _ => continue,
        };
        say(&ctx, &locale, &reply, None).await;
    }
}

fn transition(key: crate::reply::Key, t: &crate::status::GuardTransition) -> Reply {
    let mut reply = Reply::new(key).arg("scene", t.to.to_uppercase());
    reply = match t.bitrate_kbps {
        Some(kbps) => reply.number("kbps", kbps),
        None => reply.arg("kbps", "–"),
    };
    if t.dry_run {
        Reply::new(keys::ANNOUNCE_DRY_RUN).message("what", reply)
    } else {
        reply
    }
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
