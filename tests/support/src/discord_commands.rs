//! Discord's rules for application commands, as the fake Discord (`fake_discord.rs`) applies them
//! to `PUT /applications/{app}/guilds/{guild}/commands`: what it refuses (HTTP 400, code 50035
//! "Invalid Form Body", the problems under `errors` at the JSON path of the bad field, each as
//! `{"_errors": [{"code", "message"}]}`), and the normalised objects it answers with.
//!
//! Sources (each rule below names its own):
//! - DOCS = https://docs.discord.com/developers/interactions/application-commands (naming,
//!   command/option/choice structures, subcommand nesting, required-before-optional)
//! - LOCALES = https://discord.com/developers/docs/reference#locales
//! - error shapes seen from the real API: https://github.com/kordlib/kord/pull/594 (bad locale key:
//!   `BASE_TYPE_CHOICES`), https://github.com/discord-tickets/bot/issues/383 (too long localised
//!   name: `BASE_TYPE_BAD_LENGTH`), https://github.com/Garlic-Team/gcommands/issues/295 (bad name:
//!   `APPLICATION_COMMAND_INVALID_NAME`), https://github.com/discord/discord-api-docs/issues/1313
//!   (the 50035 body)
//! - limits of 25 options/choices and 100 guild commands:
//!   https://docs.discordnet.dev/guides/int_basics/application-commands/slash-commands/subcommands.html
//!   and https://docs.rs/twilight-validate/latest/twilight_validate/command/index.html
//!   (`GUILD_COMMAND_LIMIT` = 100, `OPTIONS_LIMIT` = 25, `CHOICES_LIMIT` = 25)

#![allow(dead_code)]

use serde_json::{Map, Value, json};

/// Discord's locale codes (LOCALES). Norwegian is `no`; `nb-NO` is not one of them.
pub const LOCALES: &[&str] = &[
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl",
    "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi", "th",
    "zh-CN", "ja", "zh-TW", "ko",
];

/// At most 100 commands per guild (twilight-validate `GUILD_COMMAND_LIMIT`).
pub const MAX_GUILD_COMMANDS: usize = 100;
/// At most 25 options per command or subcommand, and 25 choices per option (DOCS: "options? …
/// max of 25", "choices? … max 25"; discordnet guide).
pub const MAX_OPTIONS: usize = 25;
pub const MAX_CHOICES: usize = 25;

const SUB_COMMAND: u64 = 1;
const SUB_COMMAND_GROUP: u64 = 2;
const STRING: u64 = 3;
const INTEGER: u64 = 4;
const NUMBER: u64 = 10;

/// Whether `name` is a valid CHAT_INPUT command or option name (DOCS "Application Command
/// Naming"): it matches `^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$` (the docs' current
/// pattern; older versions had no `'`), and uses the lowercase variant of every letter that has
/// one. Without a regex engine: `char::is_alphabetic` stands for `\p{L}` (it also admits `Nl` and
/// some combining marks, which only makes the fake a little more lenient), `char::is_numeric` is
/// exactly `\p{N}`, and the Devanagari and Thai blocks stand for the two scripts.
pub fn valid_name(name: &str) -> bool {
    let count = name.chars().count();
    (1..=32).contains(&count)
        && name.chars().all(|c| {
            let allowed = matches!(c, '-' | '_' | '\'')
                || c.is_alphabetic()
                || c.is_numeric()
                || is_devanagari(c)
                || is_thai(c);
            let lowercase = c.to_lowercase().eq(std::iter::once(c));
            allowed && lowercase
        })
}

fn is_devanagari(c: char) -> bool {
    matches!(c, '\u{0900}'..='\u{097F}' | '\u{A8E0}'..='\u{A8FF}' | '\u{11B00}'..='\u{11B5F}')
}

fn is_thai(c: char) -> bool {
    matches!(c, '\u{0E00}'..='\u{0E7F}')
}

