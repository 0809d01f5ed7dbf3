//! Typed arguments. Units live in the types; every constructor validates.

use crate::error::ValueProblem;
use std::fmt;
use std::str::FromStr;

/// A bitrate in kilobits per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Kbps(pub u32);

impl Kbps {
    /// Highest accepted value: 1 Gbps.
    pub const MAX: u32 = 1_000_000;

    /// `800`, `800k`, `800kbps`, `2.5m`, `2.5mbps` (case-insensitive).
    pub fn parse(text: &str) -> Result<Kbps, ValueProblem> {
        let lower = text.to_ascii_lowercase();
        let (number, scale) = if let Some(n) = strip_any(&lower, &["mbps", "mb", "m"]) {
            (n, 1000.0)
        } else if let Some(n) = strip_any(&lower, &["kbps", "kb", "k"]) {
            (n, 1.0)
        } else {
            (lower.as_str(), 1.0)
        };
        let value = parse_decimal(number)? * scale;
        in_range(value, Self::MAX).map(Kbps)
    }
}

impl fmt::Display for Kbps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} kbps", self.0)
    }
}

/// A duration or round-trip time in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u32);

impl Millis {
    /// Highest accepted value: 10 minutes.
    pub const MAX: u32 = 600_000;

    /// `1500`, `1500ms`, `1.5s` (case-insensitive).
    pub fn parse(text: &str) -> Result<Millis, ValueProblem> {
        let lower = text.to_ascii_lowercase();
        let (number, scale) = if let Some(n) = strip_any(&lower, &["ms"]) {
            (n, 1.0)
        } else if let Some(n) = strip_any(&lower, &["s"]) {
            (n, 1000.0)
        } else {
            (lower.as_str(), 1.0)
        };
        let value = parse_decimal(number)? * scale;
        in_range(value, Self::MAX).map(Millis)
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

fn strip_any<'a>(text: &'a str, suffixes: &[&str]) -> Option<&'a str> {
    suffixes.iter().find_map(|s| text.strip_suffix(s))
}

fn parse_decimal(text: &str) -> Result<f64, ValueProblem> {
    let ok = !text.is_empty()
        && text.chars().all(|c| c.is_ascii_digit() || c == '.')
        && text.chars().filter(|&c| c == '.').count() <= 1
        && text.chars().any(|c| c.is_ascii_digit());
    if !ok {
        return Err(ValueProblem::NotANumber);
    }
    text.parse::<f64>().map_err(|_| ValueProblem::NotANumber)
}

fn in_range(value: f64, max: u32) -> Result<u32, ValueProblem> {
    let rounded = value.round();
    if rounded < 0.0 || rounded > f64::from(max) {
        return Err(ValueProblem::OutOfRange {
            min: 0,
            max: u64::from(max),
        });
    }
    // In range by the check above, so the cast is exact.
    Ok(rounded as u32)
}

fn no_control(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

/// Free text: trimmed, 1 to `max` characters, no control characters.
fn free_text(text: &str, max: usize) -> Result<String, ValueProblem> {
    let text = text.trim();
    check_len(text, max)?;
    if text.is_empty() || !no_control(text) {
        return Err(ValueProblem::BadCharacters);
    }
    Ok(text.to_string())
}

fn check_len(text: &str, max: usize) -> Result<(), ValueProblem> {
    if text.chars().count() > max {
        Err(ValueProblem::TooLong { max })
    } else {
        Ok(())
    }
}

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = ValueProblem;
            fn from_str(text: &str) -> Result<Self, ValueProblem> {
                Self::parse(text)
            }
        }
    };
}

string_newtype!(
    /// An OBS scene name as typed: case kept, at most 256 characters, no control characters.
    SceneName
);

impl SceneName {
    pub const MAX_CHARS: usize = 256;

    pub fn parse(text: &str) -> Result<Self, ValueProblem> {
        free_text(text, Self::MAX_CHARS).map(SceneName)
    }
}

string_newtype!(
    /// An OBS source name as typed (an audio input for `mute`, a source for `source`): case
    /// kept, at most 256 characters (as [`SceneName`]), no control characters.
    SourceName
);

impl SourceName {
    pub const MAX_CHARS: usize = SceneName::MAX_CHARS;

    pub fn parse(text: &str) -> Result<Self, ValueProblem> {
        SceneName::parse(text).map(|name| SourceName(name.0))
    }
}

string_newtype!(
    /// A Twitch login: an optional leading `@` is dropped, lower-cased, 1–25 of `a-z 0-9 _`.
    ChannelLogin
);

impl ChannelLogin {
    pub const MAX_CHARS: usize = 25;

    pub fn parse(text: &str) -> Result<Self, ValueProblem> {
        let text = text.trim().trim_start_matches('@');
        check_len(text, Self::MAX_CHARS)?;
        if text.is_empty() || !text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ValueProblem::BadCharacters);
        }
        Ok(ChannelLogin(text.to_ascii_lowercase()))
    }
}

string_newtype!(
    /// A stream title: 1–140 characters (Twitch's limit), no control characters.
    TitleText
);

impl TitleText {
    pub const MAX_CHARS: usize = 140;

    pub fn parse(text: &str) -> Result<Self, ValueProblem> {
        free_text(text, Self::MAX_CHARS).map(TitleText)
    }
}

string_newtype!(
    /// A stream marker's description: 1–140 characters (Helix Create Stream Marker's limit), no
    /// control characters.
    MarkerText
);

impl MarkerText {
    pub const MAX_CHARS: usize = 140;

    pub fn parse(text: &str) -> Result<Self, ValueProblem> {
        free_text(text, Self::MAX_CHARS).map(MarkerText)
    }
}

