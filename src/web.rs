//! The web server (axum): the read-only status page, `/api/status` (JSON, versioned schema, no
//! secrets), `/api/status/stream` (server-sent events of the same JSON on every change) and
//! `/healthz`. Security headers on every response. No route changes state.

use crate::app::Context;
use crate::status::{Status, WebStatus};
use anyhow::Context as _;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;
use include_dir::{Dir, include_dir};
use serde::Serialize;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

static ASSETS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/overlay");

/// The web task: bind, publish the address in Status, serve until shutdown.
pub async fn run(ctx: Arc<Context>, token: CancellationToken) -> anyhow::Result<()> {
    let Some(web) = ctx.config.web.clone() else {
        return Ok(());
    };
    let listener = tokio::net::TcpListener::bind(web.bind)
        .await
        .with_context(|| format!("cannot listen on {}", web.bind))?;
    let addr = listener.local_addr()?;
    ctx.status.send_modify(|s| {
        s.web = Some(WebStatus {
            listening: addr.to_string(),
        })
    });
    tracing::info!(%addr, "status page on http://{addr}/");
    let app = router(ctx.clone(), token.clone());
    axum::serve(listener, app)
        .with_graceful_shutdown(token.cancelled_owned())
        .await
        .context("web server")?;
    ctx.status.send_modify(|s| s.web = None);
    Ok(())
}

#[derive(Clone)]
struct AppState {
    ctx: Arc<Context>,
    token: CancellationToken,
}

/// All routes, with security headers.
pub fn router(ctx: Arc<Context>, token: CancellationToken) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/assets/{file}", get(asset))
        .route("/api/status", get(api_status))
        .route("/api/status/stream", get(status_stream))
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(AppState { ctx, token })
}

/// `/api/status`: the Status plus the server's clock.
#[derive(Serialize)]
struct StatusResponse<'a> {
    #[serde(flatten)]
    status: &'a Status,
    now_unix: u64,
}

fn status_json(status: &Status) -> String {
    let now_unix = crate::status::now_unix();
    serde_json::to_string(&StatusResponse { status, now_unix }).unwrap_or_else(|_| "{}".into())
}

async fn api_status(State(state): State<AppState>) -> Response {
    let body = status_json(&state.ctx.status.borrow());
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn status_stream(State(state): State<AppState>) -> impl IntoResponse {
    let updates = tokio_stream::wrappers::WatchStream::new(state.ctx.status.subscribe())
        .map(|status| {
            Ok::<_, Infallible>(
                SseEvent::default()
                    .event("status")
                    .data(status_json(&status)),
            )
        })
        .take_until(state.token.cancelled_owned());
    Sse::new(updates).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn index() -> Response {
    asset_response("status.html")
}

async fn asset(Path(file): Path<String>) -> Response {
    asset_response(&file)
}

fn asset_response(file: &str) -> Response {
    let content_type = match file.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    };
    // Only plain file names from the embedded folder: no paths, so no traversal.
    match ASSETS.get_file(file).filter(|_| !file.contains('/')) {
        Some(f) => ([(header::CONTENT_TYPE, content_type)], f.contents()).into_response(),
        None => not_found_response(),
    }
}

async fn not_found() -> Response {
    not_found_response()
}

fn not_found_response() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "application/json")],
        "{\"error\":\"not found\"}",
    )
        .into_response()
}

/// Headers on every response: self-only CSP, no sniffing, no referrer, no framing.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: &'static str, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'",
    );
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "referrer-policy", "no-referrer");
    set(headers, "x-frame-options", "DENY");
    set(headers, "cross-origin-opener-policy", "same-origin");
    set(headers, "cache-control", "no-store");
    response
}
