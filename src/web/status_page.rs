//! The read-only status page and what it reads: `/` (the page, localised from the
//! `Accept-Language` header or the configured locale), `/api/status` (the Status as JSON),
//! `/api/history` (the last 30 minutes for the chart), `/api/status/stream` (server-sent events:
//! `status` on every change, `sample` and `switch` as the history grows) and `/metrics`
//! (Prometheus). Behind `STATUS_KEY` when it is set. Never a secret: Status holds none.

use super::WebState;
use crate::history::{HistorySnapshot, HistoryUpdate, WINDOW};
use crate::metrics::Clients;
use crate::reply::{Key, Reply, keys};
use crate::status::Status;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;
use serde::Serialize;
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio_stream::wrappers::{BroadcastStream, WatchStream};

/// Every text of the page (placeholders `{{id}}` in `status.html`; the script reads them from
/// the `strings` JSON block).
const PAGE_STRINGS: &[Key] = &[
    keys::WEB_TITLE,
    keys::WEB_CONNECTING,
    keys::WEB_LIVE_UPDATES,
    keys::WEB_RECONNECTING,
    keys::WEB_UNREACHABLE,
    keys::WEB_HEALTH,
    keys::WEB_STREAM,
    keys::WEB_CHART,
    keys::WEB_CHART_EMPTY,
    keys::WEB_RESTREAM,
    keys::WEB_RESTREAM_NONE,
    keys::WEB_BOT,
    keys::WEB_TASKS,
    keys::WEB_VERSION,
    keys::WEB_UP,
    keys::WEB_READ_ONLY,
    keys::WEB_OBS,
    keys::WEB_INGEST,
    keys::WEB_TWITCH_TOKEN,
    keys::WEB_EVENTSUB,
    keys::WEB_KICK,
    keys::WEB_KICK_READER,
    keys::WEB_KICK_DELIVERIES,
    keys::WEB_KICK_REFUSED,
    keys::WEB_DISCORD,
    keys::WEB_NGINX,
    keys::WEB_SERVICES,
    keys::WEB_POWER,
    keys::WEB_NOT_CONFIGURED,
    keys::WEB_COMPATIBILITY_MODE,
    keys::WEB_UPLOAD_PROBLEMS,
    keys::WEB_CHANGED_AT_RUNTIME,
    keys::WEB_SCENE,
    keys::WEB_STREAMING,
    keys::WEB_UPTIME,
    keys::WEB_VIEWERS,
    keys::WEB_STREAM_TITLE,
    keys::WEB_CATEGORY,
    keys::WEB_AD_BREAK,
    keys::WEB_AD_AUTOMATIC,
    keys::WEB_YES,
    keys::WEB_NO,
    keys::WEB_ON,
    keys::WEB_OFF,
    keys::WEB_BITRATE,
    keys::WEB_RTT,
    keys::WEB_LOW_LINE,
    keys::WEB_RECOVER_LINE,
    keys::WEB_ALL_RUNNING,
    keys::WEB_NO_PUBLISHER,
    keys::WEB_WAITING,
    keys::WEB_MISSING_SCOPES,
];

pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route("/", get(page))
        .route("/api/status", get(api_status))
        .route("/api/status/stream", get(stream))
        .route("/api/history", get(api_history))
        .route("/metrics", get(metrics))
}

/// The page's locale: the first supported language the browser asks for, else the configured
/// one.
fn page_locale(state: &WebState, headers: &HeaderMap) -> &'static str {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .into_iter()
        .flat_map(|v| v.split(','))
        .filter_map(|tag| tag.split(';').next())
        .find_map(|tag| crate::i18n::negotiate(tag.trim()))
        .unwrap_or_else(|| state.peer.i18n.default_locale())
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn page(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let locale = page_locale(&state, &headers);
    let strings: serde_json::Map<String, serde_json::Value> = PAGE_STRINGS
        .iter()
        .map(|key| {
            (
                key.id().to_string(),
                state.peer.render(locale, &Reply::new(*key)).into(),
            )
        })
        .collect();
    let mut html = super::asset_text("status.html").replace("{{lang}}", locale);
    for (id, text) in &strings {
        html = html.replace(
            &format!("{{{{{id}}}}}"),
            &html_escape(text.as_str().unwrap_or_default()),
        );
    }
    // A JSON data block: never executed, and `<` escaped so it cannot end the block.
    let json = serde_json::Value::Object(strings)
        .to_string()
        .replace('<', "\\u003c");
    let html = html.replace("{{strings}}", &json);
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// `/api/status`: the Status, its health (`Status::health`) and the server's clock.
#[derive(Serialize)]
struct StatusResponse<'a> {
    #[serde(flatten)]
    status: &'a Status,
    health: crate::status::Health,
    now_unix: u64,
}

