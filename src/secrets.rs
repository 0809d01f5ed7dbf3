//! Secrets come from the environment (and an optional `.env`), never from `config.ron`.
//!
//! [`Secrets`] reads the documented variables once at start. [`Redactor`] knows every secret
//! value (including ones learnt at run time, e.g. refreshed tokens or stream keys) and masks them
//! in log output and rendered replies: **Invariant:** no secret reaches a log line, chat, Discord
//! or an HTTP answer. The redactor also masks the forms a secret takes once escaped with
//! backslashes: in JSON (`\"`, `\\`, `\/`, `\uXXXX`) and in Discord markdown (`\_`, `\*`), so
//! escaping cannot split a secret past it (secrets with control characters are matched raw only). Secrets shorter than [`MIN_SECRET_LEN`] are refused at start
//! ([`Secrets::too_short`]): masking them would hit ordinary words, leaving them unmasked would
//! leak them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Every secret the bot reads from the environment, with what it is for (docs/setup.md, "Environment", lists them).
pub const VARIABLES: &[(&str, &str)] = &[
    ("OBS_PASSWORD", "obs-websocket server password"),
    ("TWITCH_CLIENT_ID", "Twitch application client id"),
    ("TWITCH_CLIENT_SECRET", "Twitch application client secret"),
    ("KICK_CLIENT_ID", "Kick application client id"),
    ("KICK_CLIENT_SECRET", "Kick application client secret"),
    ("DISCORD_TOKEN", "Discord bot token"),
    (
        "ALERT_TOKEN",
        "shared secret for POST /api/alert (header X-Alert-Token)",
    ),
    (
        "OVERLAY_KEY",
        "access key for /overlay and /ws/overlay (?key=)",
    ),
    (
        "STATUS_KEY",
        "access key for the status page, its API and /metrics (?key=)",
    ),
];

/// A secret value. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that sends it where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The secrets present in the environment.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    values: BTreeMap<&'static str, Secret>,
}

impl Secrets {
    /// Read every variable in [`VARIABLES`] through `lookup` (the process environment in
    /// production, a map in tests). Empty values count as absent.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Secrets {
        let values = VARIABLES
            .iter()
            .filter_map(|(name, _)| {
                let value = lookup(name)?;
                let value = value.trim();
                (!value.is_empty()).then(|| (*name, Secret::new(value)))
            })
            .collect();
        Secrets { values }
    }

    /// Load the `.env` beside the configuration file `config` if present (never the working
    /// directory's: who starts the bot from elsewhere must not feed it secrets; it never
    /// overrides variables already set), then read the environment.
    pub fn from_env(config: &Path) -> Secrets {
        // A missing `.env` is normal; a malformed one is reported by `doctor`.
        let _ = dotenvy::from_path(env_file(config));
        Secrets::from_lookup(|name| std::env::var(name).ok())
    }

    /// The variables whose value is shorter than [`MIN_SECRET_LEN`] characters (names only): the
    /// bot refuses to start with any, as the redactor could not mask them safely.
    pub fn too_short(&self) -> Vec<&'static str> {
        self.values
            .iter()
            .filter(|(_, secret)| secret.expose().chars().count() < MIN_SECRET_LEN)
            .map(|(name, _)| *name)
            .collect()
    }

    /// What is wrong with a too-short secret `name` (never its value), for `run` and `doctor`.
    pub fn too_short_problem(name: &str) -> String {
        format!(
            "{name} is shorter than {MIN_SECRET_LEN} characters: too short to be masked in logs \
             and chat safely (the bot refuses to start); use a longer value"
        )
    }

    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.values.get(name)
    }

    /// Which variables are set (names only).
    pub fn present(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.values.keys().copied()
    }

    fn values(&self) -> impl Iterator<Item = &Secret> {
        self.values.values()
    }
}

/// Masks every known secret value in text. Cheap to clone; shared by logging and surfaces.
#[derive(Clone, Default)]
pub struct Redactor {
    known: Arc<RwLock<Vec<String>>>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Redactor")
    }
}

/// Secrets shorter than this (in characters) are refused at start, and run-time values shorter
/// than this are not masked: masking 7-letter values would hit ordinary words (`welcome`), and
/// no generated token, key or password of ours is that short.
pub const MIN_SECRET_LEN: usize = 8;

