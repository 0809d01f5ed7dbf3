//! Interactions → invocations → answers.
//!
//! A slash command or a button becomes a command line (`tree` / `panel` say which), parsed by the
//! vocabulary and run through dispatch with the member's level. The answer is sent at once when
//! dispatch is quick; otherwise the interaction is deferred (Discord allows 3 s) and the answer,
//! and any progress of a long action, edits it. Refusals, usage errors and private commands are
//! ephemeral; buttons always answer ephemerally (the panel itself shows the result). A
//! confirmation (`ask:` button) is only shown to a member who may run its command.
//!
//! **Private answers** ([`commands::Command::answered_privately`]: logs, addresses, bans,
//! restream endpoints, services) are ephemeral, or, with `discord.private_channel`, posted there
//! with an ephemeral pointer.
//!
//! **Autocomplete needs the command's level.** A suggestion costs a Helix search with the
//! broadcaster's token or shows OBS's scenes, so a member below the command's level gets none
//! and nothing is asked ([`autocomplete`]).

use super::tree::{Completion, Leaf, OptKind};
use super::{Data, Error, MESSAGE_LIMIT, split_lines};
use crate::context::Context;
use crate::dispatch::{self, Invocation, Invoker, Progress, Surface};
use crate::reply::{self, Outcome, Reply, keys};
use commands::Permission;
use poise::serenity_prelude as serenity;
use std::sync::Arc;
use std::time::Duration;

/// Answer within this, or defer (Discord's limit is 3 s). Counted from the interaction's
/// creation at Discord (its snowflake), not from its arrival: a late gateway delivery leaves
/// less time.
pub const DEFER_AFTER: Duration = Duration::from_millis(1500);

/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds: a snowflake's top 42 bits count
/// milliseconds from it.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// How long after its creation at Discord an interaction was received, from its snowflake and
/// this machine's clock, capped to [0, `cap`]: a clock behind Discord's counts as no delay, one
/// far ahead as `cap` (defer at once, which costs only a "thinking…" line).
fn age(id: u64, now: std::time::SystemTime, cap: Duration) -> Duration {
    let created = (id >> 22) + DISCORD_EPOCH_MS;
    let now = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Duration::from_millis(now.saturating_sub(created)).min(cap)
}

/// What is left now of `within`, counted from the interaction's creation at Discord.
fn time_left(id: u64, within: Duration) -> Duration {
    within - age(id, std::time::SystemTime::now(), within)
}

/// The prefix `/` usage lines are shown with.
const SLASH: &str = "/";

/// Where an interaction came from.
pub struct Origin<'a> {
    pub guild_id: Option<serenity::GuildId>,
    pub user: &'a serenity::User,
    pub member: Option<&'a serenity::Member>,
    pub locale: &'a str,
}

