//! Rebuild when an embedded file changes: `include_dir!` embeds `overlay/` and `locales/` but
//! does not tell Cargo to watch them.
//!
//! Generate the reply key table (`reply::keys`) from the en-US messages, so that it cannot drift
//! from the fallback locale: `$OUT_DIR/reply_keys.rs` holds `pub const NAME: Key = Key("id");`
//! for every message id of `locales/en-US/*.ftl` (NAME: the id upper-cased, `-` → `_`) and `ALL`,
//! all of them. Command metadata is left out: its messages are looked up by a name built from
//! the command tree, never returned as a reply (see [`METADATA`]). A duplicate id, or a line that
//! starts like a message but gives no Rust constant name, fails the build with its file and line.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The fallback locale, whose ids every other locale has (`tests/it/locales.rs`).
const REFERENCE: &str = "locales/en-US";

/// Prefixes of the command metadata families, which are not reply keys: `cmd-<word>`
/// (`i18n::I18n::command_text`, help and descriptions), `dc-<path>` and `discord-name-<word>`
/// (`surfaces::discord::tree`, the slash command tree).
const METADATA: &[&str] = &["cmd-", "dc-", "discord-name-"];

fn main() {
    println!("cargo:rerun-if-changed=overlay");
    println!("cargo:rerun-if-changed=locales");
    let keys = match reply_keys(Path::new(REFERENCE)) {
        Ok(keys) => keys,
        Err(error) => {
            eprintln!("error: no reply key table (`reply::keys`) from {REFERENCE}: {error}");
            std::process::exit(1);
        }
    };
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("Cargo sets OUT_DIR"));
    std::fs::write(out.join("reply_keys.rs"), render(&keys)).expect("OUT_DIR is writable");
}

/// A reply message: its Fluent id and the constant that names it.
struct ReplyKey {
    id: String,
    name: String,
}

/// The reply messages of every `.ftl` file in `dir`, files in name order, messages in file order.
fn reply_keys(dir: &Path) -> Result<Vec<ReplyKey>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    files.retain(|path| path.extension().is_some_and(|e| e == "ftl"));
    files.sort();
    // Every id (metadata too) → where it is; every constant name → what it names.
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut names: HashMap<String, String> =
        HashMap::from([("ALL".into(), "the list `ALL`".into())]);
    let mut keys = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        for (index, line) in text.lines().enumerate() {
            let at = format!("{}:{}", file.display(), index + 1);
            let Some(id) = message_id(line).map_err(|e| format!("{at}: {e}"))? else {
                continue;
            };
            if let Some(first) = seen.get(id) {
                return Err(format!(
                    "{at}: duplicate message id `{id}` (first at {first})"
                ));
            }
            seen.insert(id.to_string(), at.clone());
            if METADATA.iter().any(|prefix| id.starts_with(prefix)) {
                continue;
            }
            let name = id.to_ascii_uppercase().replace('-', "_");
            if let Some(other) = names.get(&name) {
                return Err(format!(
                    "{at}: message id `{id}` gives the constant `{name}`, already taken by {other}"
                ));
            }
            names.insert(name.clone(), format!("`{id}`"));
            keys.push(ReplyKey {
                id: id.to_string(),
                name,
            });
        }
    }
    Ok(keys)
}

/// The id of the message this line begins, if it begins one.
///
/// Fluent: a message starts at column 0 with an identifier (`[a-zA-Z][a-zA-Z0-9_-]*`), optional
/// blanks and `=`. Other lines that may start at column 0: comments (`#`), terms (`-`),
/// attributes (`.`), variant keys (`[`, `*[`) and placeables (`{`, `}`); text continuation lines
/// are indented.
fn message_id(line: &str) -> Result<Option<&str>, String> {
    let Some(first) = line.chars().next() else {
        return Ok(None);
    };
    if first.is_whitespace() || matches!(first, '#' | '-' | '.' | '[' | '*' | '{' | '}') {
        return Ok(None);
    }
    let Some((id, _)) = line.split_once('=') else {
        return Err(format!("`{line}` starts like a message but has no `=`"));
    };
    let id = id.trim_end_matches(' ');
    let mut chars = id.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(format!(
            "`{id}` is not a Fluent message id ([a-zA-Z][a-zA-Z0-9_-]*), so it gives no Rust constant name"
        ));
    }
    Ok(Some(id))
}

/// The generated module body, included by `src/reply.rs` inside `pub mod keys`.
fn render(keys: &[ReplyKey]) -> String {
    let mut out = String::from(
        "// Generated by build.rs from locales/en-US/*.ftl (every message but command metadata).\n",
    );
    for key in keys {
        let _ = writeln!(out, "pub const {}: Key = Key({:?});", key.name, key.id);
    }
    out.push_str("/// All of them, for the locale tests.\npub const ALL: &[Key] = &[\n");
    for key in keys {
        let _ = writeln!(out, "    {},", key.name);
    }
    out.push_str("];\n");
    out
}