/// A commercial's length in seconds: one of the lengths Helix Start Commercial serves (30, 60,
/// 90, 120, 150, 180); a length in between is rounded up to the next of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AdSeconds(u32);

impl AdSeconds {
    pub const MIN: u32 = 30;
    pub const MAX: u32 = 180;

    /// `90`, `90s`, `1.5m`, `3m` (case-insensitive).
    pub fn parse(text: &str) -> Result<AdSeconds, ValueProblem> {
        let lower = text.to_ascii_lowercase();
        let (number, scale) = if let Some(n) = strip_any(&lower, &["m", "min"]) {
            (n, 60.0)
        } else if let Some(n) = strip_any(&lower, &["s"]) {
            (n, 1.0)
        } else {
            (lower.as_str(), 1.0)
        };
        let value = parse_decimal(number)? * scale;
        let out_of_range = ValueProblem::OutOfRange {
            min: u64::from(Self::MIN),
            max: u64::from(Self::MAX),
        };
        let seconds = in_range(value, Self::MAX).map_err(|_| out_of_range.clone())?;
        if seconds < Self::MIN {
            return Err(out_of_range);
        }
        Ok(AdSeconds(seconds.div_ceil(30) * 30))
    }

    /// Seconds: a multiple of 30 in 30..=180.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for AdSeconds {
    /// Twitch's own default in the dashboard: one minute.
    fn default() -> Self {
        AdSeconds(60)
    }
}

string_newtype!(
    /// A category search: 1–100 characters, no control characters.
    CategoryQuery
);

impl CategoryQuery {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(text: &str) -> Result<Self, ValueProblem> {
        free_text(text, Self::MAX_CHARS).map(CategoryQuery)
    }
}

string_newtype!(
    /// A restream endpoint name: 1–32 of `A-Z a-z 0-9`, space, `_` and `-`.
    EndpointName
);

impl EndpointName {
    pub const MAX_CHARS: usize = 32;

    pub fn parse(text: &str) -> Result<Self, ValueProblem> {
        let text = text.trim();
        check_len(text, Self::MAX_CHARS)?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-');
        if text.is_empty() || !text.chars().all(allowed) {
            return Err(ValueProblem::BadCharacters);
        }
        Ok(EndpointName(text.to_string()))
    }
}

string_newtype!(
    /// A restream push URL: `rtmp://` or `rtmps://`, a host, at most 1024 characters, and none of
    /// whitespace, `;`, `{`, `}`, quotes, `#`, `$`, `\` or control characters (it ends up in nginx
    /// configuration). It holds a stream key: never print it unmasked.
    PushUrl
);

impl PushUrl {
    pub const MAX_CHARS: usize = 1024;

    pub fn parse(text: &str) -> Result<Self, ValueProblem> {
        check_len(text, Self::MAX_CHARS)?;
        let forbidden = |c: char| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, ';' | '{' | '}' | '"' | '\'' | '`' | '#' | '$' | '\\')
        };
        if text.chars().any(forbidden) {
            return Err(ValueProblem::BadCharacters);
        }
        let lower = text.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("rtmp://")
            .or_else(|| lower.strip_prefix("rtmps://"))
            .ok_or(ValueProblem::BadUrl)?;
        let host = rest.split(['/', ':']).next().unwrap_or("");
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '[' | ']'));
        if !host_ok || !text.is_ascii() {
            return Err(ValueProblem::BadUrl);
        }
        Ok(PushUrl(text.to_string()))
    }
}

string_newtype!(
    /// A service key from the configuration (not a unit name): 1–64 of `A-Z a-z 0-9 _ . @ -`.
    ServiceName
);

impl ServiceName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(text: &str) -> Result<Self, ValueProblem> {
        check_len(text, Self::MAX_CHARS)?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-');
        if text.is_empty() || !text.chars().all(allowed) {
            return Err(ValueProblem::BadCharacters);
        }
        Ok(ServiceName(text.to_string()))
    }
}

/// How many log lines to show: 1–1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineCount(pub u16);

impl LineCount {
    pub const MAX: u16 = 1000;

    pub fn parse(text: &str) -> Result<Self, ValueProblem> {
        if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit()) {
            return Err(ValueProblem::NotANumber);
        }
        let range = ValueProblem::OutOfRange {
            min: 1,
            max: u64::from(Self::MAX),
        };
        match text.parse::<u16>() {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(LineCount(n)),
            _ => Err(range),
        }
    }
}

/// `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Toggle {
    On,
    Off,
}

impl Toggle {
    pub(crate) const WORDS: &'static [&'static str] = &["on", "off"];

    pub(crate) fn from_word(word: &str) -> Toggle {
        if word == "on" {
            Toggle::On
        } else {
            Toggle::Off
        }
    }
}

/// The kinds of overlay alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    Low,
    Restored,
    Offline,
    Raid,
    Custom,
}

impl AlertKind {
    pub const ALL: [AlertKind; 5] = [
        AlertKind::Low,
        AlertKind::Restored,
        AlertKind::Offline,
        AlertKind::Raid,
        AlertKind::Custom,
    ];
    pub(crate) const WORDS: &'static [&'static str] =
        &["low", "restored", "offline", "raid", "custom"];

    /// The wire name, as in the overlay payload (`{type: "low"}`).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Low => "low",
            AlertKind::Restored => "restored",
            AlertKind::Offline => "offline",
            AlertKind::Raid => "raid",
            AlertKind::Custom => "custom",
        }
    }

    pub(crate) fn from_word(word: &str) -> AlertKind {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == word)
            .unwrap_or(AlertKind::Custom)
    }
}