/// The problems found, nested as Discord nests them under `errors`.
#[derive(Default)]
struct Errors {
    root: Map<String, Value>,
}

impl Errors {
    fn add(&mut self, path: &[String], code: &str, message: &str) {
        let mut node = &mut self.root;
        for key in path {
            let child = node
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            let Value::Object(map) = child else {
                return;
            };
            node = map;
        }
        let list = node
            .entry("_errors".to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = list {
            list.push(json!({"code": code, "message": message}));
        }
    }
}

fn at(path: &[String], key: impl ToString) -> Vec<String> {
    let mut out = path.to_vec();
    out.push(key.to_string());
    out
}

/// Discord's answer to a refused body: 400 with this JSON.
pub fn invalid_form_body(errors: Value) -> Value {
    json!({"code": 50035, "message": "Invalid Form Body", "errors": errors})
}

/// Check a `PUT …/commands` body (an array of commands). `Err` holds the `errors` object.
pub fn validate_commands(body: &Value) -> Result<(), Value> {
    let mut errors = Errors::default();
    match body.as_array() {
        None => errors.add(&[], "BASE_TYPE_ARRAY", "Must be an array."),
        Some(commands) => {
            if commands.len() > MAX_GUILD_COMMANDS {
                errors.add(
                    &[],
                    "BASE_TYPE_MAX_LENGTH",
                    &format!("Must be {MAX_GUILD_COMMANDS} or fewer in length."),
                );
            }
            for (i, command) in commands.iter().enumerate() {
                command_rules(command, &[i.to_string()], &mut errors);
            }
            // DOCS: a name is unique per application and command type (in a guild).
            let names: Vec<(u64, &str)> = commands
                .iter()
                .map(|c| {
                    (
                        c["type"].as_u64().unwrap_or(1),
                        c["name"].as_str().unwrap_or(""),
                    )
                })
                .collect();
            for (i, name) in names.iter().enumerate() {
                if names[..i].contains(name) {
                    errors.add(
                        &[i.to_string(), "name".into()],
                        "APPLICATION_COMMANDS_DUPLICATE_NAME",
                        "Application command names must be unique",
                    );
                }
            }
        }
    }
    if errors.root.is_empty() {
        Ok(())
    } else {
        Err(Value::Object(errors.root))
    }
}

fn command_rules(command: &Value, path: &[String], errors: &mut Errors) {
    if !command.is_object() {
        errors.add(
            path,
            "MODEL_TYPE_CONVERT",
            "Only dictionaries may be used in a ModelType",
        );
        return;
    }
    let kind = command["type"].as_u64().unwrap_or(1);
    if kind == 1 {
        name_rules(&command["name"], &at(path, "name"), errors);
        localized_names(
            &command["name_localizations"],
            &at(path, "name_localizations"),
            errors,
        );
        description_rules(&command["description"], &at(path, "description"), errors);
        localized_descriptions(
            &command["description_localizations"],
            &at(path, "description_localizations"),
            errors,
        );
        options_rules(
            &command["options"],
            Level::Command,
            &at(path, "options"),
            errors,
        );
    } else {
        // USER and MESSAGE commands: mixed case and spaces allowed, still 1-32 (DOCS naming).
        length_rule(&command["name"], 1, 32, &at(path, "name"), errors);
    }
}

/// Where an options array sits: what it may hold (DOCS "Subcommands and Subcommand Groups": a
/// command holds either subcommands/groups or plain options, a group holds only subcommands, a
/// subcommand holds only plain options; nesting goes no deeper).
#[derive(Clone, Copy, PartialEq)]
enum Level {
    Command,
    Group,
    Subcommand,
}

fn options_rules(options: &Value, level: Level, path: &[String], errors: &mut Errors) {
    if options.is_null() {
        return;
    }
    let Some(list) = options.as_array() else {
        errors.add(path, "BASE_TYPE_ARRAY", "Must be an array.");
        return;
    };
    if list.len() > MAX_OPTIONS {
        errors.add(
            path,
            "BASE_TYPE_MAX_LENGTH",
            &format!("Must be {MAX_OPTIONS} or fewer in length."),
        );
    }
    let kinds: Vec<u64> = list
        .iter()
        .map(|o| o["type"].as_u64().unwrap_or(0))
        .collect();
    let nested = |k: &u64| *k == SUB_COMMAND || *k == SUB_COMMAND_GROUP;
    let allowed = match level {
        Level::Command => kinds.iter().all(nested) || !kinds.iter().any(nested),
        Level::Group => kinds.iter().all(|k| *k == SUB_COMMAND),
        Level::Subcommand => !kinds.iter().any(nested),
    };
    if !allowed {
        errors.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-command and sub-command group option types are mutually exclusive to all other types",
        );
    }
    // DOCS "Application Command Option Structure": "Required options must be listed before
    // optional options".
    let mut optional_seen = false;
    for (i, option) in list.iter().enumerate() {
        if nested(&kinds[i]) {
            continue;
        }
        let required = option["required"].as_bool().unwrap_or(false);
        if required && optional_seen {
            errors.add(
                &at(path, i),
                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                "Required options must be placed before non-required options",
            );
        }
        optional_seen |= !required;
    }
    // DOCS: "name must be unique within an array of application command options".
    let names: Vec<&str> = list
        .iter()
        .map(|o| o["name"].as_str().unwrap_or(""))
        .collect();
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            errors.add(
                &at(&at(path, i), "name"),
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                "Application command option names must be unique",
            );
        }
    }
    for (i, option) in list.iter().enumerate() {
        option_rules(option, &at(path, i), errors);
    }
}

