//! [`Context`]: what dispatch, handlers and surfaces share. It lives below them and above the
//! peers: it holds the peers' handles and a read-only view of [`Status`]; only the wiring
//! ([`crate::app`]) builds it and hands each peer the writer of its own part of Status.

use crate::config::Config;
use crate::dispatch::Cooldowns;
use crate::i18n::I18n;
use crate::reply::Reply;
use crate::secrets::{Redactor, Secrets};
use crate::status::{EarlyReceiver, EventBus, SharedStatus};
use std::sync::Arc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Everything a handler, surface or task needs. Shared as `Arc<Context>`; immutable except
/// through the channels and the small, lock-protected cooldown table.
#[derive(Debug)]
pub struct Context {
    pub config: Arc<Config>,
    pub secrets: Arc<Secrets>,
    /// The one TLS client configuration (system roots + `tls.extra_ca_files`), built once:
    /// every outgoing HTTP client and WebSocket starts from it.
    pub tls: crate::tls::Tls,
    /// Masks secrets in rendered replies and logs.
    pub redactor: Redactor,
    pub i18n: Arc<I18n>,
    /// The current state of everything.
    pub status: SharedStatus,
    /// Things that happened.
    pub events: EventBus,
    /// The writer of `Status.discord`, for the Discord surface.
    pub discord_status: crate::status::Publisher<Option<crate::status::DiscordStatus>>,
    pub cooldowns: Cooldowns,
    /// OBS, when configured.
    pub obs: Option<crate::obs::ObsHandle>,
    /// The bitrate guard's runtime controls, when configured.
    pub guard: Option<crate::guard::GuardHandle>,
    /// Twitch (Helix client, credentials, token), when configured.
    pub twitch: Option<Arc<crate::twitch::Twitch>>,
    /// Kick (API client, tokens), when configured.
    pub kick: Option<Arc<crate::kick::Kick>>,
    /// Kick chat's queues and readers' health, when Kick is configured.
    pub kick_links: Option<crate::kick::Links>,
    /// The stream PC's power peer, when configured.
    pub power: Option<crate::power::Power>,
    /// systemd services (restart, logs, follow), when configured.
    pub services: Option<crate::services::Services>,
    /// Restream endpoints (store, render, apply), when configured.
    pub restream: Option<Arc<crate::restream::Restream>>,
    /// The last 30 minutes of ingest bitrate, RTT and scene switches.
    pub history: Arc<crate::history::History>,
    /// Counters for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The overlay fan-out, when `web.overlay` is configured.
    pub alerts: Option<Arc<crate::alerts::Alerts>>,
    /// IP bans of the web server (state file `bans.json`), when `web` is configured.
    pub bans: Option<Arc<crate::web::bans::Bans>>,
    /// The event bus as seen from start by the history, metrics and overlay tasks.
    pub history_events: EarlyReceiver,
    pub metrics_events: EarlyReceiver,
    pub alert_events: EarlyReceiver,
    /// When the app started (paused-time aware in tests).
    pub started: Instant,
    /// Cancelled when the whole process shuts down.
    pub shutdown: CancellationToken,
}

impl Context {
    /// Render a reply for a surface: localised, secrets masked.
    pub fn render(&self, locale: &str, reply: &Reply) -> String {
        self.redactor.redact(&self.i18n.render(locale, reply))
    }
}
