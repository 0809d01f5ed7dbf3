//! Architecture invariants that a compiler cannot check (docs/architecture.md, "Invariants").

use std::path::{Path, PathBuf};
use stream_control::config::Feature;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// No file under `src/` but `owner` contains any of `forbidden`; `fix` says what to use instead.
fn only_owner_contains(owner: &str, forbidden: &[&str], fix: &str) {
    for path in rust_files(&root().join("src")) {
        if path.ends_with(owner) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for word in forbidden {
            assert!(
                !text.contains(word),
                "{} uses {word}: {fix}",
                path.display()
            );
        }
    }
}

/// Invariant 1: `commands` depends on std + thiserror only.
#[test]
fn the_commands_crate_has_no_io_dependency() {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let package = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "commands")
        .expect("the commands package");
    let normal: Vec<&str> = package["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"].is_null())
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(normal, vec!["thiserror"]);
}

/// Invariant 7: state files are only written atomically, through `state_store`.
#[test]
fn only_state_store_writes_files() {
    only_owner_contains(
        "src/state_store.rs",
        &[
            "fs::write(",
            "File::create(",
            "OpenOptions::new(",
            "tokio::fs::write",
        ],
        "write through state_store",
    );
}

/// Invariant 8: tests only talk to 127.0.0.1 (no IP literal other than loopback in a URL).
#[test]
fn tests_name_no_address_but_loopback() {
    let mut files = rust_files(&root().join("tests"));
    files.extend(rust_files(&root().join("src")));
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, _) in text.match_indices("://") {
            let host: String = text[i + 3..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let is_ip = host.split('.').filter(|p| !p.is_empty()).count() == 4;
            assert!(
                !is_ip || host.starts_with("127.") || host == "0.0.0.0",
                "{}: URL to {host}",
                path.display()
            );
        }
    }
}

/// Each feature has the same name on every floor: the vocabulary module `commands/src/<f>.rs`,
/// its handler `src/handlers/<f>.rs`, its configuration section `src/config/<f>.rs` (a
/// [`Feature`] of that name) and its section `# <f>` (or `# <f>: …`) in every locale's
/// `replies.ftl`. The list is the vocabulary crate's own `pub mod`s, so a new feature module
/// cannot be left out. `meta` (the bot's own commands) has no configuration section.
#[test]
fn every_vocabulary_module_has_its_handler_config_section_and_locale_section_of_the_same_name() {
    let lib = std::fs::read_to_string(root().join("commands/src/lib.rs")).unwrap();
    let modules: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';'))
        .collect();
    assert!(modules.len() >= 9, "{modules:?}");
    let features: Vec<&str> = Feature::ALL.iter().map(|f| f.name()).collect();
    let locales: Vec<(PathBuf, String)> = std::fs::read_dir(root().join("locales"))
        .unwrap()
        .map(|d| d.unwrap().path().join("replies.ftl"))
        .map(|p| (p.clone(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    assert!(locales.len() >= 2);
    for module in &modules {
        assert!(
            root().join(format!("src/handlers/{module}.rs")).exists(),
            "no handler src/handlers/{module}.rs"
        );
        for (path, text) in &locales {
            let heading = format!("# {module}");
            assert!(
                text.lines()
                    .any(|l| l == heading || l.starts_with(&format!("{heading}:"))),
                "{}: no section {heading:?}",
                path.display()
            );
        }
        if *module == "meta" {
            continue;
        }
        assert!(features.contains(module), "{module} is not a Feature");
        assert!(
            root().join(format!("src/config/{module}.rs")).exists(),
            "no configuration section src/config/{module}.rs"
        );
    }
    for feature in &features {
        assert!(
            root().join(format!("src/config/{feature}.rs")).exists(),
            "no configuration section src/config/{feature}.rs"
        );
    }
    let handlers = rust_files(&root().join("src/handlers"));
    assert_eq!(
        handlers.len(),
        modules.len(),
        "a handler without a vocabulary module"
    );
}

/// `docs/architecture.md`'s code map names every module, so it stays true to the code.
///
/// The rule: under its `## Code map` heading, every top-level module (`src/x.rs` or `src/x/`,
/// and `main` for `src/main.rs`) is named in backticks as `` `x` ``, and every module one level
/// down (`src/x/y.rs` or `src/x/y/`) as `` `x::y` `` or inside a group `` `x::{a, y, b}` ``.
/// Deeper modules (`guard::stats::nginx`, `demo::obs_sim::state`) belong to their parent's entry.
#[test]
fn architecture_code_map_names_every_module() {
    let page = std::fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    let map = page
        .split("\n## Code map")
        .nth(1)
        .expect("docs/architecture.md has a Code map section");
    let map = map.split("\n## ").next().unwrap();
    // Every `x::…` path the map names, groups expanded.
    let mut named = std::collections::BTreeSet::new();
    for span in map.split('`').skip(1).step_by(2) {
        match span.split_once("::{") {
            Some((parent, group)) => {
                for child in group.trim_end_matches('}').split(',') {
                    named.insert(format!("{parent}::{}", child.trim()));
                }
            }
            None => {
                named.insert(span.to_string());
            }
        }
    }
    let module = |path: &Path| -> String {
        let name = path.file_name().unwrap().to_string_lossy();
        name.strip_suffix(".rs").unwrap_or(&name).to_string()
    };
    let mut modules = Vec::new();
    for entry in std::fs::read_dir(root().join("src")).unwrap() {
        let top = entry.unwrap().path();
        let x = module(&top);
        if x == "lib" {
            continue;
        }
        modules.push(x.clone());
        if top.is_dir() {
            for entry in std::fs::read_dir(&top).unwrap() {
                let y = module(&entry.unwrap().path());
                modules.push(format!("{x}::{y}"));
            }
        }
    }
    modules.sort();
    modules.dedup();
    assert!(modules.len() > 60, "{modules:?}");
    let missing: Vec<&String> = modules.iter().filter(|m| !named.contains(*m)).collect();
    assert!(
        missing.is_empty(),
        "docs/architecture.md's code map does not name {missing:?}"
    );
}

/// Programs (nginx, systemctl, journalctl, ssh) are started only by `src/exec.rs`: argv items,
/// never a shell, a timeout, killed when dropped.
#[test]
fn only_exec_starts_programs_and_never_through_a_shell() {
    only_owner_contains(
        "src/exec.rs",
        &["process::Command", "Command::new("],
        "start programs through exec::CommandLine",
    );
    for path in rust_files(&root().join("src")) {
        let text = std::fs::read_to_string(&path).unwrap();
        for shell in ["\"sh\"", "\"/bin/sh\"", "\"bash\"", "\"/bin/bash\""] {
            assert!(!text.contains(shell), "{} names a shell", path.display());
        }
    }
    let exec = std::fs::read_to_string(root().join("src/exec.rs")).unwrap();
    assert!(exec.contains(".kill_on_drop(true)"));
}

/// Outgoing TLS has one provider and one trust source: every reqwest client and WebSocket of the
/// product is built in `src/tls.rs` from its one client configuration (`src/tls.rs` tests:
/// `wss://` and `https` send a ClientHello, `ws://` stays plain, extra CA files are trusted).
#[test]
fn only_tls_builds_http_clients_and_websockets() {
    only_owner_contains(
        "src/tls.rs",
        &["Client::builder()", "connect_async", "reqwest::get("],
        "build clients through tls::Tls::http_client or tls::Tls::websocket",
    );
}