fn option_rules(option: &Value, path: &[String], errors: &mut Errors) {
    if !option.is_object() {
        errors.add(
            path,
            "MODEL_TYPE_CONVERT",
            "Only dictionaries may be used in a ModelType",
        );
        return;
    }
    let kind = option["type"].as_u64().unwrap_or(0);
    // DOCS "Application Command Option Type": 1 to 11.
    if !(1..=11).contains(&kind) {
        errors.add(
            &at(path, "type"),
            "BASE_TYPE_CHOICES",
            "Value must be one of (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11).",
        );
    }
    name_rules(&option["name"], &at(path, "name"), errors);
    localized_names(
        &option["name_localizations"],
        &at(path, "name_localizations"),
        errors,
    );
    description_rules(&option["description"], &at(path, "description"), errors);
    localized_descriptions(
        &option["description_localizations"],
        &at(path, "description_localizations"),
        errors,
    );
    match kind {
        SUB_COMMAND_GROUP => options_rules(
            &option["options"],
            Level::Group,
            &at(path, "options"),
            errors,
        ),
        SUB_COMMAND => options_rules(
            &option["options"],
            Level::Subcommand,
            &at(path, "options"),
            errors,
        ),
        _ => {
            if !option["options"].is_null()
                && option["options"].as_array().is_none_or(|o| !o.is_empty())
            {
                errors.add(
                    &at(path, "options"),
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Only sub-commands and sub-command groups may have options",
                );
            }
        }
    }
    choices_rules(option, kind, path, errors);
}

