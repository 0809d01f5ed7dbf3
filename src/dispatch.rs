//! Invocation → permission → cooldown → the one exhaustive `match` → handler → [`Reply`].
//!
//! **Invariant:** permission is checked here, once, before any handler runs. Surfaces only
//! translate platform input into an [`Invocation`] and render the [`Reply`] back.
//!
//! A command whose answer carries private data ([`Command::is_private`]: logs, addresses, bans,
//! restream endpoints) is refused on Twitch, whose chat is public, before its handler runs.
//! Refusals and usage answers in a public chat cost a cooldown of their own
//! ([`answer_refusal`]), so a crowd spamming a command it may not use gets a few answers a
//! minute, not one each.

use crate::config::CommandsConfig;
use crate::context::Context;
use crate::handlers;
pub use crate::reply::Progress;
use crate::reply::{self, Outcome, Reply, UserError, keys};
use crate::status::Event;
use commands::{Command, Feature, ParseError, Permission};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Where a command came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    Twitch,
    Kick,
    Discord,
    /// The local `--console` (development and the demo).
    Console,
}

impl Surface {
    pub fn as_str(self) -> &'static str {
        match self {
            Surface::Twitch => "twitch",
            Surface::Kick => "kick",
            Surface::Discord => "discord",
            Surface::Console => "console",
        }
    }
}

impl fmt::Display for Surface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who runs a command. The surface computes `permission` from platform roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoker {
    pub surface: Surface,
    /// The platform's stable user id (not the display name).
    pub user_id: String,
    pub display_name: String,
    pub permission: Permission,
}

impl Invoker {
    /// The local console user: the broadcaster.
    pub fn console() -> Invoker {
        Invoker {
            surface: Surface::Console,
            user_id: "console".into(),
            display_name: "console".into(),
            permission: Permission::Broadcaster,
        }
    }

    /// `surface:user_id`, as in the configuration's allow lists (checked by `config::commands`).
    pub fn key(&self) -> String {
        format!("{}:{}", self.surface, self.user_id)
    }
}

/// One command to run, and how to answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub command: Command,
    pub invoker: Invoker,
    /// The invoker's locale as the platform reports it (negotiated when rendering).
    pub locale: String,
    /// The platform message to answer to (Twitch reply threading), if any.
    pub reply_to: Option<String>,
    /// Where a long action reports how far it got (a surface that can edit its answer shows
    /// these; others ignore them).
    pub progress: Progress,
}

/// Parse a chat line, expanding configured aliases (`!b` → `!brb`). Same three outcomes as
/// [`commands::parse`].
pub fn parse_line(config: &CommandsConfig, line: &str) -> Option<Result<Command, ParseError>> {
    let prefix = config.prefix.as_str();
    let trimmed = line.trim_start();
    if let Some(after) = trimmed.strip_prefix(prefix) {
        let word_len = after.find(char::is_whitespace).unwrap_or(after.len());
        let word = &after[..word_len];
        if !word.is_empty()
            && let Some((_, target)) = config
                .aliases
                .iter()
                .find(|(a, _)| a.eq_ignore_ascii_case(word))
        {
            let target = target.trim();
            let target = target.strip_prefix(prefix).unwrap_or(target);
            let expanded = format!("{prefix}{target}{}", &after[word_len..]);
            return commands::parse(&expanded, prefix);
        }
    }
    commands::parse(line, prefix)
}

/// The level needed for this exact command, after configuration overrides.
pub fn required_permission(config: &CommandsConfig, command: &Command) -> Permission {
    config
        .permissions
        .get(command.name())
        .map_or_else(|| command.required_permission(), |level| (*level).into())
}

fn allow_listed(config: &CommandsConfig, invoker: &Invoker, name: &str) -> bool {
    let key = invoker.key();
    config
        .allow
        .get(name)
        .is_some_and(|users| users.contains(&key))
}

/// The refusal for an invoker below this exact command's level (after overrides; allow-listed
/// users pass), if any. Dispatch decides with it before any handler runs; a surface that
/// offers a command before running it (Discord's confirmation buttons) asks it too.
pub fn permission_refusal(
    config: &CommandsConfig,
    invoker: &Invoker,
    command: &Command,
) -> Option<Reply> {
    let name = command.name();
    let required = required_permission(config, command);
    (invoker.permission < required && !allow_listed(config, invoker, name))
        .then(|| reply::permission_refused(format!("{}{name}", config.prefix), required))
}