impl<'a> Origin<'a> {
    fn of_command(interaction: &'a serenity::CommandInteraction) -> Origin<'a> {
        Origin {
            guild_id: interaction.guild_id,
            user: &interaction.user,
            member: interaction.member.as_deref(),
            locale: &interaction.locale,
        }
    }

    fn of_component(interaction: &'a serenity::ComponentInteraction) -> Origin<'a> {
        Origin {
            guild_id: interaction.guild_id,
            user: &interaction.user,
            member: interaction.member.as_ref(),
            locale: &interaction.locale,
        }
    }
}

/// The invoker, or the refusal for an interaction from another server or a DM.
pub fn invoker(ctx: &Context, origin: &Origin<'_>) -> Result<Invoker, Reply> {
    let Some(config) = &ctx.config.discord else {
        return Err(Reply::not_enabled(commands::Feature::Discord));
    };
    if origin.guild_id.map(|g| g.get()) != Some(config.guild_id) {
        return Err(Reply::new(keys::DISCORD_WRONG_GUILD).with_outcome(Outcome::Refused));
    }
    let user_id = origin.user.id.to_string();
    let by_user = config.users.get(&user_id).copied().map(Permission::from);
    let by_role = origin
        .member
        .into_iter()
        .flat_map(|m| m.roles.iter())
        .filter_map(|role| config.roles.get(&role.to_string()))
        .map(|level| Permission::from(*level))
        .max();
    let permission = by_user
        .into_iter()
        .chain(by_role)
        .max()
        .unwrap_or(Permission::Viewer);
    let display_name = origin
        .member
        .and_then(|m| m.nick.clone())
        .or_else(|| origin.user.global_name.clone())
        .unwrap_or_else(|| origin.user.name.clone());
    Ok(Invoker {
        surface: Surface::Discord,
        user_id,
        display_name,
        permission,
    })
}

/// Options a leaf does not have, or values of the wrong type (a stale or forged interaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadOptions;

/// The command line of a leaf with the given options, and whether `follow` was asked.
pub fn line_of(
    leaf: &Leaf,
    args: &[serenity::ResolvedOption<'_>],
) -> Result<(String, bool), BadOptions> {
    for arg in args {
        if !leaf.options.iter().any(|o| o.name == arg.name) {
            return Err(BadOptions);
        }
    }
    let mut line = leaf.line.to_string();
    let mut follow = false;
    for opt in leaf.options {
        let Some(arg) = args.iter().find(|a| a.name == opt.name) else {
            continue;
        };
        let value = match (opt.kind, &arg.value) {
            (OptKind::Text(_) | OptKind::Complete(..), serenity::ResolvedValue::String(text)) => {
                text.trim().to_string()
            }
            (OptKind::LineCount, serenity::ResolvedValue::Integer(n)) => n.to_string(),
            (OptKind::Choice(words), serenity::ResolvedValue::Integer(i)) => {
                let word = usize::try_from(*i)
                    .ok()
                    .and_then(|i| words.get(i))
                    .ok_or(BadOptions)?;
                (*word).to_string()
            }
            (OptKind::Flag(""), serenity::ResolvedValue::Boolean(on)) => {
                follow = *on;
                continue;
            }
            (OptKind::Flag(word), serenity::ResolvedValue::Boolean(on)) => {
                if !on {
                    continue;
                }
                word.to_string()
            }
            _ => return Err(BadOptions),
        };
        if !value.is_empty() {
            line.push(' ');
            line.push_str(&value);
        }
    }
    Ok((line, follow))
}

/// The slash action of every leaf.
pub fn slash_action(
    actx: poise::ApplicationContext<'_, Data, Error>,
) -> poise::BoxFuture<'_, Result<(), poise::FrameworkError<'_, Data, Error>>> {
    Box::pin(async move {
        run_slash(actx).await;
        Ok(())
    })
}

async fn run_slash(actx: poise::ApplicationContext<'_, Data, Error>) {
    let ctx: &Arc<Context> = actx.data();
    let http = actx.serenity_context().http.clone();
    let interaction = actx.interaction;
    let target = Target::Command(interaction);
    let origin = Origin::of_command(interaction);
    let locale = origin.locale.to_string();
    let qualified = &actx.command().qualified_name;
    let invoker = match invoker(ctx, &origin) {
        Ok(invoker) => invoker,
        Err(refusal) => return target.refuse(ctx, &http, &locale, &refusal).await,
    };
    let Some(leaf) = super::tree::leaf_at(qualified) else {
        return target.refuse(ctx, &http, &locale, &bad_interaction()).await;
    };
    if leaf.word == "panel" {
        // Checked by dispatch like any word; what it posts is Discord's own.
        return super::panel::post_here(ctx, &http, target, invoker, &locale).await;
    }
    let (line, follow) = match line_of(leaf, actx.args) {
        Ok(line) => line,
        Err(BadOptions) => return target.refuse(ctx, &http, &locale, &bad_interaction()).await,
    };
    let reply = run_line(ctx, &http, target, invoker, &locale, &line, leaf.private).await;
    let service = actx.args.iter().find_map(|a| match (a.name, &a.value) {
        ("service", serenity::ResolvedValue::String(s)) => Some(s.trim().to_string()),
        _ => None,
    });
    // Follow only what the user was allowed to read (the same dispatch said yes).
    if follow
        && let (Some(reply), Some(service)) = (reply, service)
        && reply.outcome == Outcome::Done
    {
        super::logs::follow(ctx, &http, target, &locale, &service).await;
    }
}

fn bad_interaction() -> Reply {
    Reply::new(keys::DISCORD_BAD_INTERACTION).with_outcome(Outcome::Usage)
}

/// Parse `line` and run it for `invoker`, answering on `target`. Returns the final reply when
/// the line was a command.
pub async fn run_line(
    ctx: &Arc<Context>,
    http: &serenity::Http,
    target: Target<'_>,
    invoker: Invoker,
    locale: &str,
    line: &str,
    ephemeral: bool,
) -> Option<Reply> {
    let command = match commands::parse(line, "") {
        Some(Ok(command)) => command,
        Some(Err(error)) => {
            let usage = reply::usage(&error, SLASH);
            target.refuse(ctx, http, locale, &usage).await;
            return Some(usage);
        }
        None => {
            target.refuse(ctx, http, locale, &bad_interaction()).await;
            return None;
        }
    };
    let private_data = command.answered_privately();
    let private = ephemeral || private_data;
    let (progress, mut steps) = Progress::channel();
    let invocation = Invocation {
        command,
        invoker,
        locale: locale.to_string(),
        reply_to: None,
        progress,
    };
    let run = dispatch::dispatch_isolated(ctx.clone(), invocation);
    tokio::pin!(run);
    let deadline = tokio::time::sleep(time_left(target.id(), DEFER_AFTER));
    tokio::pin!(deadline);
    let mut responded = false;
    let reply = loop {
        tokio::select! {
            reply = &mut run => break reply,
            Some(step) = steps.recv() => {
                let text = ctx.render(locale, &step);
                let first = split_lines(&text, MESSAGE_LIMIT).swap_remove(0);
                if responded {
                    target.edit(http, &first).await;
                } else {
                    target.respond(http, &first, private).await;
                    responded = true;
                }
            }
            _ = &mut deadline, if !responded => {
                target.defer(http, private).await;
                responded = true;
            }
        }
    };
    let ephemeral = private || is_refusal(reply.outcome);
    let parts = super::logs::messages(ctx, locale, &reply);
    let channel = ctx.config.discord.as_ref().and_then(|d| d.private_channel);
    let parts = match channel {
        Some(channel) if private_data && !is_refusal(reply.outcome) => {
            post_privately(ctx, http, locale, channel, parts).await
        }
        _ => parts,
    };
    target.answer(http, parts, responded, ephemeral).await;
    Some(reply)
}

/// Post `parts` in the private channel; the ephemeral answer then only points there. If the
/// channel cannot be posted to, the parts themselves are the (ephemeral) answer.
async fn post_privately(
    ctx: &Context,
    http: &serenity::Http,
    locale: &str,
    channel: u64,
    parts: Vec<String>,
) -> Vec<String> {
    let channel_id = serenity::ChannelId::new(channel);
    for part in parts
        .iter()
        .flat_map(|part| split_lines(part, MESSAGE_LIMIT))
    {
        let message = serenity::CreateMessage::new()
            .content(part)
            .allowed_mentions(serenity::CreateAllowedMentions::new());
        if let Err(error) = channel_id.send_message(http, message).await {
            tracing::warn!(%error, "posting in the private channel failed; answering ephemerally");
            return parts;
        }
    }
    let pointer = Reply::new(keys::DISCORD_PRIVATE_POSTED).arg("channel", format!("<#{channel}>"));
    vec![ctx.render(locale, &pointer)]
}

fn is_refusal(outcome: Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Refused | Outcome::Cooldown | Outcome::Usage | Outcome::NotEnabled
    )
}

/// Something that can be answered: a slash command or a button click.
#[derive(Clone, Copy)]
pub enum Target<'a> {
    Command(&'a serenity::CommandInteraction),
    Component(&'a serenity::ComponentInteraction),
}

fn message(text: &str, ephemeral: bool) -> serenity::CreateInteractionResponseMessage {
    serenity::CreateInteractionResponseMessage::new()
        .content(text)
        .ephemeral(ephemeral)
        .allowed_mentions(serenity::CreateAllowedMentions::new())
}

impl Target<'_> {
    /// The interaction's id (a snowflake: it carries its creation time).
    pub fn id(&self) -> u64 {
        match self {
            Target::Command(i) => i.id.get(),
            Target::Component(i) => i.id.get(),
        }
    }

    async fn create(&self, http: &serenity::Http, response: serenity::CreateInteractionResponse) {
        let result = match self {
            Target::Command(i) => i.create_response(http, response).await,
            Target::Component(i) => i.create_response(http, response).await,
        };
        if let Err(error) = result {
            tracing::warn!(%error, "answering a Discord interaction failed");
        }
    }

    /// The first answer.
    pub async fn respond(&self, http: &serenity::Http, text: &str, ephemeral: bool) {
        self.create(
            http,
            serenity::CreateInteractionResponse::Message(message(text, ephemeral)),
        )
        .await;
    }

    /// The first answer, with components (the panel, a confirmation).
    pub async fn respond_with(
        &self,
        http: &serenity::Http,
        text: &str,
        ephemeral: bool,
        components: Vec<serenity::CreateActionRow>,
    ) {
        self.create(
            http,
            serenity::CreateInteractionResponse::Message(
                message(text, ephemeral).components(components),
            ),
        )
        .await;
    }

    /// "Thinking…": the answer follows by [`Target::edit`].
    pub async fn defer(&self, http: &serenity::Http, ephemeral: bool) {
        self.create(
            http,
            serenity::CreateInteractionResponse::Defer(
                serenity::CreateInteractionResponseMessage::new().ephemeral(ephemeral),
            ),
        )
        .await;
    }

    /// Replace the answer's text.
    pub async fn edit(&self, http: &serenity::Http, text: &str) {
        let edit = serenity::EditInteractionResponse::new()
            .content(text)
            .allowed_mentions(serenity::CreateAllowedMentions::new());
        let result = match self {
            Target::Command(i) => i.edit_response(http, edit).await,
            Target::Component(i) => i.edit_response(http, edit).await,
        };
        if let Err(error) = result {
            tracing::warn!(%error, "editing a Discord answer failed");
        }
    }

    /// Another message after the answer.
    pub async fn followup(&self, http: &serenity::Http, text: &str, ephemeral: bool) {
        let followup = serenity::CreateInteractionResponseFollowup::new()
            .content(text)
            .ephemeral(ephemeral)
            .allowed_mentions(serenity::CreateAllowedMentions::new());
        let result = match self {
            Target::Command(i) => i.create_followup(http, followup).await,
            Target::Component(i) => i.create_followup(http, followup).await,
        };
        if let Err(error) = result {
            tracing::warn!(%error, "a Discord follow-up failed");
        }
    }

    /// An ephemeral follow-up message whose id is kept for [`Target::edit_followup`].
    pub async fn followup_message(
        &self,
        http: &serenity::Http,
        text: &str,
    ) -> Option<serenity::MessageId> {
        let followup = serenity::CreateInteractionResponseFollowup::new()
            .content(text)
            .ephemeral(true)
            .allowed_mentions(serenity::CreateAllowedMentions::new());
        let result = match self {
            Target::Command(i) => i.create_followup(http, followup).await,
            Target::Component(i) => i.create_followup(http, followup).await,
        };
        result
            .map_err(|error| tracing::warn!(%error, "a Discord follow-up failed"))
            .ok()
            .map(|m| m.id)
    }

    /// Replace a follow-up message's text.
    pub async fn edit_followup(&self, http: &serenity::Http, id: serenity::MessageId, text: &str) {
        let edit = serenity::CreateInteractionResponseFollowup::new()
            .content(text)
            .allowed_mentions(serenity::CreateAllowedMentions::new());
        let result = match self {
            Target::Command(i) => i.edit_followup(http, id, edit).await,
            Target::Component(i) => i.edit_followup(http, id, edit).await,
        };
        if let Err(error) = result {
            tracing::warn!(%error, "editing a Discord follow-up failed");
        }
    }

    /// The final answer, each part under Discord's limit: the first answers (or edits the
    /// deferred answer), the rest follow.
    pub async fn answer(
        &self,
        http: &serenity::Http,
        parts: Vec<String>,
        responded: bool,
        ephemeral: bool,
    ) {
        let mut parts = parts
            .iter()
            .flat_map(|part| split_lines(part, MESSAGE_LIMIT))
            .collect::<Vec<_>>()
            .into_iter();
        let first = parts.next().unwrap_or_default();
        if responded {
            self.edit(http, &first).await;
        } else {
            self.respond(http, &first, ephemeral).await;
        }
        for part in parts {
            self.followup(http, &part, ephemeral).await;
        }
    }

    /// An ephemeral refusal.
    pub async fn refuse(&self, ctx: &Context, http: &serenity::Http, locale: &str, reply: &Reply) {
        self.respond(http, &ctx.render(locale, reply), true).await;
    }
}

/// Suggestions for a focused option. Nothing for other servers; junk input finds nothing.
pub async fn autocomplete(
    actx: poise::ApplicationContext<'_, Data, Error>,
    partial: &str,
    source: Completion,
) -> serenity::CreateAutocompleteResponse {
    let ctx: &Arc<Context> = actx.data();
    let origin = Origin::of_command(actx.interaction);
    let mut response = serenity::CreateAutocompleteResponse::new();
    let Ok(invoker) = invoker(ctx, &origin) else {
        return response;
    };
    // The level of the command being typed, before anything is asked of Helix or OBS.
    let word = super::tree::leaf_at(&actx.command().qualified_name).map(|leaf| leaf.word);
    let allowed =
        word.is_some_and(|word| dispatch::may_use_word(&ctx.config.commands, &invoker, word));
    if !allowed {
        return response;
    }
    // Discord waits 3 s from the interaction's creation for suggestions; keep 1 s for the answer.
    let budget = time_left(actx.interaction.id.get(), SUGGEST_WITHIN);
    for name in suggestions(ctx, partial, source, budget).await {
        response = response.add_string_choice(name.clone(), name);
    }
    response
}

/// The longest an autocomplete waits for suggestions, from the interaction's creation.
const SUGGEST_WITHIN: Duration = Duration::from_secs(2);

/// Up to 25 names containing `partial` (case-insensitive), each at most 100 characters;
/// category searches give up after `budget`.
pub async fn suggestions(
    ctx: &Context,
    partial: &str,
    source: Completion,
    budget: Duration,
) -> Vec<String> {
    let partial: String = partial.trim().chars().take(100).collect();
    let wanted = partial.to_lowercase();
    let candidates: Vec<String> = match source {
        // Only the scenes `scene` may switch to.
        Completion::Scene => ctx
            .obs
            .as_ref()
            .map(|obs| obs.switchable_scenes())
            .unwrap_or_default(),
        // Only the configured inputs and sources: nothing else is reached, or named.
        Completion::Input => ctx
            .config
            .obs
            .as_ref()
            .map(|obs| obs.audio_inputs.clone())
            .unwrap_or_default(),
        Completion::Source => ctx
            .config
            .obs
            .as_ref()
            .map(|obs| obs.sources.iter().map(|s| s.name.clone()).collect())
            .unwrap_or_default(),
        Completion::CommandWord => commands::Command::NAMES
            .iter()
            .map(|n| n.to_string())
            .collect(),
        Completion::Category => {
            let Some(twitch) = &ctx.twitch else {
                return Vec::new();
            };
            if partial.chars().count() < 2 {
                return Vec::new();
            }
            let search = crate::twitch::search_categories(twitch, &partial);
            match tokio::time::timeout(budget, search).await {
                Ok(Ok(found)) => found.into_iter().map(|(_, name)| name).collect(),
                Ok(Err(error)) => {
                    tracing::debug!(%error, "category search for autocomplete failed");
                    Vec::new()
                }
                Err(_) => Vec::new(),
            }
        }
    };
    candidates
        .into_iter()
        .filter(|name| source == Completion::Category || name.to_lowercase().contains(&wanted))
        .filter(|name| !name.is_empty() && name.chars().count() <= 100)
        .take(25)
        .collect()
}

/// A button click (from the panel or a confirmation).
pub async fn on_component(
    ctx: Arc<Context>,
    http: Arc<serenity::Http>,
    component: serenity::ComponentInteraction,
) {
    let target = Target::Component(&component);
    let origin = Origin::of_component(&component);
    let locale = origin.locale.to_string();
    let invoker = match invoker(&ctx, &origin) {
        Ok(invoker) => invoker,
        Err(refusal) => return target.refuse(&ctx, &http, &locale, &refusal).await,
    };
    match super::panel::Action::parse(&component.data.custom_id) {
        Some(super::panel::Action::Run(line)) => {
            run_line(&ctx, &http, target, invoker, &locale, line, true).await;
        }
        Some(super::panel::Action::Confirm(line)) => {
            // Only someone who may run the line is asked whether to run it: a member below its
            // level gets the refusal now, not a "Yes" button that is refused when pressed.
            let refusal = match commands::parse(line, "") {
                Some(Ok(command)) => {
                    dispatch::permission_refusal(&ctx.config.commands, &invoker, &command)
                }
                _ => Some(bad_interaction()),
            };
            match refusal {
                Some(refusal) => target.refuse(&ctx, &http, &locale, &refusal).await,
                None => super::panel::confirm(&ctx, &http, target, &locale, line).await,
            }
        }
        None => {
            target
                .refuse(&ctx, &http, &locale, &bad_interaction())
                .await
        }
    }
}

/// Errors poise reports instead of running the action (a command Discord knows and we do not,
/// arguments of the wrong shape): an ephemeral answer, never a crash.
pub async fn on_error(error: poise::FrameworkError<'_, Data, Error>) {
    match error {
        poise::FrameworkError::UnknownInteraction {
            framework,
            interaction,
            ..
        } => {
            let ctx = framework.user_data;
            let text = ctx.render(&interaction.locale, &bad_interaction());
            let http = &framework.serenity_context.http;
            Target::Command(interaction)
                .respond(http, &text, true)
                .await;
        }
        other => {
            tracing::warn!(error = %other, "Discord interaction failed");
            if let Some(pctx) = other.ctx() {
                let ctx: &Arc<Context> = pctx.data();
                let text = ctx.render(pctx.locale().unwrap_or("en-US"), &bad_interaction());
                let _ = pctx
                    .send(poise::CreateReply::default().content(text).ephemeral(true))
                    .await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    fn snowflake_at(unix_ms: u64) -> u64 {
        (unix_ms - DISCORD_EPOCH_MS) << 22 | 7
    }

    #[test]
    fn the_age_comes_from_the_snowflake_and_is_capped() {
        let now = UNIX_EPOCH + Duration::from_millis(1_764_900_000_000);
        let cap = Duration::from_millis(1500);
        let at = |ms_ago: u64| snowflake_at(1_764_900_000_000 - ms_ago);
        assert_eq!(age(at(400), now, cap), Duration::from_millis(400));
        assert_eq!(age(at(9_000), now, cap), cap, "delivered late");
        // Created "after" now: this machine's clock is behind Discord's.
        assert_eq!(
            age(snowflake_at(1_764_900_000_900), now, cap),
            Duration::ZERO
        );
        assert!(
            age(at(0), SystemTime::now(), cap) == cap,
            "a clock far ahead"
        );
    }
}
