//! The slash command tree: a table that mirrors the vocabulary (`commands::SPECS`), turned into
//! poise commands with Discord localisations (names and descriptions) from `locales/*/discord.ftl`
//! and `commands.ftl`.
//!
//! Every leaf is a typed front end for one chat line: `/guard trigger kind:low value:800` becomes
//! the line `trigger low 800`, parsed by the same `commands::parse` as Twitch chat. Nothing is
//! implemented twice, and the slash options only add what Discord can do better (choices,
//! autocomplete, integer ranges).

use super::{Data, Error};
use crate::i18n::I18n;
use poise::serenity_prelude as serenity;

/// One node of the tree: a group of subcommands or a leaf that runs a command line.
#[derive(Debug)]
pub struct Node {
    /// The Discord name (lowercase; the command word where there is one).
    pub name: &'static str,
    pub kind: NodeKind,
}

#[derive(Debug)]
pub enum NodeKind {
    Group(&'static [Node]),
    Leaf(Leaf),
}

/// A slash command that runs one command line.
#[derive(Debug)]
pub struct Leaf {
    /// The vocabulary word it runs (its `cmd-<word>` metadata is the fallback description).
    pub word: &'static str,
    /// The start of the command line, e.g. `guard on`; option values are appended in order.
    pub line: &'static str,
    pub options: &'static [Opt],
    /// Answer only to the invoker (and so never show the options to the channel): replies that
    /// may carry private data (`Command::answered_privately`: logs, addresses, bans, restream
    /// endpoints, services).
    pub private: bool,
}

/// One option of a leaf.
#[derive(Debug)]
pub struct Opt {
    pub name: &'static str,
    /// The argument of the command word that describes it (`cmd-<word>.arg-<arg>`).
    pub arg: &'static str,
    pub kind: OptKind,
    pub required: bool,
}

#[derive(Debug, Clone, Copy)]
pub enum OptKind {
    /// Free text, at most this many characters.
    Text(u16),
    /// Free text completed from a list.
    Complete(Completion, u16),
    /// A log line count (10 to 1000, as `logs` clamps it).
    LineCount,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A yes/no option that appends this word when true.
    Flag(&'static str),
}

/// Where autocomplete suggestions come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// OBS's scene list.
    Scene,
    /// The audio inputs `mute` may reach (`obs.audio_inputs`).
    Input,
    /// The sources `source` may reach (`obs.sources`).
    Source,
    /// Twitch's category search.
    Category,
    /// The command words.
    CommandWord,
}

const fn leaf(word: &'static str, line: &'static str, options: &'static [Opt]) -> NodeKind {
    NodeKind::Leaf(Leaf {
        word,
        line,
        options,
        private: false,
    })
}

const fn private_leaf(word: &'static str, line: &'static str, options: &'static [Opt]) -> NodeKind {
    NodeKind::Leaf(Leaf {
        word,
        line,
        options,
        private: true,
    })
}

const fn opt(name: &'static str, kind: OptKind, required: bool) -> Opt {
    Opt {
        name,
        arg: name,
        kind,
        required,
    }
}

const fn node(name: &'static str, kind: NodeKind) -> Node {
    Node { name, kind }
}

/// Same word for the node and its command.
const fn simple(word: &'static str) -> Node {
    node(word, leaf(word, word, &[]))
}

const NAME: Opt = opt("name", OptKind::Text(100), true);
const FORCE: Opt = opt("force", OptKind::Flag("force"), false);
const IP: Opt = opt("ip", OptKind::Text(45), true);
const INPUT: Opt = opt("input", OptKind::Complete(Completion::Input, 100), true);

/// The whole tree, in the order Discord shows it.
pub static TREE: &[Node] = &[
    node(
        "stream",
        NodeKind::Group(&[
            node("start", leaf("start", "start", &[])),
            node("stop", leaf("stop", "stop", &[])),
            node(
                "record",
                leaf(
                    "record",
                    "record",
                    &[opt("action", OptKind::Choice(&["start", "stop"]), true)],
                ),
            ),
        ]),
    ),
    node(
        "scene",
        leaf(
            "scene",
            "scene",
            &[opt("name", OptKind::Complete(Completion::Scene, 100), true)],
        ),
    ),
    simple("live"),
    simple("brb"),
    simple("starting"),
    simple("fix"),
    simple("refresh"),
    node("mute", leaf("mute", "mute", &[INPUT])),
    node("unmute", leaf("unmute", "unmute", &[INPUT])),
    node(
        "source",
        leaf(
            "source",
            "source",
            &[
                opt("name", OptKind::Complete(Completion::Source, 100), true),
                opt("action", OptKind::Choice(&["show", "hide"]), true),
            ],
        ),
    ),
    simple("bitrate"),
    node(
        "guard",
        NodeKind::Group(&[
            node("status", leaf("guard", "guard status", &[])),
            node("on", leaf("guard", "guard on", &[])),
            node("off", leaf("guard", "guard off", &[])),
            node(
                "trigger",
                leaf(
                    "trigger",
                    "trigger",
                    &[
                        opt(
                            "kind",
                            OptKind::Choice(&["low", "offline", "rtt", "rtt-offline", "reset"]),
                            true,
                        ),
                        opt("value", OptKind::Text(12), false),
                    ],
                ),
            ),
            node(
                "dryrun",
                leaf(
                    "dryrun",
                    "dryrun",
                    &[opt("state", OptKind::Choice(&["on", "off"]), true)],
                ),
            ),
        ]),
    ),
    node(
        "twitch",
        NodeKind::Group(&[
            node(
                "title",
                leaf("title", "title", &[opt("text", OptKind::Text(140), true)]),
            ),
            node(
                "category",
                leaf(
                    "category",
                    "category",
                    &[opt(
                        "query",
                        OptKind::Complete(Completion::Category, 100),
                        true,
                    )],
                ),
            ),
            node(
                "raid",
                leaf("raid", "raid", &[opt("channel", OptKind::Text(25), true)]),
            ),
            node(
                "marker",
                leaf(
                    "marker",
                    "marker",
                    &[opt("text", OptKind::Text(140), false)],
                ),
            ),
            node("clip", leaf("clip", "clip", &[])),
            node(
                "ad",
                leaf("ad", "ad", &[opt("seconds", OptKind::Text(12), false)]),
            ),
            node("snooze", leaf("snooze", "snooze", &[])),
        ]),
    ),
    node(
        "restream",
        NodeKind::Group(&[
            node("list", private_leaf("restream", "restream list", &[])),
            node("on", leaf("restream", "restream on", &[NAME])),
            node("off", leaf("restream", "restream off", &[NAME])),
            node(
                "add",
                private_leaf(
                    "restream",
                    "restream add",
                    &[NAME, opt("url", OptKind::Text(400), true)],
                ),
            ),
            node("remove", leaf("restream", "restream remove", &[NAME])),
        ]),
    ),
    node(
        "pc",
        NodeKind::Group(&[
            node("status", leaf("pc", "pc status", &[])),
            node("wake", leaf("pc", "pc wake", &[])),
            node("restart", leaf("pc", "pc restart", &[FORCE])),
            node("shutdown", leaf("pc", "pc shutdown", &[FORCE])),
        ]),
    ),
    node(
        "service",
        NodeKind::Group(&[
            node(
                "status",
                private_leaf(
                    "service",
                    "service status",
                    &[opt("name", OptKind::Text(64), false)],
                ),
            ),
            node(
                "restart",
                private_leaf(
                    "service",
                    "service restart",
                    &[opt("name", OptKind::Text(64), true)],
                ),
            ),
            node("repair", private_leaf("service", "service repair", &[])),
        ]),
    ),
    node(
        "logs",
        private_leaf(
            "logs",
            "logs",
            &[
                opt("service", OptKind::Text(64), true),
                opt("lines", OptKind::LineCount, false),
                Opt {
                    name: "follow",
                    arg: "follow",
                    kind: OptKind::Flag(""),
                    required: false,
                },
            ],
        ),
    ),
    node(
        "alert",
        NodeKind::Group(&[node(
            "test",
            leaf(
                "alert",
                "alert test",
                &[opt(
                    "kind",
                    OptKind::Choice(&["low", "restored", "offline", "raid", "custom"]),
                    true,
                )],
            ),
        )]),
    ),
    node("ban-ip", private_leaf("ban-ip", "ban-ip", &[IP])),
    node("unban-ip", private_leaf("unban-ip", "unban-ip", &[IP])),
    node("bans", private_leaf("bans", "bans", &[])),
    node(
        "help",
        leaf(
            "help",
            "help",
            &[opt(
                "command",
                OptKind::Complete(Completion::CommandWord, 32),
                false,
            )],
        ),
    ),
    simple("status"),
    simple("ping"),
    simple("version"),
    simple("panel"),
];

/// Discord's locale codes for ours (descriptions are sent in each; names where they differ from
/// the default). Discord's code for Norwegian is `no` (its list has no `nb-NO`):
/// https://discord.com/developers/docs/reference#locales
pub const DISCORD_LOCALES: &[(&str, &str)] =
    &[("en-US", "en-US"), ("en-US", "en-GB"), ("nb-NO", "no")];

/// Every leaf with its path (`["guard", "trigger"]`), depth first.
pub fn leaves() -> Vec<(Vec<&'static str>, &'static Leaf)> {
    fn walk(
        nodes: &'static [Node],
        path: &mut Vec<&'static str>,
        out: &mut Vec<(Vec<&'static str>, &'static Leaf)>,
    ) {
        for node in nodes {
            path.push(node.name);
            match &node.kind {
                NodeKind::Group(children) => walk(children, path, out),
                NodeKind::Leaf(leaf) => out.push((path.clone(), leaf)),
            }
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(TREE, &mut Vec::new(), &mut out);
    out
}

/// The leaf at a qualified name (`guard trigger`).
pub fn leaf_at(qualified_name: &str) -> Option<&'static Leaf> {
    leaves()
        .into_iter()
        .find(|(path, _)| path.join(" ") == qualified_name)
        .map(|(_, leaf)| leaf)
}

/// The FTL id of a node's Discord metadata: `dc-guard-trigger`.
fn metadata_id(path: &[&str]) -> String {
    format!("dc-{}", path.join("-"))
}

/// A node's description in `locale`: `dc-<path>` if the locale has it, else the word's
/// `cmd-<word>.description`. Cut to Discord's 100 characters.
pub fn description(i18n: &I18n, locale: &str, path: &[&str], word: Option<&str>) -> String {
    let text = i18n
        .message_text(locale, &metadata_id(path), None)
        .or_else(|| word.and_then(|w| i18n.command_text(locale, w, "description")))
        .unwrap_or_else(|| path.join(" "));
    crate::reply::clip(&text, 100)
}

/// An option's description: `dc-<path>.<option>`, else `cmd-<word>.arg-<arg>`.
pub fn option_description(
    i18n: &I18n,
    locale: &str,
    path: &[&str],
    word: Option<&str>,
    opt: &Opt,
) -> String {
    let text = i18n
        .message_text(locale, &metadata_id(path), Some(opt.name))
        .or_else(|| word.and_then(|w| i18n.command_text(locale, w, &format!("arg-{}", opt.arg))))
        .unwrap_or_else(|| opt.name.to_string());
    crate::reply::clip(&text, 100)
}

/// A command, option or choice word in `locale` (`discord-name-<word>`, falling back to en-US), if
/// it is a valid Discord name. The words themselves stay the default names: Discord sends those
/// in every interaction, whatever the user's language.
pub fn localized_name(i18n: &I18n, locale: &str, word: &str) -> Option<String> {
    let text = i18n.message_text(locale, &format!("discord-name-{word}"), None)?;
    if valid_name(&text) {
        Some(text)
    } else {
        tracing::warn!(
            locale,
            word,
            text,
            "not a valid Discord name; not localised"
        );
        None
    }
}

/// A chat-input command or option name as Discord accepts it: 1-32 characters, letters
/// (lowercase where a lowercase form exists), digits, `-`, `_` and `'`
/// (https://docs.discord.com/developers/interactions/application-commands, "Application Command
/// Naming"; the fake Discord checks the full pattern).
pub fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.chars().count())
        && name.chars().all(|c| {
            (c.is_alphanumeric() || matches!(c, '-' | '_' | '\''))
                && c.to_lowercase().eq(std::iter::once(c))
        })
}