/// Whether the invoker may use at least one form of a command word (for `help`).
pub fn may_use_word(config: &CommandsConfig, invoker: &Invoker, name: &str) -> bool {
    let Some(spec) = commands::spec_of(name) else {
        return false;
    };
    let min = config
        .permissions
        .get(spec.name)
        .map_or(spec.min_permission, |level| (*level).into());
    invoker.permission >= min || allow_listed(config, invoker, spec.name)
}

/// Cooldown bookkeeping: when each command word, and each user's use of it, was last admitted.
#[derive(Debug, Default)]
pub struct Cooldowns {
    last: Mutex<CooldownState>,
}

#[derive(Debug, Default)]
struct CooldownState {
    by_command: HashMap<&'static str, Instant>,
    by_user: HashMap<(&'static str, String), Instant>,
    /// When a refusal or usage answer for each command word was last posted.
    refusal_by_command: HashMap<&'static str, Instant>,
    /// When a refusal or usage answer to each user (`surface:id`) was last posted.
    refusal_by_user: HashMap<String, Instant>,
}

/// Whether no cooldown holds `invoker` back for `name`: the exempt levels and allow-listed users.
fn exempt(config: &CommandsConfig, invoker: &Invoker, name: &str) -> bool {
    invoker.permission >= config.cooldowns.exempt.into() || allow_listed(config, invoker, name)
}

/// The most users whose last refusal is remembered; beyond it, those whose cooldown is over
/// are forgotten (a raid of throwaway accounts cannot grow the map without bound).
pub const REFUSAL_USERS_MAX: usize = 10_000;

impl Cooldowns {
    /// Admit the invocation or say how long to wait. Admission records the use (check and record
    /// happen under one lock, so a burst cannot slip through).
    fn admit(
        &self,
        config: &CommandsConfig,
        invoker: &Invoker,
        name: &'static str,
    ) -> Result<(), Duration> {
        if exempt(config, invoker, name) {
            return Ok(());
        }
        let cooldowns = &config.cooldowns;
        let over = cooldowns.overrides.get(name);
        let per_command = over.and_then(|o| o.command).unwrap_or(cooldowns.command);
        let per_user = over.and_then(|o| o.user).unwrap_or(cooldowns.user);
        let now = Instant::now();
        let mut state = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let user_key = (name, invoker.key());
        let wait_command = state.by_command.get(name).map_or(Duration::ZERO, |t| {
            (*t + per_command).saturating_duration_since(now)
        });
        let wait_user = state.by_user.get(&user_key).map_or(Duration::ZERO, |t| {
            (*t + per_user).saturating_duration_since(now)
        });
        let wait = wait_command.max(wait_user);
        if !wait.is_zero() {
            return Err(wait);
        }
        state.by_command.insert(name, now);
        state.by_user.insert(user_key, now);
        Ok(())
    }