fn choices_rules(option: &Value, kind: u64, path: &[String], errors: &mut Errors) {
    let choices = &option["choices"];
    let Some(list) = choices.as_array() else {
        if !choices.is_null() {
            errors.add(&at(path, "choices"), "BASE_TYPE_ARRAY", "Must be an array.");
        }
        return;
    };
    if list.is_empty() {
        return;
    }
    let path = at(path, "choices");
    // DOCS: "choices? … only for STRING, INTEGER, and NUMBER types".
    if ![STRING, INTEGER, NUMBER].contains(&kind) {
        errors.add(
            &path,
            "APPLICATION_COMMAND_OPTION_CHOICES_INVALID",
            "Choices are only allowed for string, integer and number options",
        );
    }
    // DOCS: "autocomplete may not be set to true if choices are present".
    if option["autocomplete"].as_bool() == Some(true) {
        errors.add(
            &path,
            "APPLICATION_COMMAND_AUTOCOMPLETE_CHOICES",
            "Autocomplete may not be set with choices",
        );
    }
    if list.len() > MAX_CHOICES {
        errors.add(
            &path,
            "BASE_TYPE_MAX_LENGTH",
            &format!("Must be {MAX_CHOICES} or fewer in length."),
        );
    }
    for (i, choice) in list.iter().enumerate() {
        let path = at(&path, i);
        // DOCS "Application Command Option Choice Structure": name 1-100 characters, free
        // text (not the name pattern); localised names the same.
        length_rule(&choice["name"], 1, 100, &at(&path, "name"), errors);
        localizations(
            &choice["name_localizations"],
            &at(&path, "name_localizations"),
            errors,
            |v, p, e| length_rule(v, 1, 100, p, e),
        );
        let value = &choice["value"];
        let fits = match kind {
            STRING => value
                .as_str()
                .is_some_and(|s| (1..=100).contains(&s.chars().count())),
            INTEGER => value.as_i64().is_some_and(|n| n.unsigned_abs() <= 1 << 53),
            NUMBER => value.as_f64().is_some(),
            _ => true,
        };
        if !fits {
            errors.add(
                &at(&path, "value"),
                "BASE_TYPE_CHOICES",
                "Value does not match the option's type",
            );
        }
    }
}

fn name_rules(name: &Value, path: &[String], errors: &mut Errors) {
    let Some(text) = name.as_str() else {
        errors.add(path, "BASE_TYPE_REQUIRED", "This field is required");
        return;
    };
    let count = text.chars().count();
    if !(1..=32).contains(&count) {
        errors.add(
            path,
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 32 in length.",
        );
    } else if !valid_name(text) {
        errors.add(
            path,
            "APPLICATION_COMMAND_INVALID_NAME",
            "Command name is invalid",
        );
    }
}

fn description_rules(description: &Value, path: &[String], errors: &mut Errors) {
    // DOCS: description 1-100 characters (CHAT_INPUT commands and every option).
    if description.is_null() {
        errors.add(path, "BASE_TYPE_REQUIRED", "This field is required");
        return;
    }
    length_rule(description, 1, 100, path, errors);
}

fn length_rule(value: &Value, min: usize, max: usize, path: &[String], errors: &mut Errors) {
    let Some(text) = value.as_str() else {
        errors.add(path, "BASE_TYPE_REQUIRED", "This field is required");
        return;
    };
    let count = text.chars().count();
    if !(min..=max).contains(&count) {
        errors.add(
            path,
            "BASE_TYPE_BAD_LENGTH",
            &format!("Must be between {min} and {max} in length."),
        );
    }
}

/// DOCS: `name_localizations` "values follow the same restrictions as name".
fn localized_names(map: &Value, path: &[String], errors: &mut Errors) {
    localizations(map, path, errors, name_rules);
}

/// DOCS: `description_localizations` "values follow the same restrictions as description".
fn localized_descriptions(map: &Value, path: &[String], errors: &mut Errors) {
    localizations(map, path, errors, |v, p, e| length_rule(v, 1, 100, p, e));
}

/// A localisation map: keys from LOCALES only (the real API answers `BASE_TYPE_CHOICES`, kord
/// #594), values checked by `value_rule`.
fn localizations(
    map: &Value,
    path: &[String],
    errors: &mut Errors,
    value_rule: impl Fn(&Value, &[String], &mut Errors),
) {
    if map.is_null() {
        return;
    }
    let Some(map) = map.as_object() else {
        errors.add(
            path,
            "DICT_TYPE_CONVERT",
            "Only dictionaries may be used in a DictType",
        );
        return;
    };
    for (locale, value) in map {
        let path = at(path, locale);
        if !LOCALES.contains(&locale.as_str()) {
            errors.add(
                &path,
                "BASE_TYPE_CHOICES",
                &format!("Value must be one of ({}).", LOCALES.join(", ")),
            );
            continue;
        }
        value_rule(value, &path, errors);
    }
}

