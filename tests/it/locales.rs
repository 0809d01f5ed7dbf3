//! Locale parity and coverage: every locale has en-US's ids; every command has metadata; every
//! key the code can produce exists; overrides in the shipped config name real ids; no reply,
//! whatever its arguments, goes to Twitch chat starting like a command.

use std::collections::{BTreeMap, BTreeSet};
use stream_control::i18n::{self, LOCALES};
use stream_control::reply::keys;

#[test]
fn every_locale_parses_cleanly() {
    for locale in LOCALES {
        assert_eq!(
            i18n::syntax_errors(locale),
            Vec::<String>::new(),
            "{locale}"
        );
        assert!(
            !i18n::message_ids(locale).is_empty(),
            "{locale} has no messages"
        );
    }
}

#[test]
fn every_locale_has_exactly_the_ids_of_en_us() {
    let reference = i18n::message_ids(i18n::FALLBACK);
    for locale in LOCALES {
        let ids = i18n::message_ids(locale);
        let missing: Vec<_> = reference.difference(&ids).collect();
        let extra: Vec<_> = ids.difference(&reference).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{locale}: missing {missing:?}, extra {extra:?}"
        );
    }
}

/// `$variable` names used by each message (and attribute) in a locale.
fn variables(locale: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current = String::new();
    for line in i18n::source(locale).lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            current = line.split('=').next().unwrap_or("").trim().to_string();
        }
        let id = match line.trim_start().strip_prefix('.') {
            Some(attribute) if line.starts_with(' ') => {
                format!(
                    "{}.{}",
                    current,
                    attribute.split('=').next().unwrap_or("").trim()
                )
            }
            _ => current.clone(),
        };
        let entry = out.entry(id).or_default();
        for piece in line.split('$').skip(1) {
            let name: String = piece
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            entry.insert(name);
        }
    }
    out
}

#[test]
fn translations_use_the_same_variables_as_en_us() {
    let reference = variables(i18n::FALLBACK);
    for locale in LOCALES {
        assert_eq!(variables(locale), reference, "{locale}");
    }
}

#[test]
fn every_key_the_code_can_produce_exists_in_every_locale() {
    for locale in LOCALES {
        let ids = i18n::message_ids(locale);
        for key in keys::ALL {
            assert!(ids.contains(key.id()), "{locale} lacks {key}");
        }
    }
}

/// `build.rs` reads the en-US files line by line; Fluent's own parser must find the same messages.
#[test]
fn the_keys_are_every_en_us_message_but_command_metadata() {
    let generated: BTreeSet<&str> = keys::ALL.iter().map(|k| k.id()).collect();
    assert_eq!(generated.len(), keys::ALL.len(), "no key twice");
    let messages = i18n::message_ids(i18n::FALLBACK);
    let replies: BTreeSet<&str> = messages
        .iter()
        .map(String::as_str)
        .filter(|id| !id.contains('.'))
        .filter(|id| {
            !["cmd-", "dc-", "discord-name-"]
                .iter()
                .any(|p| id.starts_with(p))
        })
        .collect();
    assert_eq!(generated, replies);
}

#[test]
fn every_command_has_a_description_and_argument_descriptions() {
    for locale in LOCALES {
        let ids = i18n::message_ids(locale);
        for spec in commands::SPECS {
            let id = format!("cmd-{}", spec.name);
            assert!(
                ids.contains(&format!("{id}.description")),
                "{locale}: {id}.description"
            );
            for arg in spec.args {
                assert!(
                    ids.contains(&format!("{id}.arg-{arg}")),
                    "{locale}: {id}.arg-{arg}"
                );
            }
            // No attribute for an argument the command does not have.
            let prefix = format!("{id}.arg-");
            for extra in ids.iter().filter_map(|i| i.strip_prefix(&prefix)) {
                assert!(
                    spec.args.contains(&extra),
                    "{locale}: {id} documents unknown arg {extra}"
                );
            }
        }
        // No metadata for a command that does not exist.
        for id in ids
            .iter()
            .filter(|i| i.starts_with("cmd-") && !i.contains('.'))
        {
            assert!(
                commands::spec_of(&id["cmd-".len()..]).is_some(),
                "{locale}: stray {id}"
            );
        }
    }
}

#[test]
fn every_reply_key_renders_without_leaving_the_key_in_place() {
    let i18n = i18n::I18n::new("en-US", &BTreeMap::new()).unwrap();
    for locale in LOCALES {
        for key in keys::ALL {
            let text = i18n.render(locale, &stream_control::reply::Reply::new(*key));
            assert_ne!(text, key.id(), "{locale}: {key} did not render");
        }
    }
}

#[test]
fn overrides_in_the_shipped_config_name_real_ids() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config.ron");
    let config = stream_control::config::Config::load(&path).unwrap();
    assert!(
        !config.messages.is_empty(),
        "the shipped config shows an override"
    );
    for (locale, overrides) in &config.messages {
        let ids = i18n::message_ids(locale);
        for id in overrides.keys() {
            assert!(ids.contains(id), "{locale}: {id}");
        }
    }
}

#[test]
fn no_reply_reaches_twitch_chat_starting_like_a_command() {
    use stream_control::surfaces::twitch_chat::{DEFUSE, chat_parts, starts_like_a_command};
    let i18n = i18n::I18n::new("en-US", &BTreeMap::new()).unwrap();
    // What a viewer can put into an argument (a title, a scene name, a user name…).
    let hostile = [
        "!title pwned",
        "/ban victim",
        ".mod someone",
        " \u{E0000}!stop",
        "?brb",
    ];
    let mut defused = 0;
    for prefix in ["!", "?"] {
        for locale in LOCALES {
            let names = variables(locale);
            for key in keys::ALL {
                for value in hostile {
                    let mut reply = stream_control::reply::Reply::new(*key);
                    for name in names.get(key.id()).into_iter().flatten() {
                        let name: &'static str = Box::leak(name.clone().into_boxed_str());
                        reply = reply.arg(name, value);
                    }
                    let text = i18n.render(locale, &reply);
                    for part in chat_parts(&text, prefix) {
                        assert!(
                            !starts_like_a_command(&part, prefix),
                            "{locale} {key} with {value:?}: {part:?}"
                        );
                        defused += usize::from(part.starts_with(DEFUSE));
                    }
                }
            }
        }
    }
    // The guard was needed: replies that begin with an argument, and the usage lines.
    assert!(defused > 0);
}
