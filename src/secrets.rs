//! Secrets come from the environment (and an optional `.env`), never from `config.ron`.
//!
//! [`Secrets`] reads the documented variables once at start. [`Redactor`] knows every secret
//! value (including ones learnt at run time, e.g. refreshed tokens or stream keys) and masks them
//! in log output and rendered replies: **Invariant:** no secret reaches a log line, chat, Discord
//! or an HTTP answer.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock};

/// Every secret the bot reads from the environment, with what it is for (README lists them).
pub const VARIABLES: &[(&str, &str)] = &[
    ("OBS_PASSWORD", "obs-websocket server password"),
    ("TWITCH_CLIENT_ID", "Twitch application client id"),
    ("TWITCH_CLIENT_SECRET", "Twitch application client secret"),
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

    /// Load `.env` from the working directory if present (it never overrides variables already
    /// set), then read the environment.
    pub fn from_env() -> Secrets {
        // A missing `.env` is normal; a malformed one is reported by `check-config`.
        let _ = dotenvy::dotenv();
        Secrets::from_lookup(|name| std::env::var(name).ok())
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

/// Values shorter than this are not masked (they would mask ordinary words).
const MIN_SECRET_LEN: usize = 6;

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
        if value.len() < MIN_SECRET_LEN {
            return;
        }
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        if !known.iter().any(|k| k == value) {
            known.push(value.to_string());
            // Longest first, so a secret that contains another is masked whole.
            known.sort_by_key(|k| std::cmp::Reverse(k.len()));
        }
    }

    /// `text` with every known secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for secret in known.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }
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
        r.add("abc"); // too short to mask
        assert_eq!(
            r.redact("pw=hunter22 key=live_0123456789abcdef abc"),
            "pw=*** key=*** abc"
        );
    }

    #[test]
    fn redactor_masks_the_longer_secret_whole() {
        let r = Redactor::default();
        r.add("secret");
        r.add("secret-and-more");
        assert_eq!(r.redact("x secret-and-more y"), "x *** y");
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