/// The command as Discord stores and answers it for a guild (the same in the `PUT` answer and in
/// `GET …/commands?with_localizations=true`). Shape from real answers: `id`, `application_id`,
/// `version`, `default_member_permissions` (null when not set), `type` (default 1),
/// `name_localizations`/`description_localizations` (null when absent, on commands, options and
/// choices), `guild_id`, `nsfw: false`; options carry `required` only when true and keep
/// `autocomplete`, lengths and ranges as sent; `options` absent when there are none.
/// `contexts` and `integration_types` are "only for globally-scoped commands" (DOCS), so a guild
/// command carries `contexts: null` and the default `integration_types: [0]` whatever was sent,
/// and no `dm_permission`.
pub fn normalise_command(command: &Value, id: u64, app: &str, guild: &str, version: u64) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(id.to_string()));
    out.insert("application_id".into(), json!(app));
    out.insert("version".into(), json!(version.to_string()));
    out.insert(
        "default_member_permissions".into(),
        command
            .get("default_member_permissions")
            .cloned()
            .unwrap_or(Value::Null),
    );
    out.insert("type".into(), json!(command["type"].as_u64().unwrap_or(1)));
    out.insert("name".into(), command["name"].clone());
    out.insert(
        "name_localizations".into(),
        localization_map(&command["name_localizations"]),
    );
    out.insert("description".into(), command["description"].clone());
    out.insert(
        "description_localizations".into(),
        localization_map(&command["description_localizations"]),
    );
    out.insert("guild_id".into(), json!(guild));
    out.insert("contexts".into(), Value::Null);
    out.insert("integration_types".into(), json!([0]));
    if let Some(options) = normalise_options(&command["options"]) {
        out.insert("options".into(), options);
    }
    out.insert(
        "nsfw".into(),
        json!(command["nsfw"].as_bool().unwrap_or(false)),
    );
    Value::Object(out)
}

fn localization_map(value: &Value) -> Value {
    match value.as_object() {
        Some(map) if !map.is_empty() => value.clone(),
        _ => Value::Null,
    }
}

fn normalise_options(options: &Value) -> Option<Value> {
    let list = options.as_array().filter(|l| !l.is_empty())?;
    Some(Value::Array(list.iter().map(normalise_option).collect()))
}

fn normalise_option(option: &Value) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), option["type"].clone());
    out.insert("name".into(), option["name"].clone());
    out.insert(
        "name_localizations".into(),
        localization_map(&option["name_localizations"]),
    );
    out.insert("description".into(), option["description"].clone());
    out.insert(
        "description_localizations".into(),
        localization_map(&option["description_localizations"]),
    );
    if option["required"].as_bool() == Some(true) {
        out.insert("required".into(), json!(true));
    }
    if let Some(choices) = option["choices"].as_array().filter(|c| !c.is_empty()) {
        let choices = choices
            .iter()
            .map(|c| {
                json!({"name": c["name"], "name_localizations":
                    localization_map(&c["name_localizations"]), "value": c["value"]})
            })
            .collect();
        out.insert("choices".into(), Value::Array(choices));
    }
    for field in [
        "channel_types",
        "min_value",
        "max_value",
        "min_length",
        "max_length",
    ] {
        let value = &option[field];
        let empty = value.is_null() || value.as_array().is_some_and(|a| a.is_empty());
        if !empty {
            out.insert(field.into(), value.clone());
        }
    }
    if option["autocomplete"].as_bool() == Some(true) {
        out.insert("autocomplete".into(), json!(true));
    }
    if let Some(options) = normalise_options(&option["options"]) {
        out.insert("options".into(), options);
    }
    Value::Object(out)
}