    /// Whether a refusal or usage answer for `name` to `invoker` may be posted now (and if so,
    /// record it). Exempt levels and allow-listed users are always answered.
    fn admit_refusal(
        &self,
        config: &CommandsConfig,
        invoker: &Invoker,
        name: &'static str,
    ) -> bool {
        if exempt(config, invoker, name) {
            return true;
        }
        let window = config.cooldowns.refusal;
        let now = Instant::now();
        let cooling = |last: Option<&Instant>| last.is_some_and(|t| now < *t + window);
        let mut state = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let key = invoker.key();
        if cooling(state.refusal_by_command.get(name)) || cooling(state.refusal_by_user.get(&key)) {
            return false;
        }
        if state.refusal_by_user.len() >= REFUSAL_USERS_MAX {
            state.refusal_by_user.retain(|_, t| now < *t + window);
        }
        state.refusal_by_command.insert(name, now);
        state.refusal_by_user.insert(key, now);
        true
    }
}

/// Whether a refusal or usage answer (`reply`, for command word `name`) should be posted in a
/// public chat. Other answers always are. A refusal that is not posted is still a refusal: the
/// command did not run.
pub fn answer_refusal(ctx: &Context, invoker: &Invoker, name: &'static str, reply: &Reply) -> bool {
    if !matches!(reply.outcome, Outcome::Refused | Outcome::Usage) {
        return true;
    }
    ctx.cooldowns
        .admit_refusal(&ctx.config.commands, invoker, name)
}

/// The refusal of a private command in a public chat.
fn private_refused(command: &Command, prefix: &str) -> Reply {
    if let Command::Restream(commands::restream::RestreamCommand::Add(..)) = command {
        // Says more: the key may already be out.
        return Reply::new(keys::RESTREAM_ADD_PUBLIC).with_outcome(Outcome::Refused);
    }
    Reply::new(keys::ERROR_PRIVATE)
        .arg("command", format!("{prefix}{}", command.name()))
        .with_outcome(Outcome::Refused)
}

/// Run one invocation to its reply. Never fails: errors become localised replies.
pub async fn dispatch(ctx: &Context, invocation: Invocation) -> Reply {
    let Invocation {
        command,
        invoker,
        progress,
        ..
    } = invocation;
    let name = command.name();
    let config = &ctx.config.commands;
    let reply = if let Some(refusal) = permission_refusal(config, &invoker, &command) {
        refusal
    } else if matches!(invoker.surface, Surface::Twitch | Surface::Kick) && command.is_private() {
        private_refused(&command, &config.prefix)
    } else if let Err(wait) = ctx.cooldowns.admit(config, &invoker, name) {
        Reply::new(keys::ERROR_COOLDOWN)
            .arg("command", format!("{}{name}", config.prefix))
            .number("seconds", wait.as_secs_f64().ceil())
            .with_outcome(Outcome::Cooldown)
    } else if let Some(feature) = command.feature().filter(|f| !ctx.config.enabled(*f)) {
        // After the cooldown: a viewer repeating a command of a feature that is off gets one
        // answer per cooldown, like any other.
        Reply::not_enabled(feature)
    } else {
        match run(ctx, &invoker, command, &progress).await {
            Ok(reply) => reply,
            Err(error) => match error.downcast::<UserError>() {
                Ok(user) => user.reply,
                Err(error) => {
                    tracing::error!(
                        command = name,
                        error = format!("{error:#}"),
                        "command failed"
                    );
                    Reply::internal_error()
                }
            },
        }
    };
    tracing::info!(
        surface = %invoker.surface,
        user_id = %invoker.user_id,
        command = name,
        outcome = ?reply.outcome,
        "command"
    );
    // Nobody listening is fine.
    let _ = ctx.events.send(Event::CommandHandled {
        surface: invoker.surface,
        user_id: invoker.user_id,
        command: name,
        outcome: reply.outcome,
    });
    reply
}

/// [`dispatch`] in its own task, so a panicking handler is logged and answered instead of taking
/// the surface down.
pub async fn dispatch_isolated(ctx: Arc<Context>, invocation: Invocation) -> Reply {
    let name = invocation.command.name();
    let task_ctx = ctx.clone();
    match tokio::spawn(async move { dispatch(&task_ctx, invocation).await }).await {
        Ok(reply) => reply,
        Err(error) => {
            if error.is_panic() {
                tracing::error!(command = name, "command handler panicked");
            }
            Reply::internal_error()
        }
    }
}

/// The peer of a configured feature. [`dispatch`] has already answered "not enabled" when the
/// feature's section is missing, and the wiring builds a peer for every configured section: a
/// missing one here is a wiring bug, answered as an internal error.
fn peer<T>(slot: &Option<T>, feature: Feature) -> anyhow::Result<&T> {
    slot.as_ref()
        .ok_or_else(|| anyhow::anyhow!("{} is configured but has no peer", feature.name()))
}

/// The one exhaustive match: every command variant reaches its feature's handler with its peer.
async fn run(
    ctx: &Context,
    invoker: &Invoker,
    command: Command,
    progress: &Progress,
) -> anyhow::Result<Reply> {
    use handlers::*;
    match command {
        Command::Obs(cmd) => {
            obs::handle_command(ctx, peer(&ctx.obs, Feature::Obs)?, invoker, cmd).await
        }
        Command::Guard(cmd) => {
            guard::handle_command(ctx, peer(&ctx.guard, Feature::Guard)?, invoker, cmd).await
        }
        Command::Twitch(cmd) => {
            twitch::handle_command(ctx, peer(&ctx.twitch, Feature::Twitch)?, invoker, cmd).await
        }
        Command::Restream(cmd) => {
            let restream = peer(&ctx.restream, Feature::Restream)?;
            restream::handle_command(ctx, restream, invoker, cmd, progress).await
        }
        Command::Power(cmd) => {
            let power = peer(&ctx.power, Feature::Power)?;
            power::handle_command(ctx, power, invoker, cmd, progress).await
        }
        Command::Services(cmd) => {
            let services = peer(&ctx.services, Feature::Services)?;
            services::handle_command(ctx, services, invoker, cmd, progress).await
        }
        Command::Overlay(cmd) => {
            overlay::handle_command(ctx, peer(&ctx.alerts, Feature::Overlay)?, invoker, cmd).await
        }
        Command::Web(cmd) => {
            web::handle_command(ctx, peer(&ctx.bans, Feature::Web)?, invoker, cmd).await
        }
        Command::Discord(cmd) => discord::handle_command(ctx, invoker, cmd).await,
        Command::Meta(cmd) => meta::handle_command(ctx, invoker, cmd).await,
    }
}
