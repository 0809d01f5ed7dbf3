//! Kick's webhooks (the official event API): a delivery is checked, read and handed over on a
//! channel. The rules, from KickDevDocs `events/webhook-security.md`:
//!
//! - headers `Kick-Event-Message-Id` (a ULID, "idempotent key"), `Kick-Event-Message-Timestamp`
//!   (RFC 3339), `Kick-Event-Signature` (base64), `Kick-Event-Type` (`chat.message.sent`, …),
//!   `Kick-Event-Version` (`1`);
//! - the signature is RSASSA-PKCS1-v1_5 with SHA-256 by Kick's private key over
//!   `<message id>.<timestamp>.<raw body>` (the Go example: `fmt.Sprintf("%s.%s.%s", messageID,
//!   timestamp, body)`, `rsa.VerifyPKCS1v15(publicKey, crypto.SHA256, …)`), checked with Kick's
//!   public key ([`key`]);
//! - Kick retries a delivery up to 3 times until it gets a 200, and may unsubscribe an app
//!   whose endpoint keeps failing: so a delivery that is genuine is always answered 200, even
//!   when it is not used (a duplicate, an event type not read, a payload that does not read).
//!
//! [`verify_and_parse`] is the pure core (headers, body, clock, key and seen ids in; a
//! [`Verdict`] or a [`Refusal`] with its status code out); [`router`] is the axum route the web
//! server mounts, with its own body limit. Replays: a timestamp further than [`MAX_SKEW`] from
//! our clock is refused, and a message id seen within that window is a duplicate (acknowledged,
//! not handed over), so a captured delivery can be replayed neither late nor soon.

pub mod key;

pub use key::{KICK_PUBLIC_KEY_PEM, KeyError, PUBLIC_KEY_URL, PublicKey, fetch_public_key};

use super::chat::{self, KickEvent};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http::{HeaderMap, StatusCode};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, watch};

pub const MESSAGE_ID: &str = "Kick-Event-Message-Id";
pub const TIMESTAMP: &str = "Kick-Event-Message-Timestamp";
pub const SIGNATURE: &str = "Kick-Event-Signature";
pub const EVENT_TYPE: &str = "Kick-Event-Type";
pub const EVENT_VERSION: &str = "Kick-Event-Version";

/// The event type read (KickDevDocs `events/event-types.md`: "Chat Message",
/// `chat.message.sent`, version 1). Others are acknowledged and ignored.
pub const CHAT_MESSAGE_SENT: &str = "chat.message.sent";
/// How far a delivery's timestamp may be from our clock, either way. Kick's retries of an old
/// delivery beyond it are refused (the first one was answered).
pub const MAX_SKEW: Duration = Duration::from_secs(5 * 60);
/// The largest body read: a chat message is about 1.5 kB, with 500 characters of emotes a few.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The longest header value read (ids, timestamp, type, version; a 8192-bit signature is 1,368
/// base64 characters).
pub const MAX_HEADER_BYTES: usize = 2048;
/// Message ids remembered for replay detection; the oldest are forgotten first.
pub const MAX_SEEN: usize = 4096;

/// A genuine delivery (signed by Kick, timestamp within [`MAX_SKEW`]): what to do with it.
/// Each is answered 200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Event(KickEvent),
    /// An event type or version not read, or a payload that does not read as its type.
    Ignored {
        event_type: String,
        reason: String,
    },
    /// Its message id was seen within the window: a retry or a replay, handled already.
    Duplicate {
        message_id: String,
    },
}