/// The files that hold secrets: `env_file` (the configuration's `.env`) and the Twitch and Kick
/// token files in the state directory.
pub fn secret_files(env_file: Option<&Path>, config: &crate::config::Config) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = env_file.map(Path::to_path_buf).into_iter().collect();
    for name in [
        crate::twitch::auth::TOKEN_FILE,
        crate::twitch::auth::BOT_TOKEN_FILE,
        crate::kick::auth::TOKEN_FILE,
        crate::kick::auth::BOT_TOKEN_FILE,
    ] {
        files.push(config.state_dir.join(name));
    }
    files
}

/// Those of `files` that exist and that their group or everyone may read (or write).
pub fn exposed_files(files: &[PathBuf]) -> Vec<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    files
        .iter()
        .filter(|file| std::fs::metadata(file).is_ok_and(|m| m.permissions().mode() & 0o077 != 0))
        .cloned()
        .collect()
}

/// The `.env` file read with the configuration at `config`: the one beside it.
pub fn env_file(config: &Path) -> PathBuf {
    config
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(".env")
}

impl Redactor {
    pub fn new(secrets: &Secrets) -> Redactor {
        let redactor = Redactor::default();
        for secret in secrets.values() {
            redactor.add(secret.expose());
        }
        redactor
    }

    /// Learn a secret at run time (a refreshed token, a new stream key).
    pub fn add(&self, value: &str) {
        if value.chars().count() < MIN_SECRET_LEN {
            return;
        }
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        if !known.iter().any(|k| k == value) {
            known.push(value.to_string());
            // Longest first, so a secret that contains another is masked whole.
            known.sort_by_key(|k| std::cmp::Reverse(k.len()));
        }
    }

    /// `text` with every known secret replaced by `***`, whether written raw or escaped with
    /// backslashes (JSON, Discord markdown).
    pub fn redact(&self, text: &str) -> String {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for secret in known.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        if out.contains('\\') {
            out = mask_escaped(&out, &known);
        }
        out
    }
}

