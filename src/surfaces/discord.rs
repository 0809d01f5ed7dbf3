//! The Discord surface: the private control room (poise 0.7 on serenity 0.12).
//!
//! - `tree`: the slash command tree, a typed front end for the chat vocabulary.
//! - `interact`: slash commands, autocomplete and buttons → `Invocation` → dispatch → answer.
//! - `register`: the guild's commands, sent only when they changed.
//! - `panel`: the control panel (buttons whose custom ids are command lines).
//! - `embed`: the status message kept in a channel, with `chart`'s bitrate image.
//! - `feed`: the alerts channel and the Twitch chat mirror.
//! - `logs`: journal lines as code blocks, and `/logs … follow`.
//!
//! Only the configured server is served; permission is the highest level of the member's
//! configured roles and user id, checked by dispatch like every other surface.

pub mod chart;
pub mod embed;
pub mod feed;
pub mod interact;
pub mod logs;
pub mod panel;
pub mod register;
pub mod tree;

use crate::config::DiscordConfig;
use crate::context::Context;
use crate::status::DiscordStatus;
use anyhow::Context as _;
use poise::serenity_prelude as serenity;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// poise user data: the whole application context.
pub type Data = Arc<Context>;
/// poise error type.
pub type Error = anyhow::Error;

/// Discord's message length limit.
pub const MESSAGE_LIMIT: usize = 2000;

/// The Discord REST client of this process, built from `DISCORD_TOKEN` (and `api_url` for a
/// test double).
pub fn http(ctx: &Context) -> anyhow::Result<Arc<serenity::Http>> {
    build_http(ctx).map(Arc::new)
}

fn build_http(ctx: &Context) -> anyhow::Result<serenity::Http> {
    let config = discord_config(ctx)?;
    let token = ctx
        .secrets
        .get("DISCORD_TOKEN")
        .context("DISCORD_TOKEN is not set (the bot token from the Discord developer portal)")?;
    // serenity's default client has no timeout at all: one hung call would hold up whatever
    // waits behind it (the next alert, an answer) until the connection dies.
    let mut client = ctx
        .tls
        .discord_http_client()
        .timeout(config.request_timeout)
        .connect_timeout(config.request_timeout);
    if let Some(proxy) = &config.proxy {
        client = client.proxy(
            reqwest_discord::Proxy::https(proxy).context("discord.proxy is not a proxy address")?,
        );
    }
    let client = client.build().context("building the Discord HTTP client")?;
    let mut builder = serenity::HttpBuilder::new(token.expose()).client(client);
    if let Some(url) = &config.api_url {
        // serenity builds rate-limited requests without `proxy`: a rate-limiting proxy limits
        // instead.
        builder = builder
            .proxy(url.trim_end_matches('/'))
            .ratelimiter_disabled(true);
    }
    let mut http = builder.build();
    if let Some(limiter) = http.ratelimiter.as_mut() {
        // A global 429 (Discord does not announce that limit, so no client can avoid it):
        // serenity waits it out and retries, and only says so at debug level. Route limits are
        // followed before they are hit (the callback also reports those waits: not logged).
        // No path: a webhook's holds its token.
        limiter.set_ratelimit_callback(Box::new(|info| {
            if info.global {
                tracing::warn!(
                    method = ?info.method,
                    retry_after_ms = info.timeout.as_millis() as u64,
                    "Discord answered 429 (global rate limit); retrying after the wait"
                );
            }
        }));
    }
    Ok(http)
}

pub(crate) fn discord_config(ctx: &Context) -> anyhow::Result<&DiscordConfig> {
    ctx.config
        .discord
        .as_ref()
        .context("the discord section is not configured")
}

/// The locale of what the bot posts by itself.
pub(crate) fn post_locale(ctx: &Context) -> String {
    ctx.config
        .discord
        .as_ref()
        .and_then(|d| d.locale.clone())
        .unwrap_or_else(|| ctx.config.locale.clone())
}

fn set_status(ctx: &Context, update: impl FnOnce(&mut DiscordStatus)) {
    ctx.discord_status.update(update);
}