/// Why a delivery is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no {0} header")]
    MissingHeader(&'static str),
    #[error("the {0} header is not readable text or is too long")]
    BadHeader(&'static str),
    #[error("the timestamp is not RFC 3339")]
    BadTimestamp,
    #[error("the timestamp is {0:?} old")]
    Stale(Duration),
    #[error("the timestamp is {0:?} in the future")]
    Future(Duration),
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
}

impl Refusal {
    /// The answer: 413 for an oversized body, 401 for everything that fails authentication.
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

/// The message ids of recent deliveries: at most [`MAX_SEEN`], and only while their timestamp
/// is within the window (older ones are refused as stale anyway).
#[derive(Debug, Default)]
pub struct SeenIds {
    order: VecDeque<(SystemTime, String)>,
    ids: HashSet<String>,
}

impl SeenIds {
    /// `true` the first time `id` is seen; `at` is its delivery's timestamp.
    fn first_time(&mut self, id: &str, at: SystemTime, now: SystemTime) -> bool {
        while let Some((oldest, _)) = self.order.front() {
            let expired = now
                .duration_since(*oldest)
                .is_ok_and(|age| age > MAX_SKEW.saturating_mul(2));
            if !expired && self.order.len() < MAX_SEEN {
                break;
            }
            if let Some((_, id)) = self.order.pop_front() {
                self.ids.remove(&id);
            }
        }
        if self.ids.contains(id) {
            return false;
        }
        self.ids.insert(id.to_string());
        self.order.push_back((at, id.to_string()));
        true
    }

    /// Forget `id` (its delivery was not handed over: Kick's retry should be).
    fn forget(&mut self, id: &str) {
        if self.ids.remove(id) {
            self.order.retain(|(_, seen)| seen != id);
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Check a delivery and read it. `now` is our clock; `seen` remembers message ids (only of
/// deliveries whose signature verified, so nobody can fill it with made-up ids).
pub fn verify_and_parse(
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
    key: &PublicKey,
    seen: &mut SeenIds,
) -> Result<Verdict, Refusal> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Refusal::TooLarge);
    }
    let message_id = header(headers, MESSAGE_ID)?;
    let timestamp = header(headers, TIMESTAMP)?;
    let signature = header(headers, SIGNATURE)?;
    let at = crate::timestamp::parse_rfc3339(timestamp).ok_or(Refusal::BadTimestamp)?;
    match now.duration_since(at) {
        Ok(age) if age > MAX_SKEW => return Err(Refusal::Stale(age)),
        Err(ahead) if ahead.duration() > MAX_SKEW => {
            return Err(Refusal::Future(ahead.duration()));
        }
        _ => {}
    }
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .map_err(|_| Refusal::BadSignature)?;
    let mut signed = Vec::with_capacity(message_id.len() + timestamp.len() + body.len() + 2);
    signed.extend_from_slice(message_id.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(timestamp.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    if !key.verify(&signed, &signature) {
        return Err(Refusal::BadSignature);
    }
    if !seen.first_time(message_id, at, now) {
        return Ok(Verdict::Duplicate {
            message_id: message_id.to_string(),
        });
    }
    let event_type = header(headers, EVENT_TYPE).unwrap_or("");
    let version = header(headers, EVENT_VERSION).unwrap_or("");
    let ignored = |reason: String| Verdict::Ignored {
        event_type: event_type.to_string(),
        reason,
    };
    Ok(match (event_type, version) {
        (CHAT_MESSAGE_SENT, "1") => match chat::from_webhook_chat(body) {
            Ok(message) => Verdict::Event(KickEvent::Chat(message)),
            Err(refusal) => ignored(format!("the payload does not read: {refusal}")),
        },
        (CHAT_MESSAGE_SENT, other) => ignored(format!("version {other:?} is not read")),
        _ => ignored("not read".into()),
    })
}

/// A header's value: present, at most [`MAX_HEADER_BYTES`], visible ASCII.
fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, Refusal> {
    let value = headers.get(name).ok_or(Refusal::MissingHeader(name))?;
    if value.len() > MAX_HEADER_BYTES {
        return Err(Refusal::BadHeader(name));
    }
    let text = value.to_str().map_err(|_| Refusal::BadHeader(name))?;
    if text.is_empty() {
        return Err(Refusal::MissingHeader(name));
    }
    Ok(text)
}

/// What the receiver has seen, for the lead's Status: counts since start and the last of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookHealth {
    /// Deliveries handed over.
    pub handed_over: u64,
    /// Genuine deliveries not handed over (duplicates, ignored types, unreadable payloads).
    pub acknowledged: u64,
    /// Refused deliveries (bad signature, stale, oversized, …).
    pub refused: u64,
    /// Handed-over deliveries dropped because the queue was full (answered 503: Kick retries).
    pub queue_full: u64,
    /// Unix seconds of the last genuine delivery.
    pub last_genuine_unix: Option<u64>,
    /// The last refusal's reason (never the body).
    pub last_refusal: Option<String>,
}

/// The receiver the route serves: the key, the seen ids, where events go and its health.
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Inner>,
}

struct Inner {
    key: PublicKey,
    /// Only this broadcaster's chat is handed over (an app may receive several channels').
    broadcaster_user_id: Option<u64>,
    seen: Mutex<SeenIds>,
    events: mpsc::Sender<KickEvent>,
    health: watch::Sender<WebhookHealth>,
}

impl Receiver {
    /// A receiver checking with `key`, handing events to `events`, reporting on `health`.
    pub fn new(
        key: PublicKey,
        broadcaster_user_id: Option<u64>,
        events: mpsc::Sender<KickEvent>,
        health: watch::Sender<WebhookHealth>,
    ) -> Receiver {
        Receiver {
            inner: Arc::new(Inner {
                key,
                broadcaster_user_id,
                seen: Mutex::new(SeenIds::default()),
                events,
                health,
            }),
        }
    }

    /// Handle one delivery at `now`: the status code to answer.
    pub fn receive(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> StatusCode {
        let inner = &self.inner;
        let verdict = {
            let mut seen = inner.seen.lock().unwrap_or_else(PoisonError::into_inner);
            verify_and_parse(headers, body, now, &inner.key, &mut seen)
        };
        let unix = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .ok();
        let verdict = match verdict {
            Ok(verdict) => verdict,
            Err(refusal) => {
                tracing::warn!(%refusal, "a Kick webhook delivery is refused");
                inner.health.send_modify(|h| {
                    h.refused += 1;
                    h.last_refusal = Some(refusal.to_string());
                });
                return refusal.status();
            }
        };
        let verdict = match verdict {
            Verdict::Event(KickEvent::Chat(message))
                if inner
                    .broadcaster_user_id
                    .is_some_and(|ours| message.broadcaster_user_id != Some(ours)) =>
            {
                Verdict::Ignored {
                    event_type: CHAT_MESSAGE_SENT.into(),
                    reason: "another broadcaster's chat".into(),
                }
            }
            other => other,
        };
        match verdict {
            Verdict::Event(event) => {
                let id = message_id(headers);
                if let Err(error) = inner.events.try_send(event) {
                    tracing::warn!(%error, "a Kick webhook event waits for Kick's retry: the queue is full");
                    inner
                        .seen
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .forget(&id);
                    inner.health.send_modify(|h| h.queue_full += 1);
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                inner.health.send_modify(|h| {
                    h.handed_over += 1;
                    h.last_genuine_unix = unix;
                });
            }
            Verdict::Ignored { event_type, reason } => {
                tracing::debug!(%event_type, %reason, "a Kick webhook delivery is acknowledged, not used");
                inner.health.send_modify(|h| {
                    h.acknowledged += 1;
                    h.last_genuine_unix = unix;
                });
            }
            Verdict::Duplicate { message_id } => {
                tracing::debug!(%message_id, "a Kick webhook delivery seen before");
                inner.health.send_modify(|h| h.acknowledged += 1);
            }
        }
        StatusCode::OK
    }
}

fn message_id(headers: &HeaderMap) -> String {
    header(headers, MESSAGE_ID).unwrap_or_default().to_string()
}

/// The route at `path` (POST only; other methods 405) with its own body limit: a larger body is
/// answered 413 before it is read to the end.
pub fn router<S: Clone + Send + Sync + 'static>(path: &str, receiver: Receiver) -> axum::Router<S> {
    axum::Router::new()
        .route(path, axum::routing::post(deliver).with_state(receiver))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

async fn deliver(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    receiver
        .receive(&headers, &body, SystemTime::now())
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn seen_ids_forget_the_oldest_beyond_the_cap_and_the_window() {
        let mut seen = SeenIds::default();
        let now = at(1_000_000);
        for i in 0..MAX_SEEN + 10 {
            assert!(seen.first_time(&i.to_string(), now, now));
        }
        assert_eq!(seen.len(), MAX_SEEN);
        assert!(seen.first_time("0", now, now), "the oldest was forgotten");
        assert!(!seen.first_time(&(MAX_SEEN + 9).to_string(), now, now));
        let later = now + MAX_SKEW * 2 + Duration::from_secs(1);
        assert!(seen.first_time("new", later, later));
        assert_eq!(seen.len(), 1, "everything older than the window is gone");
        seen.forget("new");
        assert!(seen.is_empty());
    }

    #[test]
    fn missing_and_unreadable_headers_are_refused_before_anything_else() {
        let key = PublicKey::from_pem(KICK_PUBLIC_KEY_PEM).unwrap();
        let mut seen = SeenIds::default();
        let mut headers = HeaderMap::new();
        let check = |headers: &HeaderMap, seen: &mut SeenIds, expected: Refusal| {
            assert_eq!(
                verify_and_parse(headers, b"{}", at(1_700_000_000), &key, seen),
                Err(expected)
            );
        };
        check(&headers, &mut seen, Refusal::MissingHeader(MESSAGE_ID));
        headers.insert(MESSAGE_ID, "01J".parse().unwrap());
        check(&headers, &mut seen, Refusal::MissingHeader(TIMESTAMP));
        headers.insert(TIMESTAMP, "2023-11-14T22:13:20Z".parse().unwrap());
        check(&headers, &mut seen, Refusal::MissingHeader(SIGNATURE));
        headers.insert(SIGNATURE, "AAAA".parse().unwrap());
        check(&headers, &mut seen, Refusal::BadSignature);
        headers.insert(SIGNATURE, "not base64!".parse().unwrap());
        check(&headers, &mut seen, Refusal::BadSignature);
        headers.insert(SIGNATURE, "A".repeat(MAX_HEADER_BYTES + 1).parse().unwrap());
        check(&headers, &mut seen, Refusal::BadHeader(SIGNATURE));
        headers.insert(SIGNATURE, "AAAA".parse().unwrap());
        headers.insert(TIMESTAMP, "yesterday".parse().unwrap());
        check(&headers, &mut seen, Refusal::BadTimestamp);
        headers.insert(TIMESTAMP, "2023-11-14T22:03:20Z".parse().unwrap());
        check(
            &headers,
            &mut seen,
            Refusal::Stale(Duration::from_secs(600)),
        );
        headers.insert(TIMESTAMP, "2023-11-14T22:23:20Z".parse().unwrap());
        check(
            &headers,
            &mut seen,
            Refusal::Future(Duration::from_secs(600)),
        );
        headers.insert(MESSAGE_ID, http::HeaderValue::from_bytes(b"\xff").unwrap());
        check(&headers, &mut seen, Refusal::BadHeader(MESSAGE_ID));
        assert!(seen.is_empty(), "nothing unsigned is remembered");
        assert_eq!(
            verify_and_parse(
                &headers,
                &vec![b' '; MAX_BODY_BYTES + 1],
                at(0),
                &key,
                &mut seen
            ),
            Err(Refusal::TooLarge)
        );
        assert_eq!(Refusal::TooLarge.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(Refusal::BadSignature.status(), StatusCode::UNAUTHORIZED);
    }
}
