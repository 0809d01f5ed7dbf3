//! The layers, checked on the source (docs/architecture.md, "Layers"): surfaces → dispatch →
//! handlers → peers. Peers report back only through Status and events; only the wiring (`app`)
//! builds the `Context` and hands each peer the writer of its own part of Status.
//!
//! A module's imports are the `crate::<module>` paths in its code outside comments and outside its
//! `#[cfg(test)]` module. Where the code does not follow a rule yet, the exception is listed
//! below with the work that removes it; a listed exception that no longer occurs fails the test,
//! so the lists only shrink.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The peers: they own a connection, a program or a piece of state.
const PEERS: &[&str] = &[
    "obs", "guard", "twitch", "kick", "restream", "power", "services", "history", "metrics",
    "alerts", "web",
];
/// What a peer never imports.
const ABOVE_PEERS: &[&str] = &["surfaces", "handlers", "dispatch", "app", "context"];

/// Peer imports of an upper layer not removed yet (#16 §1): (file, module). None left; the
/// list stays so a future exception is written down where the rule is.
const PEER_EXCEPTIONS: &[(&str, &str)] = &[];

/// Modules of the app that the configuration imports today (#16 §1: config imports nothing of the
/// app). Each one is a type or a check that belongs in config or in a shared module below both.
const CONFIG_EXCEPTIONS: &[&str] = &[];

/// Modules below the configuration: config may import them, and they import nothing of the crate.
const BELOW_CONFIG: &[&str] = &["catalog"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A source file's code without its `#[cfg(test)] mod tests`.
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("a source file is readable");
    match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// Every source file, as `src/…` → the top-level modules it names as `crate::<module>`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    sources(&root().join("src"), &mut files);
    let mut all = BTreeMap::new();
    for file in files {
        let code = code_of(&file);
        let mut modules = BTreeSet::new();
        for line in code.lines() {
            let line = line.split("//").next().unwrap_or("");
            for (at, _) in line.match_indices("crate::") {
                let name: String = line[at + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    modules.insert(name);
                }
            }
        }
        let relative = file
            .strip_prefix(root())
            .expect("under the root")
            .to_string_lossy()
            .into_owned();
        all.insert(relative, modules);
    }
    all
}

/// The top-level module a source file belongs to (`src/twitch/auth.rs` → `twitch`).
fn module_of(file: &str) -> &str {
    let rest = file.trim_start_matches("src/");
    let first = rest.split('/').next().unwrap_or(rest);
    first.trim_end_matches(".rs")
}

#[test]
fn only_main_and_the_demo_import_app() {
    let offenders: Vec<String> = imports()
        .into_iter()
        .filter(|(file, modules)| {
            modules.contains("app") && !matches!(module_of(file), "main" | "demo" | "app")
        })
        .map(|(file, _)| file)
        .collect();
    assert!(
        offenders.is_empty(),
        "these modules import app: {offenders:?}"
    );
}

#[test]
fn peers_never_import_surfaces_handlers_dispatch_app_or_the_context() {
    let mut found = BTreeSet::new();
    for (file, modules) in imports() {
        if !PEERS.contains(&module_of(&file)) {
            continue;
        }
        for upper in ABOVE_PEERS {
            if modules.contains(*upper) {
                found.insert((file.clone(), upper.to_string()));
            }
        }
    }
    let allowed: BTreeSet<(String, String)> = PEER_EXCEPTIONS
        .iter()
        .map(|(f, m)| (f.to_string(), m.to_string()))
        .collect();
    let new: Vec<_> = found.difference(&allowed).collect();
    assert!(new.is_empty(), "peers importing an upper layer: {new:?}");
    let gone: Vec<_> = allowed.difference(&found).collect();
    assert!(
        gone.is_empty(),
        "fixed (remove them from PEER_EXCEPTIONS): {gone:?}"
    );
}

#[test]
fn the_configuration_imports_no_more_of_the_app_than_listed() {
    let mut found = BTreeSet::new();
    for (file, modules) in imports() {
        if module_of(&file) != "config" {
            continue;
        }
        found.extend(
            modules
                .into_iter()
                .filter(|m| m != "config" && !BELOW_CONFIG.contains(&m.as_str())),
        );
    }
    let allowed: BTreeSet<String> = CONFIG_EXCEPTIONS.iter().map(|m| m.to_string()).collect();
    let new: Vec<_> = found.difference(&allowed).collect();
    assert!(new.is_empty(), "config imports more of the app: {new:?}");
    let gone: Vec<_> = allowed.difference(&found).collect();
    assert!(
        gone.is_empty(),
        "no longer imported (remove them from CONFIG_EXCEPTIONS): {gone:?}"
    );
}

#[test]
fn the_modules_below_the_configuration_import_nothing_of_the_crate() {
    for (file, modules) in imports() {
        if BELOW_CONFIG.contains(&module_of(&file)) {
            let others: Vec<_> = modules
                .iter()
                .filter(|m| m.as_str() != module_of(&file))
                .collect();
            assert!(others.is_empty(), "{file} imports {others:?}");
        }
    }
}

#[test]
fn only_the_wiring_hands_out_status_writers() {
    for file in imports().into_keys() {
        if matches!(file.as_str(), "src/app.rs" | "src/status.rs") {
            continue;
        }
        let code = code_of(&root().join(&file));
        let writes: Vec<&str> = code
            .lines()
            .filter(|l| l.contains(".publisher(") && !l.trim_start().starts_with("//"))
            .collect();
        assert!(
            writes.is_empty(),
            "{file} takes a Status writer: {writes:?}"
        );
    }
}

/// Surfaces use a peer through what its top-level module offers (its handle and the functions it
/// exports there), never through its submodules (connection tasks, parsers, clients, files):
/// no `crate::<peer>::<submodule>::` path in `src/surfaces*`, outside comments and tests.
#[test]
fn surfaces_never_reach_into_a_peers_submodules() {
    let mut files = Vec::new();
    sources(&root().join("src/surfaces"), &mut files);
    files.push(root().join("src/surfaces.rs"));
    let mut found = Vec::new();
    for file in files {
        let code = code_of(&file);
        for line in code.lines() {
            let line = line.split("//").next().unwrap_or("");
            for peer in PEERS {
                let prefix = format!("crate::{peer}::");
                for (at, _) in line.match_indices(&prefix) {
                    let rest = &line[at + prefix.len()..];
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    let submodule = name.starts_with(|c: char| c.is_ascii_lowercase())
                        && rest[name.len()..].starts_with("::");
                    if submodule {
                        found.push(format!("{}: crate::{peer}::{name}::", file.display()));
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "surfaces reaching into peers: {found:?}");
}

/// Surfaces reach the handlers only through dispatch (permission, cooldown, feature, logging).
#[test]
fn surfaces_reach_handlers_only_through_dispatch() {
    let offenders: Vec<String> = imports()
        .into_iter()
        .filter(|(file, modules)| module_of(file) == "surfaces" && modules.contains("handlers"))
        .map(|(file, _)| file)
        .collect();
    assert!(
        offenders.is_empty(),
        "surfaces importing handlers: {offenders:?}"
    );
}
