//! The `commands` section: prefix, aliases, permissions, allow lists and cooldowns.

use super::values::{duration, entries, optional_duration};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandsConfig {
    /// What chat commands start with.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Extra command words: alias → command line (e.g. `"b": "brb"`, `"cam2": "scene Camera 2"`).
    /// Kept as a list of entries so duplicates can be reported.
    #[serde(default, deserialize_with = "entries")]
    pub aliases: Vec<(String, String)>,
    /// Per command word: the lowest level that may use every form of it.
    #[serde(default)]
    pub permissions: BTreeMap<String, Level>,
    /// Per command word: users allowed regardless of level, as `"twitch:<user id>"` or
    /// `"discord:<user id>"`.
    #[serde(default)]
    pub allow: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub cooldowns: CooldownsConfig,
}

impl Default for CommandsConfig {
    fn default() -> Self {
        CommandsConfig {
            prefix: default_prefix(),
            aliases: Vec::new(),
            permissions: BTreeMap::new(),
            allow: BTreeMap::new(),
            cooldowns: CooldownsConfig::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CooldownsConfig {
    /// After a command runs, nobody can run it again for this long.
    #[serde(default = "default_command_cooldown", deserialize_with = "duration")]
    pub command: Duration,
    /// After a user runs a command, that user cannot run it again for this long.
    #[serde(default = "default_user_cooldown", deserialize_with = "duration")]
    pub user: Duration,
    /// After a refusal or a usage answer is posted in a public chat, further refusals and usage
    /// answers for the same command word, and for the same user, are not posted for this long
    /// (the command is still refused): a crowd spamming `!start` gets a few answers a minute.
    #[serde(default = "default_refusal_cooldown", deserialize_with = "duration")]
    pub refusal: Duration,
    /// This level and above are never held back by a cooldown.
    #[serde(default = "default_exempt")]
    pub exempt: Level,
    /// Per command word.
    #[serde(default)]
    pub overrides: BTreeMap<String, CooldownOverride>,
}

impl Default for CooldownsConfig {
    fn default() -> Self {
        CooldownsConfig {
            command: default_command_cooldown(),
            user: default_user_cooldown(),
            refusal: default_refusal_cooldown(),
            exempt: default_exempt(),
            overrides: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CooldownOverride {
    #[serde(default, deserialize_with = "optional_duration")]
    pub command: Option<Duration>,
    #[serde(default, deserialize_with = "optional_duration")]
    pub user: Option<Duration>,
}

/// A permission level as written in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Level {
    Viewer,
    Vip,
    Moderator,
    Admin,
    Broadcaster,
}

impl From<Level> for commands::Permission {
    fn from(level: Level) -> Self {
        match level {
            Level::Viewer => commands::Permission::Viewer,
            Level::Vip => commands::Permission::Vip,
            Level::Moderator => commands::Permission::Moderator,
            Level::Admin => commands::Permission::Admin,
            Level::Broadcaster => commands::Permission::Broadcaster,
        }
    }
}

pub(super) fn default_prefix() -> String {
    "!".into()
}

pub(super) fn default_command_cooldown() -> Duration {
    Duration::from_secs(3)
}

pub(super) fn default_user_cooldown() -> Duration {
    Duration::from_secs(10)
}

pub(super) fn default_refusal_cooldown() -> Duration {
    Duration::from_secs(30)
}

pub(super) fn default_exempt() -> Level {
    Level::Moderator
}

/// An allow-list entry: `"twitch:<user id>"` or `"discord:<user id>"`, the id 1–32 of `A-Z a-z
/// 0-9 _` (what dispatch's `Invoker::key` gives for such a user).
pub(super) fn valid_user_key(key: &str) -> bool {
    let Some((surface, id)) = key.split_once(':') else {
        return false;
    };
    matches!(surface, "twitch" | "discord")
        && !id.is_empty()
        && id.len() <= 32
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A key of `permissions`, `allow` or `overrides` must be a command word exactly as listed
/// (dispatch looks it up by that name).
pub(super) fn command_word_problem(word: &str) -> Option<String> {
    match commands::spec_of(word) {
        None => Some(unknown_command(word)),
        Some(spec) if spec.name != word => {
            Some(format!("write the command word as `{}`", spec.name))
        }
        Some(_) => None,
    }
}

/// "`x` is not a command", with the closest command word when one is near.
pub(super) fn unknown_command(word: &str) -> String {
    let closest = commands::Command::NAMES
        .iter()
        .map(|name| (strsim::levenshtein(&word.to_lowercase(), name), *name))
        .min();
    match closest {
        Some((distance, name)) if distance <= 2 => {
            format!("`{word}` is not a command; did you mean `{name}`?")
        }
        _ => format!("`{word}` is not a command (see `help`)"),
    }
}

/// The prefix, aliases (one word, not a command, pointing at one), and the command words that
/// `permissions`, `allow` and `cooldowns.overrides` name.
pub(super) fn validate_commands(
    commands: &CommandsConfig,
    problem: &mut impl FnMut(String, String),
) {
    let prefix = &commands.prefix;
    if prefix.is_empty() || prefix.chars().count() > 8 || prefix.chars().any(char::is_whitespace) {
        problem(
            "commands.prefix".into(),
            "must be 1 to 8 characters without spaces, e.g. \"!\"".into(),
        );
    }
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (alias, target) in &commands.aliases {
        let path = format!("commands.aliases[{alias:?}]");
        let word = alias.to_lowercase();
        if word.is_empty() || word.chars().any(|c| c.is_whitespace() || c.is_control()) {
            problem(path, "an alias is one word without spaces".into());
            continue;
        }
        if commands::spec_of(&word).is_some() {
            problem(
                path,
                format!("`{alias}` is already a command; an alias cannot replace it"),
            );
            continue;
        }
        if let Some(first) = seen.insert(word, alias) {
            problem(path, format!("duplicate alias (`{first}` is defined too)"));
            continue;
        }
        let target_word = target
            .trim()
            .strip_prefix(prefix.as_str())
            .unwrap_or(target.trim())
            .split_whitespace()
            .next()
            .unwrap_or("");
        if commands::spec_of(target_word).is_none() {
            problem(path, unknown_command(target_word));
        }
    }
    for name in commands.permissions.keys() {
        if let Some(message) = command_word_problem(name) {
            problem(format!("commands.permissions[{name:?}]"), message);
        }
    }
    for (name, users) in &commands.allow {
        if let Some(message) = command_word_problem(name) {
            problem(format!("commands.allow[{name:?}]"), message);
        }
        for (i, user) in users.iter().enumerate() {
            if !valid_user_key(user) {
                problem(
                    format!("commands.allow[{name:?}][{i}]"),
                    format!("`{user}` is not \"twitch:<user id>\" or \"discord:<user id>\""),
                );
            }
        }
    }
    for name in commands.cooldowns.overrides.keys() {
        if let Some(message) = command_word_problem(name) {
            problem(format!("commands.cooldowns.overrides[{name:?}]"), message);
        }
    }
}
