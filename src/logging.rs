//! tracing setup: env-filter (`RUST_LOG` overrides the configured filter), pretty or JSON lines
//! on stderr. Every line passes through the [`Redactor`], so a secret that slips into a message
//! is masked before it is written.

pub use crate::config::parse_filter;
use crate::config::{LogConfig, LogFormat};
use crate::secrets::Redactor;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Where log lines go.
#[derive(Clone)]
pub enum Sink {
    Stderr,
    /// A buffer, for tests.
    Buffer(Arc<Mutex<Vec<u8>>>),
}

/// Makes one redacting writer per log event.
#[derive(Clone)]
pub struct RedactingMakeWriter {
    redactor: Redactor,
    sink: Sink,
}

impl RedactingMakeWriter {
    pub fn new(redactor: Redactor, sink: Sink) -> Self {
        RedactingMakeWriter { redactor, sink }
    }
}

/// Collects one event's bytes and writes them, redacted, when dropped.
pub struct RedactingWriter {
    redactor: Redactor,
    sink: Sink,
    buffer: Vec<u8>,
}

impl Write for RedactingWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let text = self.redactor.redact(&String::from_utf8_lossy(&self.buffer));
        self.buffer.clear();
        match &self.sink {
            Sink::Stderr => io::stderr().lock().write_all(text.as_bytes()),
            Sink::Buffer(buffer) => {
                buffer
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(text.as_bytes());
                Ok(())
            }
        }
    }
}

impl Drop for RedactingWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

impl<'a> MakeWriter<'a> for RedactingMakeWriter {
    type Writer = RedactingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            redactor: self.redactor.clone(),
            sink: self.sink.clone(),
            buffer: Vec::new(),
        }
    }
}

/// The filter: `RUST_LOG` if set and valid, else the configured one.
pub fn filter(config: &LogConfig) -> EnvFilter {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|env| parse_filter(&env).ok())
        .or_else(|| parse_filter(&config.filter).ok())
        .unwrap_or_else(|| EnvFilter::new("info"))
}

/// Build the subscriber (not installed), writing to `sink`.
pub fn subscriber(
    config: &LogConfig,
    filter: EnvFilter,
    redactor: Redactor,
    sink: Sink,
) -> Box<dyn tracing::Subscriber + Send + Sync> {
    let writer = RedactingMakeWriter::new(redactor, sink.clone());
    let ansi = matches!(sink, Sink::Stderr) && std::io::IsTerminal::is_terminal(&io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    match config.format {
        LogFormat::Pretty => Box::new(builder.with_target(false).finish()),
        LogFormat::Json => Box::new(builder.json().flatten_event(true).finish()),
    }
}

/// Install the global subscriber, and a panic hook that logs through it (so panic messages are
/// redacted too).
pub fn init(config: &LogConfig, redactor: Redactor) {
    let subscriber = subscriber(config, filter(config), redactor, Sink::Stderr);
    // Only fails when a subscriber is already installed (tests); keep the first.
    let _ = tracing::subscriber::set_global_default(subscriber);
    std::panic::set_hook(Box::new(|info| {
        tracing::error!(panic = %info, "panic");
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_are_redacted_in_both_formats() {
        for format in [LogFormat::Pretty, LogFormat::Json] {
            let redactor = Redactor::default();
            redactor.add("s3cr3t-token-value");
            let buffer = Arc::new(Mutex::new(Vec::new()));
            let config = LogConfig {
                format,
                filter: "info".into(),
            };
            let subscriber = subscriber(
                &config,
                EnvFilter::new("info"),
                redactor,
                Sink::Buffer(buffer.clone()),
            );
            tracing::subscriber::with_default(subscriber, || {
                tracing::info!(
                    token = "s3cr3t-token-value",
                    "connecting with s3cr3t-token-value"
                );
            });
            let out = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
            assert!(out.contains("connecting with ***"), "{out}");
            assert!(!out.contains("s3cr3t"), "{out}");
        }
    }
}
