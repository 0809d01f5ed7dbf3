//! The `log` section: format and filter of the log lines.

use serde::Deserialize;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    #[serde(default)]
    pub format: LogFormat,
    /// A tracing env-filter directive; `RUST_LOG` overrides it.
    #[serde(default = "default_log_filter")]
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::default(),
            filter: default_log_filter(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum LogFormat {
    /// Human-readable, one line per event.
    #[default]
    Pretty,
    /// One JSON object per line (for journald/Loki).
    Json,
}

pub(super) fn default_log_filter() -> String {
    "info".into()
}

/// A filter's text read into a filter, or why not. Non-ASCII text is refused before the parser:
/// tracing-subscriber 0.3's directive parser slices by byte and panics inside a multibyte
/// character (found by the `config` fuzz target, fuzz/regressions/config/).
pub fn parse_filter(text: &str) -> Result<EnvFilter, String> {
    if !text.is_ascii() {
        return Err("only ASCII characters".into());
    }
    EnvFilter::builder().parse(text).map_err(|e| e.to_string())
}
