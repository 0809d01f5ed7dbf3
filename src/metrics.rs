//! Counters for `/metrics` (Prometheus text format 0.0.4).
//!
//! Counters are fed from the event bus by the supervised task [`run`] (commands, scene switches,
//! guard transitions, OBS and EventSub reconnects) and directly by the web server (alerts sent,
//! requests refused). Gauges (ingest bitrate and RTT per server, connected clients) are read from
//! `Status` and the live client counts when `/metrics` is scraped. One `std::sync::Mutex`,
//! touched only in synchronous code.

use crate::status::Events;
use crate::status::{Event, ServerStatus, Status};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Why the web server refused a request (a label of `stream_control_http_refused_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Refusal {
    /// The client IP is banned.
    Banned,
    /// Over the per-IP rate limit.
    RateLimited,
    /// A wrong access key or alert token was presented.
    BadKey,
    /// An access key was needed and none was given.
    NoKey,
    /// A page without an access key was asked for under a host name that is not the bot's (DNS
    /// rebinding).
    UnknownHost,
    /// The status stream or overlay already has its most clients.
    Busy,
    /// The request was not answered within `web.limits.request_timeout`.
    Timeout,
    /// A connection over `web.limits.max_connections` or `max_connections_per_ip`, closed at once.
    TooManyConnections,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Banned => "banned",
            Refusal::RateLimited => "rate_limited",
            Refusal::BadKey => "bad_key",
            Refusal::NoKey => "no_key",
            Refusal::UnknownHost => "unknown_host",
            Refusal::Busy => "busy",
            Refusal::Timeout => "timeout",
            Refusal::TooManyConnections => "too_many_connections",
        }
    }
}

/// Live client counts, read at scrape time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clients {
    /// Overlays connected to `/ws/overlay`.
    pub overlay: usize,
    /// Status pages connected to `/api/status/stream`.
    pub status: usize,
    /// Open connections to the web server.
    pub connections: usize,
}

/// Every counter. Shared as `Arc<Metrics>` (in `context::Context`).
#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    /// (command, surface, outcome)
    commands: BTreeMap<(&'static str, &'static str, &'static str), u64>,
    /// by (guard, command, raid)
    scene_switches: BTreeMap<&'static str, u64>,
    /// (to, cause)
    guard_transitions: BTreeMap<(&'static str, &'static str), u64>,
    /// (connection, cause)
    reconnects: BTreeMap<(&'static str, &'static str), u64>,
    /// Whether OBS was lost since it last connected (the next connect is a reconnect).
    obs_lost: bool,
    /// by alert type
    overlay_alerts: BTreeMap<&'static str, u64>,
    http_refused: BTreeMap<Refusal, u64>,
    events_missed: u64,
}

/// Prometheus label values: backslash, double quote and newline escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes one metric family: `# HELP`, `# TYPE`, then its samples.
struct Family<'a> {
    out: &'a mut String,
    name: &'static str,
}