/// `text` with every secret that shows once its backslash escapes are undone (`\x` → `x`,
/// `\uXXXX` and surrogate pairs → the character) replaced by `***`, escapes and all.
fn mask_escaped(text: &str, known: &[String]) -> String {
    // The unescaped text, and for each of its characters: its byte offset there, and the byte
    // range in `text` it came from.
    let mut plain = String::with_capacity(text.len());
    let mut sources: Vec<(usize, usize, usize)> = Vec::new();
    let mut rest = text.char_indices().peekable();
    while let Some((start, c)) = rest.next() {
        let (decoded, end) = if c != '\\' {
            (c, start + c.len_utf8())
        } else if let Some((decoded, end)) = unicode_escape(text, start) {
            while rest.peek().is_some_and(|(i, _)| *i < end) {
                rest.next();
            }
            (decoded, end)
        } else if let Some((i, next)) = rest.next() {
            (next, i + next.len_utf8())
        } else {
            (c, start + 1)
        };
        sources.push((plain.len(), start, end));
        plain.push(decoded);
    }
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for secret in known {
        for (offset, matched) in plain.match_indices(secret.as_str()) {
            let first = sources.partition_point(|(p, _, _)| *p < offset);
            let last = sources.partition_point(|(p, _, _)| *p < offset + matched.len()) - 1;
            spans.push((sources[first].1, sources[last].2));
        }
    }
    if spans.is_empty() {
        return text.to_string();
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for (start, end) in spans {
        if end <= done {
            continue;
        }
        out.push_str(&text[done..start.max(done)]);
        out.push_str("***");
        done = end;
    }
    out.push_str(&text[done..]);
    out
}

/// The character a JSON `\uXXXX` escape at byte `at` of `text` stands for (a surrogate pair
/// `\uD83D\uDE00` as one), and the byte offset after it.
fn unicode_escape(text: &str, at: usize) -> Option<(char, usize)> {
    let unit = |i: usize| -> Option<u16> {
        let hex = text.get(i..i + 6)?.strip_prefix("\\u")?;
        u16::from_str_radix(hex, 16).ok()
    };
    let high = unit(at)?;
    if let Some(c) = char::from_u32(u32::from(high)) {
        return Some((c, at + 6));
    }
    let low = unit(at + 6)?;
    let c = char::decode_utf16([high, low]).next()?.ok()?;
    Some((c, at + 12))
}

/// A stream key or URL with a key, masked for display: `live_abc…xyz` keeps 4 characters at
/// each end of the last path segment (and nothing of keys shorter than 12 characters).
pub fn mask_key(text: &str) -> String {
    let (head, key) = match text.rfind('/') {
        Some(i) => text.split_at(i + 1),
        None => ("", text),
    };
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 12 {
        return format!("{head}***");
    }
    let start: String = chars[..4].iter().collect();
    let end: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{start}…{end}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(pairs: &[(&str, &str)]) -> Secrets {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Secrets::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn reads_only_documented_non_empty_variables() {
        let s = secrets(&[
            ("OBS_PASSWORD", "hunter22"),
            ("DISCORD_TOKEN", "  "),
            ("OTHER", "x"),
        ]);
        assert_eq!(s.present().collect::<Vec<_>>(), vec!["OBS_PASSWORD"]);
        assert_eq!(s.get("OBS_PASSWORD").map(Secret::expose), Some("hunter22"));
    }

    #[test]
    fn debug_never_shows_the_value() {
        let s = secrets(&[("OBS_PASSWORD", "hunter22")]);
        assert!(!format!("{s:?}").contains("hunter22"));
        assert_eq!(Secret::new("hunter22").to_string(), "***");
    }

    #[test]
    fn redactor_masks_known_and_learnt_secrets() {
        let r = Redactor::new(&secrets(&[("OBS_PASSWORD", "hunter22")]));
        r.add("live_0123456789abcdef");
        r.add("welcome"); // too short to mask
        assert_eq!(
            r.redact("pw=hunter22 key=live_0123456789abcdef welcome"),
            "pw=*** key=*** welcome"
        );
    }

    #[test]
    fn redactor_masks_the_longer_secret_whole() {
        let r = Redactor::default();
        r.add("secret");
        r.add("secret-and-more");
        assert_eq!(r.redact("x secret-and-more y"), "x *** y");
    }

    /// One secret with every character JSON or Discord markdown escapes, and non-ASCII.
    const ODD: &str = "k_e*y\"q\\/ø😀end";

    fn check(escaped: &str) {
        let r = Redactor::default();
        r.add(ODD);
        let text = format!("before {escaped} after");
        assert_eq!(r.redact(&text), "before *** after", "{escaped}");
    }

    #[test]
    fn redactor_masks_json_escaped_secrets() {
        let json = serde_json::to_string(ODD).unwrap();
        check(&json[1..json.len() - 1]);
        check(r#"k_e*y\"q\\\/ø😀end"#);
        check(r#"k_e*y\"q\\\/\u00f8\ud83d\ude00end"#);
        check(r#"k_e*y\"q\\\/\u00F8\uD83D\uDE00end"#);
        // A whole JSON log line.
        let r = Redactor::default();
        r.add(ODD);
        let line = serde_json::json!({ "fields": { "message": format!("got {ODD}") } }).to_string();
        assert!(!r.redact(&line).contains("end"), "{}", r.redact(&line));
    }

    #[test]
    fn redactor_masks_markdown_escaped_secrets() {
        check(r#"k\_e\*y"q\\/ø😀end"#);
        check(r#"k\_e\*y\"q\\\/ø😀end"#);
        let r = Redactor::default();
        r.add("live_ab*cd_ef");
        assert_eq!(
            r.redact(r"key live\_ab\*cd\_ef\_\_ ok\\"),
            r"key ***\_\_ ok\\"
        );
        assert_eq!(r.redact(r"no \secret here\"), r"no \secret here\");
    }

    #[test]
    fn too_short_secrets_are_named_not_shown() {
        let s = secrets(&[("OBS_PASSWORD", "1234567"), ("DISCORD_TOKEN", "12345678")]);
        assert_eq!(s.too_short(), vec!["OBS_PASSWORD"]);
    }

    #[test]
    fn env_file_is_beside_the_config() {
        assert_eq!(
            env_file(Path::new("/etc/sc/config.ron")),
            Path::new("/etc/sc/.env")
        );
        assert_eq!(env_file(Path::new("config.ron")), Path::new("./.env"));
    }

    #[test]
    fn mask_key_keeps_only_the_ends() {
        assert_eq!(
            mask_key("rtmp://host/app/live_123456789_abcdefghij"),
            "rtmp://host/app/live…ghij"
        );
        assert_eq!(mask_key("short"), "***");
        assert_eq!(mask_key("rtmp://h/app/k"), "rtmp://h/app/***");
    }
}