/// The poise commands for the whole tree, described in the default locale and localised in
/// every other.
pub fn commands(i18n: &I18n, default_locale: &str) -> Vec<poise::Command<Data, Error>> {
    TREE.iter()
        .map(|node| command(i18n, default_locale, node, &mut Vec::new()))
        .collect()
}

type Localizations = Vec<(
    std::borrow::Cow<'static, str>,
    std::borrow::Cow<'static, str>,
)>;

fn localizations(text: impl Fn(&str) -> String) -> Localizations {
    DISCORD_LOCALES
        .iter()
        .map(|(ours, discord)| ((*discord).into(), text(ours).into()))
        .collect()
}

/// A word's name in every Discord locale where it differs from the word.
fn name_localizations(i18n: &I18n, word: &str) -> Localizations {
    DISCORD_LOCALES
        .iter()
        .filter_map(|(ours, discord)| {
            let name = localized_name(i18n, ours, word).filter(|name| name != word)?;
            Some(((*discord).into(), name.into()))
        })
        .collect()
}

fn command(
    i18n: &I18n,
    default_locale: &str,
    node: &'static Node,
    path: &mut Vec<&'static str>,
) -> poise::Command<Data, Error> {
    path.push(node.name);
    let word = match &node.kind {
        NodeKind::Leaf(leaf) => Some(leaf.word),
        NodeKind::Group(_) => None,
    };
    let mut built = poise::Command::<Data, Error> {
        name: node.name.into(),
        name_localizations: name_localizations(i18n, node.name).into(),
        qualified_name: path.join(" ").into(),
        identifying_name: path.join(" ").into(),
        source_code_name: path.join(" ").into(),
        description: Some(description(i18n, default_locale, path, word).into()),
        description_localizations: localizations(|l| description(i18n, l, path, word)).into(),
        slash_action: Some(super::interact::slash_action),
        ..Default::default()
    };
    match &node.kind {
        NodeKind::Group(children) => {
            built.subcommand_required = true;
            built.subcommands = children
                .iter()
                .map(|child| command(i18n, default_locale, child, path))
                .collect();
        }
        NodeKind::Leaf(leaf) => {
            built.ephemeral = leaf.private;
            built.parameters = leaf
                .options
                .iter()
                .map(|opt| parameter(i18n, default_locale, path, Some(leaf.word), opt))
                .collect();
        }
    }
    path.pop();
    built
}

