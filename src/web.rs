//! The web server (axum): the read-only status page and its API (`status_page`), the OBS
//! overlay and the alert API (`overlay`), `/metrics`, embedded assets and `/healthz`.
//!
//! Every request passes `security`: client IP (trusted proxies only), bans (403), per-IP rate
//! limit (429), access keys per route group (401), security headers on every response.
//!
//! **Invariant:** the only route that changes state is `POST /api/alert`, and it needs the
//! alert token (`tests/it/web.rs`).

pub mod bans;
pub mod overlay;
pub mod security;
pub mod server;
pub mod status_page;

use crate::config::WebConfig;
use crate::i18n::I18n;
use crate::reply::Reply;
use crate::secrets::{Redactor, Secrets};
use crate::status::{Publisher, SharedStatus, WebStatus};
use anyhow::Context as _;
use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use include_dir::{Dir, include_dir};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio_util::sync::CancellationToken;

static ASSETS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/overlay");

/// The web server peer: what its routes read (Status, the history, the counters, the overlay
/// fan-out, the bans), the keys it checks, and the writer of `Status.web`. Built by the wiring.
pub struct Web {
    /// The `web` section.
    pub config: Arc<WebConfig>,
    /// Read and watched for `/api/status`, its stream and `/metrics`.
    pub status: SharedStatus,
    /// The writer of `Status.web` (the address, once listening).
    pub part: Publisher<Option<WebStatus>>,
    pub history: Arc<crate::history::History>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The overlay fan-out, when `web.overlay` is configured.
    pub alerts: Option<Arc<crate::alerts::Alerts>>,
    pub bans: Arc<bans::Bans>,
    /// `STATUS_KEY`, `OVERLAY_KEY`, `ALERT_TOKEN`.
    pub secrets: Arc<Secrets>,
    pub i18n: Arc<I18n>,
    pub redactor: Redactor,
    /// Kick's webhook route (`kick.reader: Webhook`): Kick posts chat there. Not keyed (Kick
    /// cannot send a key; its signature is checked instead), behind the same bans and limits.
    pub kick_webhook: Option<(String, crate::kick::WebhookReceiver)>,
}

impl Web {
    /// A reply for the page: localised, secrets masked.
    pub fn render(&self, locale: &str, reply: &Reply) -> String {
        self.redactor.redact(&self.i18n.render(locale, reply))
    }
}

/// The web task: bind, publish the address in Status, serve until shutdown.
pub async fn run(peer: Arc<Web>, token: CancellationToken) -> anyhow::Result<()> {
    let web = peer.config.clone();
    let listener =
        server::listen(web.bind).with_context(|| format!("cannot listen on {}", web.bind))?;
    let addr = listener.local_addr()?;
    peer.part.modify(|web| {
        *web = Some(WebStatus {
            listening: addr.to_string(),
        })
    });
    tracing::info!(%addr, "status page on http://{addr}/");
    let connections = Arc::new(server::Connections::default());
    let app = router(peer.clone(), token.clone(), connections.clone());
    let mut limits = web.limits.clone();
    limits.max_connections = server::fit_to_open_files(limits.max_connections);
    server::serve(
        listener,
        app,
        server::Serve {
            limits,
            trusted_proxies: web.trusted_proxies.clone(),
            metrics: peer.metrics.clone(),
            connections,
        },
        token,
    )
    .await;
    peer.part.modify(|web| *web = None);
    Ok(())
}

/// What every handler shares.
#[derive(Clone)]
pub struct WebState {
    pub peer: Arc<Web>,
    /// The `web` section.
    pub web: Arc<WebConfig>,
    /// Cancelled on shutdown: long-lived streams end.
    pub token: CancellationToken,
    pub limiter: Arc<security::RateLimiter>,
    /// Status pages connected to the live stream now.
    pub status_clients: Arc<AtomicUsize>,
    /// Overlays connected now (taken before the WebSocket upgrade, so the cap is exact).
    pub overlay_clients: Arc<AtomicUsize>,
    /// Open connections (for `/metrics`).
    pub connections: Arc<server::Connections>,
}

/// One place in a capped group of long-lived clients (status streams, overlays); dropping it
/// frees the place.
pub struct Slot(Arc<AtomicUsize>);

impl Slot {
    /// A place if fewer than `max` are taken.
    pub fn take(count: &Arc<AtomicUsize>, max: usize) -> Option<Slot> {
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(count.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// 503 for a stream or overlay beyond its cap.
pub(crate) fn busy(state: &WebState) -> Response {
    state
        .peer
        .metrics
        .http_refused(crate::metrics::Refusal::Busy);
    let mut response = security::refusal(StatusCode::SERVICE_UNAVAILABLE, "too many clients");
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("30"));
    response
}

/// All routes, with the security layers.
pub fn router(
    peer: Arc<Web>,
    token: CancellationToken,
    connections: Arc<server::Connections>,
) -> Router {
    let web = peer.config.clone();
    let kick_webhook = match &peer.kick_webhook {
        Some((path, receiver)) => crate::kick::webhook_router(path, receiver.clone()),
        None => Router::new(),
    };
    let state = WebState {
        peer,
        limiter: Arc::new(security::RateLimiter::new(
            web.rate_limit.per_second,
            web.rate_limit.burst,
            web.limits.max_rate_limit_entries,
        )),
        web,
        token,
        status_clients: Arc::new(AtomicUsize::new(0)),
        overlay_clients: Arc::new(AtomicUsize::new(0)),
        connections,
    };
    let keyed = |variable| {
        axum::middleware::from_fn_with_state(
            security::KeyGuard {
                state: state.clone(),
                variable,
            },
            security::require_key,
        )
    };
    let status = status_page::routes().route_layer(keyed("STATUS_KEY"));
    let overlay = overlay::page_routes().route_layer(keyed("OVERLAY_KEY"));
    Router::new()
        .merge(status)
        .merge(overlay)
        .merge(overlay::api_routes())
        .route("/assets/{file}", get(asset))
        .route("/assets/sounds/{file}", get(sound))
        .route("/healthz", get(healthz))
        .merge(kick_webhook)
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::guard_request,
        ))
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            security::security_headers,
        ))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn asset(Path(file): Path<String>) -> Response {
    asset_response(&file)
}

async fn sound(Path(file): Path<String>) -> Response {
    if file.contains('/') {
        return not_found_response();
    }
    asset_response(&format!("sounds/{file}"))
}

/// An embedded file by its path under `overlay/` (no `..`, no leading `/`).
pub(crate) fn asset_response(path: &str) -> Response {
    let content_type = match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("wav") => "audio/wav",
        _ => "application/octet-stream",
    };
    let safe = !path.split('/').any(|part| part.is_empty() || part == "..");
    match ASSETS.get_file(path).filter(|_| safe) {
        Some(f) => ([(header::CONTENT_TYPE, content_type)], f.contents()).into_response(),
        None => not_found_response(),
    }
}

/// An embedded text file.
pub(crate) fn asset_text(path: &str) -> &'static str {
    ASSETS
        .get_file(path)
        .and_then(|f| f.contents_utf8())
        .unwrap_or_default()
}

async fn not_found() -> Response {
    not_found_response()
}

pub(crate) fn not_found_response() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "application/json")],
        "{\"error\":\"not found\"}",
    )
        .into_response()
}
