//! The shipped message catalog: the locales, their Fluent files (`locales/<locale>/*.ftl`,
//! embedded in the binary), their message ids, and the check of the operator's overrides
//! (`messages` in `config.ron`). Below both `config` (which checks the overrides and locale
//! settings against it) and `i18n` (which renders from it); it imports nothing of the crate.

use fluent_bundle::FluentResource;
use include_dir::{Dir, include_dir};
use std::collections::{BTreeMap, BTreeSet};

static LOCALE_FILES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/locales");

/// Supported locales; the first is the fallback.
pub const LOCALES: &[&str] = &["en-US", "nb-NO"];

/// The fallback locale.
pub const FALLBACK: &str = "en-US";

/// The FTL source of one locale (all its files, in name order).
pub fn source(locale: &str) -> String {
    let Some(dir) = LOCALE_FILES.get_dir(locale) else {
        return String::new();
    };
    let mut files: Vec<_> = dir
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "ftl"))
        .collect();
    files.sort_by_key(|f| f.path());
    files
        .iter()
        .filter_map(|f| f.contents_utf8())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Message ids of a locale's shipped files, with attributes as `id.attribute`.
pub fn message_ids(locale: &str) -> BTreeSet<String> {
    ids_of(&source(locale))
}

fn ids_of(source: &str) -> BTreeSet<String> {
    use fluent_syntax::ast::Entry;
    let resource = match FluentResource::try_new(source.to_string()) {
        Ok(r) | Err((r, _)) => r,
    };
    let mut ids = BTreeSet::new();
    for entry in resource.entries() {
        if let Entry::Message(m) = entry {
            ids.insert(m.id.name.to_string());
            for attribute in &m.attributes {
                ids.insert(format!("{}.{}", m.id.name, attribute.id.name));
            }
        }
    }
    ids
}

/// FTL syntax errors in a locale's shipped files, as text (empty when clean).
pub fn syntax_errors(locale: &str) -> Vec<String> {
    match FluentResource::try_new(source(locale)) {
        Ok(_) => Vec::new(),
        Err((_, errors)) => errors.iter().map(|e| format!("{e:?}")).collect(),
    }
}

/// Turn an override pattern into an FTL entry `id = pattern` (continuation lines indented).
pub(crate) fn override_entry(id: &str, pattern: &str) -> String {
    let mut lines = pattern.lines();
    let mut out = format!("{id} = {}", lines.next().unwrap_or(""));
    for line in lines {
        out.push_str("\n    ");
        out.push_str(line);
    }
    out.push('\n');
    out
}

/// Check `messages` overrides from the configuration: `(key path, problem)` for each.
pub fn check_overrides(
    messages: &BTreeMap<String, BTreeMap<String, String>>,
) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let known = message_ids(FALLBACK);
    for (locale, overrides) in messages {
        if !LOCALES.contains(&locale.as_str()) {
            problems.push((
                format!("messages[{locale:?}]"),
                format!(
                    "unknown locale `{locale}`; available: {}",
                    LOCALES.join(", ")
                ),
            ));
            continue;
        }
        for (id, pattern) in overrides {
            let path = format!("messages[{locale:?}][{id:?}]");
            if !known.contains(id) || id.starts_with("cmd-") {
                problems.push((path, format!("`{id}` is not a reply message id")));
                continue;
            }
            let entry = override_entry(id, pattern);
            match FluentResource::try_new(entry) {
                Ok(resource) if ids_of_resource(&resource) == BTreeSet::from([id.clone()]) => {}
                Ok(_) => problems.push((path, "must be a single message pattern".into())),
                Err((_, errors)) => problems.push((
                    path,
                    format!(
                        "not a valid Fluent pattern: {:?}",
                        errors.first().map(|e| &e.kind)
                    ),
                )),
            }
        }
    }
    problems
}

fn ids_of_resource(resource: &FluentResource) -> BTreeSet<String> {
    use fluent_syntax::ast::Entry;
    resource
        .entries()
        .filter_map(|e| match e {
            Entry::Message(m) => Some(m.id.name.to_string()),
            Entry::Term(t) => Some(format!("-{}", t.id.name)),
            _ => None,
        })
        .collect()
}
