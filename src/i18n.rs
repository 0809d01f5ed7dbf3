//! Fluent localisation: `locales/<locale>/*.ftl`, embedded in the binary. `en-US` is the
//! fallback; every locale has exactly its message ids (**Invariant**, `tests/it/locales.rs`).
//!
//! Handlers return [`Reply`] (a key and arguments); surfaces call [`I18n::render`] in the
//! invoker's locale. Operators may override any message per locale in `config.ron` (`messages`).
//! Command metadata (`cmd-<name>` with `.description` and `.arg-<arg>`) feeds `help` and, later,
//! Discord command registration.

use crate::reply::{Reply, ReplyArg};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::collections::BTreeMap;
use unic_langid::LanguageIdentifier;

use crate::catalog::override_entry;
pub use crate::catalog::{FALLBACK, LOCALES, check_overrides, message_ids, source, syntax_errors};

/// The loaded bundles.
pub struct I18n {
    bundles: Vec<(&'static str, FluentBundle<FluentResource>)>,
    default: &'static str,
}

impl std::fmt::Debug for I18n {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("I18n")
            .field("default", &self.default)
            .finish()
    }
}

impl I18n {
    /// Load every locale, apply `overrides` (already checked by the configuration), and use
    /// `default` when a surface does not name a locale.
    pub fn new(
        default: &str,
        overrides: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> anyhow::Result<I18n> {
        let mut bundles = Vec::new();
        for locale in LOCALES {
            let langid: LanguageIdentifier = locale.parse()?;
            let mut bundle = FluentBundle::new_concurrent(vec![langid]);
            // Chat and Discord do not render Unicode isolation marks well.
            bundle.set_use_isolating(false);
            let resource = FluentResource::try_new(source(locale))
                .map_err(|(_, e)| anyhow::anyhow!("locale {locale}: {e:?}"))?;
            bundle
                .add_resource(resource)
                .map_err(|e| anyhow::anyhow!("locale {locale}: {e:?}"))?;
            if let Some(overrides) = overrides.get(*locale) {
                for (id, pattern) in overrides {
                    let resource = FluentResource::try_new(override_entry(id, pattern))
                        .map_err(|(_, e)| anyhow::anyhow!("override {locale}/{id}: {e:?}"))?;
                    bundle.add_resource_overriding(resource);
                }
            }
            bundles.push((*locale, bundle));
        }
        let default = negotiate(default).unwrap_or(FALLBACK);
        Ok(I18n { bundles, default })
    }

    /// The locale used when the surface does not say.
    pub fn default_locale(&self) -> &'static str {
        self.default
    }

    /// The supported locale closest to `requested` (e.g. Discord's `no` → `nb-NO`), or the
    /// default.
    pub fn negotiate(&self, requested: &str) -> &'static str {
        negotiate(requested).unwrap_or(self.default)
    }

    fn bundle(&self, locale: &str) -> &FluentBundle<FluentResource> {
        let locale = self.negotiate(locale);
        self.bundles
            .iter()
            .find(|(l, _)| *l == locale)
            .or_else(|| self.bundles.first())
            .map(|(_, b)| b)
            .expect("at least the fallback bundle is loaded")
    }

    /// Render a reply in `locale` (falling back to en-US, then to the bare key).
    pub fn render(&self, locale: &str, reply: &Reply) -> String {
        let mut args = FluentArgs::new();
        for (name, value) in &reply.args {
            let value = match value {
                ReplyArg::Text(text) => FluentValue::from(text.clone()),
                ReplyArg::Number(n) => FluentValue::from(*n),
                ReplyArg::Message(inner) => FluentValue::from(self.render(locale, inner)),
                ReplyArg::CommandDescription(command) => FluentValue::from(
                    self.command_text(locale, command, "description")
                        .unwrap_or_default(),
                ),
                ReplyArg::List(items) => FluentValue::from(
                    items
                        .iter()
                        .map(|item| self.render(locale, item))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            };
            args.set(*name, value);
        }
        self.format(locale, reply.key.id(), None, &args)
            .or_else(|| self.format(FALLBACK, reply.key.id(), None, &args))
            .unwrap_or_else(|| reply.key.id().to_string())
    }

    /// A message's value (or one of its attributes) without arguments, falling back to en-US;
    /// `None` when neither has it.
    pub fn message_text(&self, locale: &str, id: &str, attribute: Option<&str>) -> Option<String> {
        let args = FluentArgs::new();
        self.format(locale, id, attribute, &args)
            .or_else(|| self.format(FALLBACK, id, attribute, &args))
    }

    /// A command's metadata attribute (`description`, `arg-<name>`), if present.
    pub fn command_text(&self, locale: &str, command: &str, attribute: &str) -> Option<String> {
        self.message_text(locale, &format!("cmd-{command}"), Some(attribute))
    }

    fn format(
        &self,
        locale: &str,
        id: &str,
        attribute: Option<&str>,
        args: &FluentArgs,
    ) -> Option<String> {
        let bundle = self.bundle(locale);
        let message = bundle.get_message(id)?;
        let pattern = match attribute {
            None => message.value()?,
            Some(a) => message.get_attribute(a)?.value(),
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(args), &mut errors);
        if !errors.is_empty() {
            tracing::warn!(id, ?errors, "message rendered with errors");
        }
        Some(text.into_owned())
    }
}