fn parameter(
    i18n: &I18n,
    default_locale: &str,
    path: &[&'static str],
    word: Option<&'static str>,
    opt: &'static Opt,
) -> poise::CommandParameter<Data, Error> {
    let description = option_description(i18n, default_locale, path, word, opt);
    let description_localizations = localizations(|l| option_description(i18n, l, path, word, opt));
    let (type_setter, choices, autocomplete): (TypeSetter, Vec<_>, Option<AutocompleteFn>) =
        match opt.kind {
            OptKind::Text(max) | OptKind::Complete(_, max) => {
                let setter = text_setter(max);
                let autocomplete = match opt.kind {
                    OptKind::Complete(source, _) => Some(autocomplete_for(source)),
                    _ => None,
                };
                (setter, Vec::new(), autocomplete)
            }
            OptKind::LineCount => (
                |o| {
                    o.kind(serenity::CommandOptionType::Integer)
                        .min_int_value(10)
                        .max_int_value(1000)
                },
                Vec::new(),
                None,
            ),
            OptKind::Choice(words) => (
                |o| o.kind(serenity::CommandOptionType::Integer),
                words
                    .iter()
                    .map(|w| poise::CommandParameterChoice {
                        name: (*w).into(),
                        localizations: name_localizations(i18n, w).into(),
                        __non_exhaustive: (),
                    })
                    .collect(),
                None,
            ),
            OptKind::Flag(_) => (
                |o| o.kind(serenity::CommandOptionType::Boolean),
                Vec::new(),
                None,
            ),
        };
    poise::CommandParameter {
        name: opt.name.into(),
        name_localizations: name_localizations(i18n, opt.name).into(),
        description: Some(description.into()),
        description_localizations: description_localizations.into(),
        required: opt.required,
        channel_types: None,
        choices: choices.into(),
        type_setter: Some(type_setter),
        autocomplete_callback: autocomplete,
        __non_exhaustive: (),
    }
}

type TypeSetter = fn(serenity::CreateCommandOption) -> serenity::CreateCommandOption;

type AutocompleteFn = for<'a> fn(
    poise::ApplicationContext<'a, Data, Error>,
    &'a str,
) -> poise::BoxFuture<'a, serenity::CreateAutocompleteResponse>;