impl<'a> Family<'a> {
    fn new(out: &'a mut String, name: &'static str, kind: &str, help: &str) -> Family<'a> {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        Family { out, name }
    }

    fn sample(&mut self, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.out.push_str(self.name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (label, text)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{label}=\"{}\"", escape(text));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Count what an event says.
    pub fn observe(&self, event: &Event) {
        let mut c = self.lock();
        match event {
            Event::CommandHandled {
                surface,
                command,
                outcome,
                ..
            } => {
                *c.commands
                    .entry((command, surface.as_str(), outcome.as_str()))
                    .or_default() += 1;
            }
            Event::SceneSwitched { by, .. } => {
                *c.scene_switches.entry(by.as_str()).or_default() += 1;
            }
            Event::BitrateLow(t) | Event::BitrateRestored(t) | Event::IngestOffline(t)
                if !t.dry_run =>
            {
                *c.guard_transitions.entry((t.to, t.cause)).or_default() += 1;
            }
            Event::ObsLost { .. } => c.obs_lost = true,
            Event::ObsConnected { .. } => {
                // The first connect is not a reconnect (the series starts at 0).
                let was_lost = std::mem::take(&mut c.obs_lost);
                *c.reconnects.entry(("obs", "lost")).or_default() += u64::from(was_lost);
            }
            Event::EventSubReconnected { requested } => {
                let cause = if *requested { "requested" } else { "lost" };
                *c.reconnects.entry(("eventsub", cause)).or_default() += 1;
            }
            _ => {}
        }
    }

    /// An alert went out to the overlays.
    pub fn overlay_alert(&self, kind: commands::AlertKind) {
        *self.lock().overlay_alerts.entry(kind.as_str()).or_default() += 1;
    }

    /// The web server refused a request.
    pub fn http_refused(&self, why: Refusal) {
        *self.lock().http_refused.entry(why).or_default() += 1;
    }

    /// Events the counting task missed because it fell behind.
    pub fn events_missed(&self, missed: u64) {
        self.lock().events_missed += missed;
    }

    /// How many requests were refused for this reason so far.
    pub fn refused(&self, why: Refusal) -> u64 {
        self.lock().http_refused.get(&why).copied().unwrap_or(0)
    }

    /// The Prometheus text exposition.
    pub fn render(&self, status: &Status, clients: Clients) -> String {
        let mut out = String::new();
        Family::new(
            &mut out,
            "stream_control_build_info",
            "gauge",
            "The running version.",
        )
        .sample(&[("version", status.version)], 1);
        let uptime = crate::status::now_unix().saturating_sub(status.started_at_unix);
        Family::new(
            &mut out,
            "stream_control_uptime_seconds",
            "gauge",
            "Seconds since the bot started.",
        )
        .sample(&[], uptime);
        let servers = status
            .guard
            .as_ref()
            .map(|g| g.servers.as_slice())
            .unwrap_or_default();
        for (name, help, value) in [
            (
                "stream_control_ingest_bitrate_kbps",
                "Ingest bitrate per stats server, kbps (absent while the server has no number).",
                (|s: &ServerStatus| s.bitrate_kbps) as fn(&ServerStatus) -> Option<u32>,
            ),
            (
                "stream_control_ingest_rtt_ms",
                "Ingest round-trip time per stats server, milliseconds.",
                |s: &ServerStatus| s.rtt_ms,
            ),
        ] {
            let mut f = Family::new(&mut out, name, "gauge", help);
            for server in servers {
                if let Some(v) = value(server) {
                    f.sample(&[("server", &server.name)], v);
                }
            }
        }
        if let Some(obs) = &status.obs {
            let mut f = Family::new(
                &mut out,
                "stream_control_obs_upload_problem",
                "gauge",
                "1 while an upload alert (obs.upload) is in force, else 0.",
            );
            for problem in crate::status::UploadProblem::ALL {
                let on = u8::from(obs.upload_problems.contains(&problem));
                f.sample(&[("problem", problem.as_str())], on);
            }
        }
        Family::new(
            &mut out,
            "stream_control_overlay_clients",
            "gauge",
            "Overlays connected to /ws/overlay.",
        )
        .sample(&[], clients.overlay);
        Family::new(
            &mut out,
            "stream_control_status_clients",
            "gauge",
            "Status pages connected to /api/status/stream.",
        )
        .sample(&[], clients.status);
        Family::new(
            &mut out,
            "stream_control_http_connections",
            "gauge",
            "Open connections to the web server (web.limits.max_connections at most).",
        )
        .sample(&[], clients.connections);

        let c = self.lock();
        let mut f = Family::new(
            &mut out,
            "stream_control_commands_total",
            "counter",
            "Commands by name, surface and outcome.",
        );
        for ((command, surface, outcome), n) in &c.commands {
            f.sample(
                &[
                    ("command", command),
                    ("surface", surface),
                    ("outcome", outcome),
                ],
                n,
            );
        }
        let mut f = Family::new(
            &mut out,
            "stream_control_scene_switches_total",
            "counter",
            "Scene switches by the bot, by who switched (guard, command, raid).",
        );
        for (by, n) in &c.scene_switches {
            f.sample(&[("by", by)], n);
        }
        let mut f = Family::new(
            &mut out,
            "stream_control_guard_transitions_total",
            "counter",
            "Guard decisions (not dry runs) by target level and reason.",
        );
        for ((to, cause), n) in &c.guard_transitions {
            f.sample(&[("to", to), ("cause", cause)], n);
        }
        let mut f = Family::new(
            &mut out,
            "stream_control_reconnects_total",
            "counter",
            "Reconnects by connection (obs, eventsub) and cause (lost, requested by Twitch).",
        );
        for ((connection, cause), n) in &c.reconnects {
            f.sample(&[("connection", connection), ("cause", cause)], n);
        }
        let mut f = Family::new(
            &mut out,
            "stream_control_overlay_alerts_total",
            "counter",
            "Alerts sent to the overlays, by type.",
        );
        for (kind, n) in &c.overlay_alerts {
            f.sample(&[("type", kind)], n);
        }
        let mut f = Family::new(
            &mut out,
            "stream_control_http_refused_total",
            "counter",
            "Requests (and connections) refused by the web server, by reason.",
        );
        for (why, n) in &c.http_refused {
            f.sample(&[("reason", why.as_str())], n);
        }
        Family::new(
            &mut out,
            "stream_control_events_missed_total",
            "counter",
            "Events the metrics task missed because it fell behind.",
        )
        .sample(&[], c.events_missed);
        drop(c);
        out
    }
}

/// The counting task: every event on the bus, from the start.
pub async fn run(
    metrics: Arc<Metrics>,
    mut events: Events,
    token: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        tokio::select! {
            _ = token.cancelled() => return Ok(()),
            event = events.recv() => match event {
                Ok(event) => metrics.observe(&event),
                Err(broadcast::error::RecvError::Lagged(missed)) => metrics.events_missed(missed),
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::Surface;
    use crate::reply::Outcome;
    use crate::status::SwitchedBy;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn obs_reconnects_count_connects_after_a_loss_only() {
        let metrics = Metrics::new();
        let connected = Event::ObsConnected {
            version: "31".into(),
        };
        metrics.observe(&connected);
        metrics.observe(&Event::ObsLost { reason: "x".into() });
        metrics.observe(&Event::ObsLost { reason: "x".into() });
        metrics.observe(&connected);
        metrics.observe(&Event::EventSubReconnected { requested: true });
        metrics.observe(&Event::SceneSwitched {
            by: SwitchedBy::Guard,
            from: None,
            to: "LOW".into(),
        });
        metrics.observe(&Event::CommandHandled {
            surface: Surface::Twitch,
            user_id: "1".into(),
            command: "brb",
            outcome: Outcome::Done,
        });
        let text = metrics.render(
            &Status::new(Default::default(), 0),
            Clients {
                overlay: 3,
                status: 0,
                connections: 7,
            },
        );
        for line in [
            "stream_control_reconnects_total{connection=\"obs\",cause=\"lost\"} 1",
            "stream_control_reconnects_total{connection=\"eventsub\",cause=\"requested\"} 1",
            "stream_control_scene_switches_total{by=\"guard\"} 1",
            "stream_control_commands_total{command=\"brb\",surface=\"twitch\",outcome=\"done\"} 1",
            "stream_control_overlay_clients 3",
            "stream_control_http_connections 7",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}