/// The supported locale for a requested tag: exact (case-insensitive), then by language
/// (`nb`, `no`, `nn` → `nb-NO`; `en-GB` → `en-US`).
pub fn negotiate(requested: &str) -> Option<&'static str> {
    let requested = requested.trim().replace('_', "-");
    if let Some(exact) = LOCALES.iter().find(|l| l.eq_ignore_ascii_case(&requested)) {
        return Some(exact);
    }
    let language = requested
        .split('-')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let language = match language.as_str() {
        "no" | "nn" => "nb",
        other => other,
    };
    LOCALES
        .iter()
        .find(|l| {
            l.split('-')
                .next()
                .is_some_and(|p| p.eq_ignore_ascii_case(language))
        })
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::keys;

    #[test]
    fn negotiates_discord_and_regional_tags() {
        assert_eq!(negotiate("nb-NO"), Some("nb-NO"));
        assert_eq!(negotiate("no"), Some("nb-NO"));
        assert_eq!(negotiate("en-GB"), Some("en-US"));
        assert_eq!(negotiate("EN_us"), Some("en-US"));
        assert_eq!(negotiate("de"), None);
    }

    #[test]
    fn renders_with_nested_messages_and_overrides() {
        let mut overrides = BTreeMap::new();
        overrides.insert(
            "en-US".to_string(),
            BTreeMap::from([("pong".to_string(), "Pong, { $who }!".to_string())]),
        );
        let i18n = I18n::new("en-US", &overrides).unwrap();
        let reply = Reply::new(keys::PONG).arg("who", "kim");
        assert_eq!(i18n.render("en-US", &reply), "Pong, kim!");
        let refused = Reply::new(keys::ERROR_PERMISSION)
            .arg("command", "!stop")
            .message("level", crate::reply::level(commands::Permission::Admin));
        assert!(i18n.render("en-US", &refused).contains("admin"));
        assert_ne!(
            i18n.render("nb-NO", &refused),
            i18n.render("en-US", &refused)
        );
    }

    #[test]
    fn override_problems_are_reported_with_paths() {
        let messages = BTreeMap::from([
            ("xx-YY".to_string(), BTreeMap::new()),
            (
                "en-US".to_string(),
                BTreeMap::from([
                    ("no-such-id".to_string(), "x".to_string()),
                    ("pong".to_string(), "{ unclosed".to_string()),
                ]),
            ),
        ]);
        let problems = check_overrides(&messages);
        let paths: Vec<_> = problems.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "messages[\"en-US\"][\"no-such-id\"]",
                "messages[\"en-US\"][\"pong\"]",
                "messages[\"xx-YY\"]"
            ]
        );
    }
}