fn autocomplete_for(source: Completion) -> AutocompleteFn {
    // A fn pointer per source (a closure capturing `source` would not be one).
    macro_rules! complete {
        ($source:ident) => {
            |ctx, partial| {
                Box::pin(super::interact::autocomplete(
                    ctx,
                    partial,
                    Completion::$source,
                ))
            }
        };
    }
    match source {
        Completion::Scene => complete!(Scene),
        Completion::Input => complete!(Input),
        Completion::Source => complete!(Source),
        Completion::Category => complete!(Category),
        Completion::CommandWord => complete!(CommandWord),
    }
}

/// A string option with a length limit (Discord enforces it before the bot sees the text).
fn text_setter(max: u16) -> TypeSetter {
    macro_rules! limits {
        ($($n:literal),*) => {
            match max {
                $($n => |o| o.kind(serenity::CommandOptionType::String).max_length($n),)*
                _ => |o| o.kind(serenity::CommandOptionType::String).max_length(100),
            }
        };
    }
    limits!(12, 25, 32, 45, 64, 100, 140, 400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_limit_has_a_setter() {
        for (path, leaf) in leaves() {
            for opt in leaf.options {
                if let OptKind::Text(max) | OptKind::Complete(_, max) = opt.kind {
                    assert!(
                        [12, 25, 32, 45, 64, 100, 140, 400].contains(&max),
                        "{path:?} {}: add {max} to text_setter",
                        opt.name
                    );
                }
            }
        }
    }

    #[test]
    fn names_are_valid_and_every_text_is_written_in_every_locale() {
        let i18n = I18n::new("en-US", &Default::default()).unwrap();
        fn walk(nodes: &[Node], path: &mut Vec<&'static str>, out: &mut Vec<Vec<&'static str>>) {
            for node in nodes {
                path.push(node.name);
                out.push(path.clone());
                if let NodeKind::Group(children) = &node.kind {
                    walk(children, path, out);
                }
                path.pop();
            }
        }
        let mut paths = Vec::new();
        walk(TREE, &mut Vec::new(), &mut paths);
        for path in &paths {
            let name = path.last().unwrap();
            assert!(
                (1..=32).contains(&name.len())
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit()),
                "{path:?}: not a valid Discord name"
            );
        }
        for locale in crate::i18n::LOCALES {
            for (path, leaf) in leaves() {
                let text = description(&i18n, locale, &path, Some(leaf.word));
                assert_ne!(text, path.join(" "), "{locale} {path:?}: no description");
                for opt in leaf.options {
                    let text = option_description(&i18n, locale, &path, Some(leaf.word), opt);
                    assert_ne!(
                        text, opt.name,
                        "{locale} {path:?} {}: no description",
                        opt.name
                    );
                }
            }
            for path in &paths {
                let text = description(&i18n, locale, path, None);
                assert!(text.chars().count() <= 100);
            }
        }
    }

    /// Every word of the tree (nodes, options, choices) by sibling group: the names that must
    /// differ from each other.
    fn sibling_groups() -> Vec<Vec<&'static str>> {
        fn walk(nodes: &'static [Node], out: &mut Vec<Vec<&'static str>>) {
            out.push(nodes.iter().map(|n| n.name).collect());
            for node in nodes {
                match &node.kind {
                    NodeKind::Group(children) => walk(children, out),
                    NodeKind::Leaf(leaf) => {
                        out.push(leaf.options.iter().map(|o| o.name).collect());
                        for opt in leaf.options {
                            if let OptKind::Choice(words) = opt.kind {
                                out.push(words.to_vec());
                            }
                        }
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(TREE, &mut out);
        out
    }

    #[test]
    fn every_word_has_a_valid_distinct_name_in_every_locale() {
        let i18n = I18n::new("en-US", &Default::default()).unwrap();
        for locale in crate::i18n::LOCALES {
            let ids = crate::i18n::message_ids(locale);
            for group in sibling_groups() {
                let mut names = std::collections::BTreeSet::new();
                for word in &group {
                    let id = format!("discord-name-{word}");
                    assert!(ids.contains(&id), "{locale} lacks {id}");
                    let name = localized_name(&i18n, locale, word)
                        .unwrap_or_else(|| panic!("{locale} {id}: not a valid Discord name"));
                    assert!(
                        names.insert(name.clone()),
                        "{locale}: {name} twice in {group:?}"
                    );
                }
            }
        }
        assert_eq!(
            localized_name(&i18n, "nb-NO", "guard").as_deref(),
            Some("vakt")
        );
    }

    #[test]
    fn names_discord_refuses_are_not_localised() {
        for bad in ["", "Vakt", "slå av", "a/b", &"x".repeat(33)] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        for good in [
            "vakt",
            "slå-av",
            "rtt_frakoblet",
            "l'eau",
            "x1",
            &"x".repeat(32),
        ] {
            assert!(valid_name(good), "{good:?}");
        }
        let overrides = [(
            "nb-NO".to_string(),
            [("discord-name-guard".to_string(), "Vakt Hund".to_string())].into(),
        )]
        .into();
        let i18n = I18n::new("en-US", &overrides).unwrap();
        assert_eq!(localized_name(&i18n, "nb-NO", "guard"), None);
        let guard = commands(&i18n, "en-US")
            .into_iter()
            .find(|c| c.name == "guard")
            .unwrap();
        assert!(guard.name_localizations.is_empty());
    }

    #[test]
    fn leaves_of_commands_with_private_answers_are_private() {
        // Each leaf is private exactly when the vocabulary forms it runs have private answers.
        for (path, leaf) in leaves() {
            let word = leaf.word;
            let forms: Vec<commands::Command> = commands::FORMS
                .iter()
                .filter(|form| {
                    form.strip_prefix(leaf.line)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
                })
                .filter_map(|form| commands::parse(form, "")?.ok())
                .filter(|command| command.name() == word)
                .collect();
            assert!(!forms.is_empty(), "{path:?}: no form of `{}`", leaf.line);
            for command in forms {
                assert_eq!(
                    leaf.private,
                    command.answered_privately(),
                    "{path:?}: {command:?}"
                );
            }
        }
    }

    #[test]
    fn leaf_lines_parse_with_their_required_options() {
        for (path, leaf) in leaves() {
            let word = leaf.word;
            assert!(
                leaf.line.split_whitespace().next() == Some(word),
                "{path:?}: line `{}` must start with its word `{word}`",
                leaf.line
            );
        }
    }
}
