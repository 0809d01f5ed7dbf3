//! The server's slash commands, sent only when they changed.
//!
//! At every start the registered commands are read (with their localisations) and compared with
//! the tree in a normal form (only the fields both sides carry, defaults dropped). Equal: nothing
//! is sent, so a restart does not make Discord clients reload the command list.
//!
//! Discord answers with a normalised form of what was sent: ids, `version`, `application_id`,
//! `guild_id`, `default_member_permissions: null`, `type: 1`, `nsfw: false`, localisation maps
//! `null` when absent (on commands, options and choices), `required` only when true, and for a
//! guild command `contexts: null` and `integration_types: [0]` whatever was sent (both are "only
//! for globally-scoped commands":
//! https://docs.discord.com/developers/interactions/application-commands). The normal form
//! drops exactly those differences and keeps everything a user can see.

use super::{Data, Error};
use anyhow::Context as _;
use poise::serenity_prelude as serenity;
use serde_json::{Map, Value};

/// What registering `commands` sends.
pub fn wanted(commands: &[poise::Command<Data, Error>]) -> Vec<serenity::CreateCommand> {
    poise::builtins::create_application_commands(commands)
}

/// Register `wanted` (see [`wanted`]) in `guild` if it differs from what Discord has. Returns
/// whether it was sent.
pub async fn sync(
    http: &serenity::Http,
    guild: serenity::GuildId,
    wanted: Vec<serenity::CreateCommand>,
) -> anyhow::Result<bool> {
    let wanted_json = serde_json::to_value(&wanted).context("serialising the commands")?;
    let existing = http
        .get_guild_commands_with_localizations(guild)
        .await
        .context("reading the server's commands")?;
    let existing_json = serde_json::to_value(&existing).context("reading the server's commands")?;
    if normal_form(&wanted_json) == normal_form(&existing_json) {
        tracing::info!(commands = wanted.len(), "Discord commands unchanged");
        return Ok(false);
    }
    guild
        .set_commands(http, wanted)
        .await
        .context("registering the commands in the server")?;
    tracing::info!("Discord commands registered");
    Ok(true)
}

/// Fields that describe a guild command (the rest are ids and versions, and `contexts`,
/// `integration_types` and `dm_permission`, which Discord ignores for guild commands).
const COMMAND_FIELDS: &[&str] = &[
    "name",
    "name_localizations",
    "description",
    "description_localizations",
    "options",
    "default_member_permissions",
    "type",
    "nsfw",
];
const OPTION_FIELDS: &[&str] = &[
    "type",
    "name",
    "name_localizations",
    "description",
    "description_localizations",
    "required",
    "choices",
    "options",
    "channel_types",
    "min_value",
    "max_value",
    "min_length",
    "max_length",
    "autocomplete",
];
const CHOICE_FIELDS: &[&str] = &["name", "name_localizations", "value"];

/// A list of commands, sorted by name, each reduced to [`COMMAND_FIELDS`].
pub fn normal_form(commands: &Value) -> Value {
    let mut list: Vec<Value> = commands
        .as_array()
        .map(|a| a.iter().map(|c| reduce(c, COMMAND_FIELDS)).collect())
        .unwrap_or_default();
    list.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    Value::Array(list)
}

fn reduce(value: &Value, fields: &[&str]) -> Value {
    let Some(object) = value.as_object() else {
        return value.clone();
    };
    let mut out = Map::new();
    for field in fields {
        let Some(v) = object.get(*field) else {
            continue;
        };
        let v = match *field {
            "options" => Value::Array(
                v.as_array()
                    .map(|a| a.iter().map(|o| reduce(o, OPTION_FIELDS)).collect())
                    .unwrap_or_default(),
            ),
            "choices" => Value::Array(
                v.as_array()
                    .map(|a| a.iter().map(|o| reduce(o, CHOICE_FIELDS)).collect())
                    .unwrap_or_default(),
            ),
            // Discord sends integers as numbers and permissions as strings; both sides agree.
            _ => v.clone(),
        };
        if is_default(field, &v) {
            continue;
        }
        out.insert((*field).to_string(), v);
    }
    Value::Object(out)
}

/// Absent, empty or the default value: the same as not sent.
fn is_default(field: &str, value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        // A chat-input command is type 1 whether sent or not (options always carry theirs,
        // on both sides).
        Value::Number(n) => field == "type" && n.as_u64() == Some(1),
        Value::String(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_versions_and_defaults_do_not_count() {
        let wanted = json!([{"name": "b", "description": "B", "options": [],
            "name_localizations": {}, "nsfw": false},
            {"name": "a", "description": "A", "options": [{"type": 3, "name": "x",
             "description": "X", "required": false, "autocomplete": true}]}]);
        let existing = json!([{"id": "1", "application_id": "2", "version": "3", "name": "a",
            "description": "A", "options": [{"type": 3, "name": "x", "description": "X",
            "autocomplete": true}], "type": 1},
            {"id": "4", "name": "b", "description": "B", "type": 1,
             "name_localizations": null}]);
        assert_eq!(normal_form(&wanted), normal_form(&existing));
        let changed = json!([{"name": "a", "description": "A2", "type": 1}, {"name": "b",
            "description": "B", "type": 1}]);
        assert_ne!(normal_form(&changed), normal_form(&existing));
    }

    #[test]
    fn discords_answer_for_a_guild_command_equals_what_was_sent() {
        // Sent as serenity serialises poise's builder; answered as Discord normalises it.
        let sent = json!([{"name": "guard", "description": "Guard",
            "name_localizations": {"no": "vakt"}, "description_localizations": {"no": "Vakt"},
            "contexts": [0], "options": [{"type": 1, "name": "trigger", "description": "T",
              "options": [{"type": 4, "name": "kind", "description": "K", "required": true,
                "name_localizations": {"no": "type"},
                "choices": [{"name": "low", "value": 0, "name_localizations": {"no": "lav"}},
                            {"name": "rtt", "value": 1, "name_localizations": {}}]},
               {"type": 3, "name": "value", "description": "V", "required": false,
                "max_length": 12, "autocomplete": false, "channel_types": []}]}]}]);
        let answered = json!([{"id": "7", "application_id": "1", "version": "8",
            "default_member_permissions": null, "type": 1, "name": "guard",
            "name_localizations": {"no": "vakt"}, "description": "Guard",
            "description_localizations": {"no": "Vakt"}, "guild_id": "2", "contexts": null,
            "integration_types": [0], "nsfw": false, "options": [{"type": 1, "name": "trigger",
              "name_localizations": null, "description": "T", "description_localizations": null,
              "options": [{"type": 4, "name": "kind", "name_localizations": {"no": "type"},
                "description": "K", "description_localizations": null, "required": true,
                "choices": [{"name": "low", "name_localizations": {"no": "lav"}, "value": 0},
                            {"name": "rtt", "name_localizations": null, "value": 1}]},
               {"type": 3, "name": "value", "name_localizations": null, "description": "V",
                "description_localizations": null, "max_length": 12}]}]}]);
        assert_eq!(normal_form(&sent), normal_form(&answered));
        // What users see still counts: a choice's Norwegian name.
        let mut renamed = answered.clone();
        renamed[0]["options"][0]["options"][0]["choices"][0]["name_localizations"]["no"] =
            json!("lavt");
        assert_ne!(normal_form(&sent), normal_form(&renamed));
    }
}
