//! The OBS overlay: `/overlay` (the browser-source page, transparent, embeddable),
//! `/ws/overlay` (the alert stream, see `alerts`) and `POST /api/alert` (the seed's alert API).
//!
//! `POST /api/alert`, compatible with the seed: JSON `{"type", "message"}` with the header
//! `X-Alert-Token`. 503 when no `ALERT_TOKEN` is set (or the overlay is off), 403 for a wrong or
//! missing token (a wrong one counts toward the automatic ban), 400 for an unknown type or bad
//! JSON, 413 for a body over 16 KiB, 200 `{"ok": true, "id": N}`. `message` may be left out for
//! `low`, `restored` and `offline` (the localised text is used); `raid` and `custom` need one.

use super::WebState;
use super::security::{ClientIp, Embeddable, bad_secret, constant_time_eq, refusal};
use crate::alerts::{OverlayAlert, kind_from_name};
use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use commands::AlertKind;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Longest alert text accepted, in characters.
pub const MAX_MESSAGE_CHARS: usize = 300;
/// A client that cannot take a frame within this long is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Pings keep idle connections (and proxies) alive and find dead peers.
const PING_EVERY: Duration = Duration::from_secs(20);

pub(super) fn page_routes() -> Router<WebState> {
    Router::new()
        .route("/overlay", get(page))
        .route("/ws/overlay", get(socket))
}

pub(super) fn api_routes() -> Router<WebState> {
    Router::new()
        .route("/api/alert", post(api_alert))
        .layer(DefaultBodyLimit::max(16 * 1024))
}

async fn page(State(state): State<WebState>) -> Response {
    if state.peer.alerts.is_none() {
        return super::not_found_response();
    }
    let mut response = super::asset_response("overlay.html");
    response.extensions_mut().insert(Embeddable);
    response
}

/// The overlay sends nothing but pongs and a close: a few KiB is plenty, and a client cannot make
/// the server buffer more (tungstenite's defaults are 16 MiB frames, 64 MiB messages).
pub const MAX_INCOMING_BYTES: usize = 4 * 1024;

async fn socket(State(state): State<WebState>, upgrade: WebSocketUpgrade) -> Response {
    if state.peer.alerts.is_none() {
        return super::not_found_response();
    }
    let Some(slot) = super::Slot::take(&state.overlay_clients, state.web.limits.max_overlays)
    else {
        return super::busy(&state);
    };
    upgrade
        .max_frame_size(MAX_INCOMING_BYTES)
        .max_message_size(MAX_INCOMING_BYTES)
        .on_upgrade(move |socket| async move {
            serve(state, socket).await;
            drop(slot);
        })
}

/// One overlay connection: the hello frame, then every alert, until either side goes away, the
/// client falls behind, or the server shuts down.
async fn serve(state: WebState, mut socket: WebSocket) {
    let Some(alerts) = state.peer.alerts.clone() else {
        return;
    };
    let mut subscription = alerts.subscribe();
    if !send(
        &mut socket,
        Message::Text(subscription.hello.as_ref().into()),
    )
    .await
    {
        return;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.reset();
    // Made once: every connection shares the token, and registering with it takes its lock.
    let shutdown = state.token.cancelled();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
            frame = subscription.frames.recv() => match frame {
                Ok(text) => {
                    if !send(&mut socket, Message::Text(text.as_ref().into())).await {
                        tracing::info!("dropping an overlay that does not take alerts");
                        break;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "dropping an overlay that fell behind");
                    break;
                }
                Err(RecvError::Closed) => break,
            },
            incoming = socket.recv() => match incoming {
                // The overlay only listens; whatever it sends is ignored.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if !send(&mut socket, Message::Ping(Default::default())).await {
                    break;
                }
            }
        }
    }
    drop(subscription);
}

/// Send one frame; `false` if the client did not take it within [`SEND_TIMEOUT`].
async fn send(socket: &mut WebSocket, frame: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(frame)).await,
        Ok(Ok(()))
    )
}

#[derive(serde::Deserialize)]
struct AlertBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Why a `POST /api/alert` body is refused (400); [`AlertBodyError::as_str`] is the answer's
/// `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertBodyError {
    /// Not JSON, or not an object with string `type` and `message`.
    Json,
    /// `type` missing or not one of the alert kinds.
    Type,
    /// `message` over [`MAX_MESSAGE_CHARS`] characters (after cleaning).
    TooLong,
    /// `raid` and `custom` need a message.
    MessageRequired,
}

impl AlertBodyError {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertBodyError::Json => "invalid JSON",
            AlertBodyError::Type => "invalid type",
            AlertBodyError::TooLong => "message too long",
            AlertBodyError::MessageRequired => "message required",
        }
    }
}

/// Read an alert body: its kind and its cleaned message (control characters made spaces,
/// trimmed; one line, at most [`MAX_MESSAGE_CHARS`]), `None` when it is left out or empty
/// (the kind's localised text is used). Pure; the fuzz target `alert_body` runs it.
pub fn read_alert(body: &[u8]) -> Result<(AlertKind, Option<String>), AlertBodyError> {
    let body: AlertBody = serde_json::from_slice(body).map_err(|_| AlertBodyError::Json)?;
    let kind = (body.kind.as_deref())
        .and_then(kind_from_name)
        .ok_or(AlertBodyError::Type)?;
    // Text only, one line, no secret on stream (redacted by the caller).
    let message: String = body
        .message
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string();
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(AlertBodyError::TooLong);
    }
    if message.is_empty() {
        if matches!(kind, AlertKind::Raid | AlertKind::Custom) {
            return Err(AlertBodyError::MessageRequired);
        }
        return Ok((kind, None));
    }
    Ok((kind, Some(message)))
}

async fn api_alert(
    State(state): State<WebState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(alerts) = state.peer.alerts.clone() else {
        return refusal(StatusCode::SERVICE_UNAVAILABLE, "overlay not enabled");
    };
    let Some(expected) = state.peer.secrets.get("ALERT_TOKEN") else {
        return refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "alert token not configured",
        );
    };
    let token = headers
        .get("x-alert-token")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !constant_time_eq(token, expected.expose().as_bytes()) {
        if !token.is_empty() {
            bad_secret(&state, ip);
        }
        return refusal(StatusCode::FORBIDDEN, "forbidden");
    }
    let (kind, message) = match read_alert(&body) {
        Ok(alert) => alert,
        Err(error) => return refusal(StatusCode::BAD_REQUEST, error.as_str()),
    };
    let message = match message {
        Some(message) => state.peer.redactor.redact(&message),
        None => OverlayAlert::test(kind, &state.peer.i18n, alerts.locale()).message,
    };
    let id = alerts.publish(&OverlayAlert { kind, message });
    (
        StatusCode::OK,
        axum::Json(serde_json::json!({"ok": true, "id": id})),
    )
        .into_response()
}