/// The gateway task: connect, register the commands, serve interactions until shut down.
/// serenity resumes and reconnects the session by itself; this returns an error (and is
/// restarted by the supervisor) only when the client stops.
///
/// Except when Discord refuses the bot for good: close 4004 (wrong token) or 4014 (a
/// privileged intent not enabled). Discord marks both "Reconnect: false"
/// (docs.discord.com/developers/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes),
/// and nothing this process can do changes the answer: the token is read once at start, and
/// the intents toggle is in the developer portal. So the status says `failed` with the fix
/// (localised) and the task waits for shutdown instead of returning an error: the supervisor
/// would otherwise identify again and again, and 1000 IDENTIFYs in a day get the token reset
/// (docs.discord.com/developers/events/gateway#identifying). The streamer fixes it and
/// restarts.
pub async fn run(ctx: Arc<Context>, cancel: CancellationToken) -> anyhow::Result<()> {
    set_status(&ctx, |d| {
        d.state = "connecting";
        d.reason = None;
    });
    let result = serve(ctx.clone(), cancel.clone()).await;
    if let Err(error) = &result {
        if let Some(key) = refusal(error) {
            let reason = ctx.render(&post_locale(&ctx), &crate::reply::Reply::new(key));
            tracing::error!(
                error = ctx.redactor.redact(&format!("{error:#}")),
                "Discord refused the bot; not reconnecting until restarted: {reason}"
            );
            set_status(&ctx, |d| {
                d.state = "failed";
                d.reason = Some(reason);
            });
            cancel.cancelled().await;
            return Ok(());
        }
        let reason = ctx.redactor.redact(&format!("{error:#}"));
        set_status(&ctx, |d| {
            d.state = "failed";
            d.reason = Some(reason);
        });
    }
    result
}

/// The fix to show when the gateway refused the bot for good (a close code Discord marks
/// "Reconnect: false" that only the operator can fix), else `None`. serenity 0.12 ends
/// `Client::start` with these as `GatewayError`s.
fn refusal(error: &anyhow::Error) -> Option<crate::reply::Key> {
    use crate::reply::keys;
    match error.downcast_ref::<serenity::Error>()? {
        serenity::Error::Gateway(serenity::GatewayError::InvalidAuthentication) => {
            Some(keys::DISCORD_GATEWAY_TOKEN_REFUSED)
        }
        serenity::Error::Gateway(serenity::GatewayError::DisallowedGatewayIntents) => {
            Some(keys::DISCORD_GATEWAY_INTENTS_REFUSED)
        }
        _ => None,
    }
}

async fn serve(ctx: Arc<Context>, cancel: CancellationToken) -> anyhow::Result<()> {
    let http = build_http(&ctx)?;
    let config = discord_config(&ctx)?;
    let guild = serenity::GuildId::new(config.guild_id);
    let default_locale = ctx.i18n.negotiate(&post_locale(&ctx));
    let commands = tree::commands(&ctx.i18n, default_locale);
    let wanted = register::wanted(&commands);
    let data = ctx.clone();
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands,
            event_handler: |framework, event| Box::pin(on_event(framework, event)),
            on_error: |error| Box::pin(interact::on_error(error)),
            allowed_mentions: Some(serenity::CreateAllowedMentions::new()),
            ..Default::default()
        })
        .initialize_owners(false)
        .setup(move |serenity_ctx, ready, _framework| {
            Box::pin(async move {
                set_status(&data, |d| {
                    d.state = "connected";
                    d.reason = None;
                    d.bot_user = Some(ready.user.name.clone());
                });
                // Beside serving, not before: poise holds every event until setup returns, so
                // a slow registration would leave interactions unanswered.
                let http = serenity_ctx.http.clone();
                let ctx = data.clone();
                tokio::spawn(async move {
                    let outcome = register::sync(&http, guild, wanted).await;
                    let text = match outcome {
                        Ok(true) => "registered".to_string(),
                        Ok(false) => "unchanged".to_string(),
                        Err(error) => {
                            tracing::error!(
                                error = format!("{error:#}"),
                                "registering Discord commands failed"
                            );
                            format!("failed: {}", ctx.redactor.redact(&format!("{error:#}")))
                        }
                    };
                    set_status(&ctx, |d| d.commands = Some(text));
                });
                Ok(data)
            })
        })
        .build();
    let mut client = serenity::ClientBuilder::new_with_http(http, serenity::GatewayIntents::GUILDS)
        .framework(framework)
        .await
        .context("building the Discord client")?;
    let shards = client.shard_manager.clone();
    tokio::select! {
        result = client.start() => {
            result.context("the Discord gateway connection ended")?;
            anyhow::bail!("the Discord gateway connection ended")
        }
        _ = cancel.cancelled() => {
            shards.shutdown_all().await;
            Ok(())
        }
    }
}