pub(crate) fn status_json(status: &Status) -> String {
    let now_unix = crate::status::now_unix();
    let health = status.health();
    serde_json::to_string(&StatusResponse {
        status,
        health,
        now_unix,
    })
    .unwrap_or_else(|_| "{}".into())
}

fn json_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn api_status(State(state): State<WebState>) -> Response {
    let body = status_json(&state.peer.status.borrow());
    json_response(body)
}

/// `/api/history`: the chart's data, with the server's clock.
#[derive(Serialize)]
struct HistoryResponse {
    now_unix_ms: u64,
    #[serde(flatten)]
    history: HistorySnapshot,
}

async fn api_history(State(state): State<WebState>) -> Response {
    let body = HistoryResponse {
        now_unix_ms: crate::history::now_unix_ms(),
        history: state.peer.history.snapshot(WINDOW),
    };
    json_response(serde_json::to_string(&body).unwrap_or_else(|_| "{}".into()))
}

async fn stream(State(state): State<WebState>) -> Response {
    let Some(connected) =
        super::Slot::take(&state.status_clients, state.web.limits.max_status_streams)
    else {
        return super::busy(&state);
    };
    let statuses = WatchStream::new(state.peer.status.subscribe()).map(|status| {
        SseEvent::default()
            .event("status")
            .data(status_json(&status))
    });
    // History updates that a slow page missed are skipped; the next status or reload catches up.
    let history = BroadcastStream::new(state.peer.history.subscribe()).filter_map(|update| async {
        let (name, data) = match update.ok()? {
            HistoryUpdate::Sample(sample) => ("sample", serde_json::to_string(&sample)),
            HistoryUpdate::Switch(mark) => ("switch", serde_json::to_string(&mark)),
        };
        Some(SseEvent::default().event(name).data(data.ok()?))
    });
    let events = futures_util::stream::select(statuses, history)
        .map(move |event| {
            let _connected = &connected;
            Ok::<_, Infallible>(event)
        })
        .take_until(state.token.cancelled_owned());
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

async fn metrics(State(state): State<WebState>) -> Response {
    let clients = Clients {
        overlay: state.peer.alerts.as_ref().map_or(0, |a| a.clients()),
        status: state.status_clients.load(Ordering::Relaxed),
        connections: state.connections.open(),
    };
    let body = state
        .peer
        .metrics
        .render(&state.peer.status.borrow(), clients);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::PAGE_STRINGS;

    /// Every text the page and its script name (`{{web-…}}` in `status.html`, `t("web-…")` in
    /// `status.js`) is sent with the page: one left out shows as its id to every reader.
    #[test]
    fn every_text_the_page_names_is_sent() {
        let sent: Vec<&str> = PAGE_STRINGS.iter().map(|k| k.id()).collect();
        let html = super::super::asset_text("status.html");
        let script = super::super::asset_text("status.js");
        assert!(!html.is_empty() && !script.is_empty());
        let named = |text: &'static str, open: &'static str, close: char| {
            text.split(open)
                .skip(1)
                .filter_map(move |rest| rest.split(close).next())
                .filter(|id| id.starts_with("web-"))
        };
        let mut missing: Vec<&str> = named(html, "{{", '}')
            .chain(named(script, "t(\"", '"'))
            .filter(|id| !sent.contains(id))
            .collect();
        missing.dedup();
        assert!(missing.is_empty(), "not sent with the page: {missing:?}");
        assert!(sent.contains(&"web-kick") && sent.contains(&"web-upload-problems"));
    }
}