/// Once per gateway interruption (op 7 Reconnect, op 9 Invalid Session, a lost socket), when
/// it is over: serenity reconnects by itself and logs none of these at warn.
fn log_reconnected(resumed: bool) {
    tracing::warn!(
        resumed,
        "the Discord gateway connection was interrupted; reconnected"
    );
}

async fn on_event(
    framework: poise::FrameworkContext<'_, Data, Error>,
    event: &serenity::FullEvent,
) -> Result<(), Error> {
    let ctx = framework.user_data;
    match event {
        // A READY after the first one ends an interruption with a new session; a RESUMED ends
        // one with the old session.
        serenity::FullEvent::Ready { data_about_bot } => {
            if (ctx.status.borrow().discord.as_ref()).is_some_and(|d| d.bot_user.is_some()) {
                log_reconnected(false);
            }
            set_status(ctx, |d| {
                d.state = "connected";
                d.reason = None;
                d.bot_user = Some(data_about_bot.user.name.clone());
            })
        }
        serenity::FullEvent::Resume { .. } => {
            log_reconnected(true);
            set_status(ctx, |d| {
                d.state = "connected";
                d.reason = None;
            })
        }
        serenity::FullEvent::ShardStageUpdate { event } => {
            let state = match event.new {
                serenity::ConnectionStage::Connected => "connected",
                serenity::ConnectionStage::Resuming => "resuming",
                _ => "connecting",
            };
            // A stage change reported late must not hide a refusal (see `run`).
            set_status(ctx, |d| {
                if d.state != "failed" {
                    d.state = state;
                }
            });
        }
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(component),
        } => {
            // Buttons are served here, not by a short-lived collector, so a panel keeps
            // working after a restart.
            let ctx = ctx.clone();
            let http = framework.serenity_context.http.clone();
            let component = component.clone();
            tokio::spawn(async move { interact::on_component(ctx, http, component).await });
        }
        _ => {}
    }
    Ok(())
}

/// A reply as Discord messages under `limit`: split at lines ([`crate::reply::split`]), and
/// never a blank message (Discord refuses an empty one): at least a zero-width space.
pub fn split_lines(text: &str, limit: usize) -> Vec<String> {
    let mut parts = crate::reply::split(text, limit, crate::reply::Breaks::Lines);
    parts.retain(|p| !p.trim().is_empty());
    if parts.is_empty() {
        parts.push("\u{200b}".into());
    }
    parts
}

/// Escape Discord markdown in text from outside (chat, stream titles), so it shows as typed.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '#' | '[' | ']' | '(' | ')' | '-'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_lines_under_the_limit() {
        let text = "a".repeat(1500) + "\n" + &"b".repeat(1500) + "\n" + &"c".repeat(4500);
        let parts = split_lines(&text, 2000);
        assert!(parts.iter().all(|p| p.chars().count() <= 2000));
        assert_eq!(parts.concat(), text);
        assert!(parts[0].ends_with('\n'));
    }

    #[test]
    fn no_message_is_blank() {
        assert_eq!(split_lines("", 2000), ["\u{200b}"]);
        assert_eq!(split_lines(" \n\n", 2000), ["\u{200b}"]);
        assert_eq!(split_lines("ab\n  \n", 3), ["ab\n"]);
    }

    #[test]
    fn escapes_markdown() {
        assert_eq!(escape_markdown("**hi** `x`"), "\\*\\*hi\\*\\* \\`x\\`");
    }
}
